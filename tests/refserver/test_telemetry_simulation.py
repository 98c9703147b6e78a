"""The simulated estate: the catalog, how metrics evolve, and how faults move them."""

from __future__ import annotations

import math
import statistics
import time
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nexus_refserver.clock import ManualClock
from nexus_refserver.telemetry import CATALOG, Estate
from nexus_refserver.telemetry.catalog import NAMESPACES
from nexus_refserver.telemetry.histogram import BUCKETS_S, quantile_from_buckets

ORDERS = "puabo-nuki-order-processor"


def make_estate(seed: int = 1) -> tuple[Estate, ManualClock]:
    clock = ManualClock()
    return Estate(clock, seed=seed), clock


def run(estate: Estate, clock: ManualClock, seconds: float, step: float = 10.0) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        estate.tick()


def parse(text: bytes) -> dict[str, list]:
    families = {}
    for family in text_string_to_metric_families(text.decode()):
        families[family.name] = family.samples
    return families


def histogram_buckets(samples: list, endpoint: str | None = None) -> dict[float, float]:
    """le -> cumulative count, summed over endpoints (or for one endpoint)."""
    buckets: dict[float, float] = {}
    for sample in samples:
        if sample.name.endswith("_bucket") and endpoint in (None, sample.labels["endpoint"]):
            le = float(sample.labels["le"])
            buckets[le] = buckets.get(le, 0.0) + sample.value
    return buckets


def p95_between(before: dict[float, float], after: dict[float, float]) -> float:
    bounds = sorted(after)
    cumulative = [after[b] - before.get(b, 0.0) for b in bounds]
    per_bucket = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, len(cumulative))]
    return quantile_from_buckets(0.95, per_bucket) * 1000.0


def test_catalog_lists_all_44_services_of_seed_002_in_9_namespaces() -> None:
    assert len(CATALOG) == 44
    assert len(NAMESPACES) == 9
    assert len({s.name for s in CATALOG}) == 44
    assert len({s.port for s in CATALOG}) == 44
    by_name = {s.name: s for s in CATALOG}
    assert (by_name["backend-api"].port, by_name["backend-api"].namespace) == (3000, "nexus-platform")
    assert (by_name[ORDERS].port, by_name[ORDERS].namespace) == (3018, "nexus-commerce")
    assert (by_name["puabo-nexus"].port, by_name["pv-keys"].port) == (3050, 3005)
    assert {s.tier for s in CATALOG} == {1, 2, 3}
    assert by_name["auth-service"].tier == 1 and by_name["billing-service"].tier == 1


def test_services_registry_gives_absolute_urls_for_every_service() -> None:
    estate, _ = make_estate()
    services = estate.services("http://127.0.0.1:8123/")
    assert len(services) == 44
    orders = next(s for s in services if s["name"] == ORDERS)
    assert orders["health_url"] == f"http://127.0.0.1:8123/svc/{ORDERS}/health"
    assert orders["ready_url"].endswith("/health/ready") and orders["metrics_url"].endswith("/metrics")
    urls = {"health_url", "live_url", "ready_url", "metrics_url"}
    assert set(orders) == {"name", "namespace", "port", "tier", "description"} | urls


def test_quiet_estate_stays_inside_every_alert_threshold_for_a_simulated_day() -> None:
    estate, clock = make_estate(seed=3)
    worst_p95 = worst_errors = worst_cpu = worst_memory = 0.0
    for _ in range(24 * 12):  # every five simulated minutes for a day
        clock.advance(300.0)
        estate.tick()
        for sim in estate.sims.values():
            worst_p95 = max(worst_p95, sim.window.p95_ms)
            worst_errors = max(worst_errors, sim.window.error_rate)
            worst_cpu = max(worst_cpu, sim.cpu_pct)
            worst_memory = max(worst_memory, sim.memory_pct)
        for db in estate.databases.values():
            assert db.cpu_pct < 90.0 and db.replication_lag_s < 10.0
    assert worst_p95 < 500.0
    assert worst_errors < 0.01
    assert worst_cpu < 70.0
    assert worst_memory < 80.0


def test_traffic_follows_a_daily_cycle() -> None:
    estate, clock = make_estate()
    hourly = []
    for _ in range(24):
        run(estate, clock, 3600.0, step=600.0)
        hourly.append(estate.sims["backend-api"].window.rps)
    assert max(hourly) > 1.8 * min(hourly)
    assert all(rps > 0 for rps in hourly)


def test_metrics_text_parses_with_counters_histograms_and_service_gauges() -> None:
    estate, clock = make_estate()
    run(estate, clock, 120.0)
    families = parse(estate.metrics_text(ORDERS))
    assert {"http_requests", "http_request_duration_seconds", "process_cpu_percent"} <= set(families)
    assert {"process_resident_memory_bytes", "db_pool_in_use", "db_pool_size"} <= set(families)
    assert {"db_replication_lag_seconds", "order_queue_depth"} <= set(families)
    statuses = {s.labels["status"] for s in families["http_requests"] if s.name == "http_requests_total"}
    assert {"200", "500"} <= statuses
    bounds = sorted(
        {float(s.labels["le"]) for s in families["http_request_duration_seconds"] if "le" in s.labels}
    )
    assert bounds == [*BUCKETS_S, math.inf]
    streaming = parse(estate.metrics_text("streaming-service-v2"))
    assert 0.8 < streaming["sync_detection_rate"][0].value <= 1.0


def test_histogram_p95_from_bucket_deltas_follows_the_service_profile() -> None:
    estate, clock = make_estate()
    run(estate, clock, 60.0)
    before = histogram_buckets(parse(estate.metrics_text("session-mgr"))["http_request_duration_seconds"])
    run(estate, clock, 600.0)
    after = histogram_buckets(parse(estate.metrics_text("session-mgr"))["http_request_duration_seconds"])
    p95 = p95_between(before, after)
    spec = estate.sims["session-mgr"].spec
    assert 0.6 * spec.p95_ms < p95 < 2.0 * spec.p95_ms


def test_latency_fault_moves_the_histogram_p95_past_500_ms_for_that_service_only() -> None:
    estate, clock = make_estate()
    run(estate, clock, 60.0)
    orders_before = histogram_buckets(parse(estate.metrics_text(ORDERS))["http_request_duration_seconds"])
    billing_before = histogram_buckets(
        parse(estate.metrics_text("billing-service"))["http_request_duration_seconds"]
    )
    estate.faults.add(ORDERS, "latency_ms", 650)
    run(estate, clock, 300.0)
    orders_after = histogram_buckets(parse(estate.metrics_text(ORDERS))["http_request_duration_seconds"])
    billing_after = histogram_buckets(
        parse(estate.metrics_text("billing-service"))["http_request_duration_seconds"]
    )
    assert p95_between(orders_before, orders_after) > 500.0
    assert p95_between(billing_before, billing_after) < 300.0
    assert estate.sims[ORDERS].window.p95_ms > 500.0


def test_error_rate_fault_raises_the_5xx_counters() -> None:
    estate, clock = make_estate()
    estate.faults.add(ORDERS, "error_rate", 0.2)
    run(estate, clock, 300.0)
    samples = [
        s for s in parse(estate.metrics_text(ORDERS))["http_requests"] if s.name == "http_requests_total"
    ]
    total = sum(s.value for s in samples)
    errors = sum(s.value for s in samples if s.labels["status"].startswith("5"))
    # the counters also hold the first, fault-free minute of history
    assert 0.12 < errors / total < 0.25
    assert 0.17 < estate.sims[ORDERS].window.error_rate < 0.23


def test_down_fault_makes_health_503_and_every_request_fail() -> None:
    estate, clock = make_estate()
    estate.faults.add(ORDERS, "down")
    run(estate, clock, 60.0)
    status, body = estate.health(ORDERS)
    assert status == 503 and body["status"] == "down"
    assert estate.readiness(ORDERS)[0] == 503 and estate.liveness(ORDERS)[0] == 503
    assert estate.sims[ORDERS].window.error_rate == 1.0
    assert parse(estate.metrics_text(ORDERS))["service_up"][0].value == 0.0
    estate.faults.clear()
    run(estate, clock, 60.0)
    status, body = estate.health(ORDERS)
    assert status == 200 and body["uptime_s"] <= 60.0


def test_flapping_alternates_down_and_up_with_the_period() -> None:
    estate, clock = make_estate()
    estate.faults.add(ORDERS, "flapping_s", 120)
    states = []
    for _ in range(8):
        states.append(estate.health(ORDERS)[0])
        clock.advance(30.0)
    assert states == [503, 503, 200, 200, 503, 503, 200, 200]


def test_health_reports_dependencies_and_degrades_with_its_database() -> None:
    estate, clock = make_estate()
    run(estate, clock, 60.0)
    status, body = estate.health(ORDERS)
    assert (status, body["status"]) == (200, "up")
    assert body["checks"]["postgres:marketplace"]["status"] == "up"
    assert body["version"] and body["uptime_s"] > 0
    estate.faults.add("db:marketplace", "replication_lag_s", 30)
    run(estate, clock, 60.0)
    status, body = estate.health(ORDERS)
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["postgres:marketplace"]["status"] == "degraded"
    estate.faults.add("db:marketplace", "down")
    run(estate, clock, 10.0)
    assert estate.readiness(ORDERS)[0] == 503
    assert estate.health("backend-api")[1]["checks"]["postgres:nexus"]["status"] == "up"


def test_api_health_aggregates_move_with_a_latency_fault() -> None:
    estate, clock = make_estate()
    run(estate, clock, 120.0)
    quiet = estate.api_health()
    assert quiet["status"] == "up" and quiet["uptime_pct"] == 100.0
    assert quiet["latency_ms"]["p50"] < quiet["latency_ms"]["p95"] <= quiet["latency_ms"]["p99"]
    assert quiet["rps"] > 1000 and quiet["error_rate_5xx"] < 0.005
    estate.faults.add(ORDERS, "latency_ms", 900)
    estate.faults.add(ORDERS, "error_rate", 0.3)
    run(estate, clock, 120.0)
    hurt = estate.api_health()
    assert hurt["status"] == "degraded"
    assert hurt["slowest_endpoints"][0]["service"] == ORDERS
    assert hurt["slowest_endpoints"][0]["p95_ms"] > 800.0
    assert hurt["error_endpoints"][0]["service"] == ORDERS
    assert hurt["error_endpoints"][0]["error_rate"] > 0.2
    assert hurt["error_rate"] > quiet["error_rate"]
    assert hurt["generated_at"].endswith("Z")


def test_database_health_shows_replication_lag_and_cpu_faults() -> None:
    estate, clock = make_estate()
    run(estate, clock, 60.0)
    quiet = {d["name"]: d for d in estate.database_health()["databases"]}
    assert set(quiet) == {
        f"{n}{r}" for n in ("users", "workstation", "marketplace", "nexus") for r in ("", "-replica")
    }
    assert quiet["marketplace-replica"]["replication_lag_s"] < 2.0
    assert quiet["marketplace"]["pool"]["size"] > 0
    estate.faults.add("db:marketplace", "replication_lag_s", 14)
    estate.faults.add("db:nexus", "cpu_pct", 95)
    run(estate, clock, 30.0)
    report = estate.database_health()
    hurt = {d["name"]: d for d in report["databases"]}
    assert hurt["marketplace-replica"]["replication_lag_s"] >= 14.0
    assert hurt["marketplace-replica"]["status"] == "degraded"
    assert hurt["nexus"]["cpu_pct"] > 90.0 and hurt["nexus"]["status"] == "degraded"
    assert hurt["nexus"]["query_p95_ms"] > quiet["nexus"]["query_p95_ms"]
    assert report["slow_queries"] and {"database", "query", "mean_ms", "calls"} == set(
        report["slow_queries"][0]
    )


def test_sync_quality_follows_detection_failures_and_latency() -> None:
    estate, clock = make_estate()
    run(estate, clock, 60.0)
    quiet = estate.sync_quality()
    assert 0.9 < quiet["detection_rate"] < 1.0
    assert quiet["detection_failure_rate"] == pytest.approx(1.0 - quiet["detection_rate"], abs=1e-3)
    for name in ("streaming-service-v2", "boom-boom-room-live", "v-caster-pro", "puabo-dsp-streaming-api"):
        estate.faults.add(name, "detection_failure_rate", 0.3)
    estate.faults.add("streaming-service-v2", "latency_ms", 800)
    run(estate, clock, 60.0)
    hurt = estate.sync_quality()
    assert hurt["detection_failure_rate"] > 0.25
    assert hurt["sync_latency_ms"]["p95"] > quiet["sync_latency_ms"]["p95"] + 1000
    assert hurt["accuracy"] < quiet["accuracy"]


def test_tick_of_the_whole_estate_costs_under_20_ms() -> None:
    estate, clock = make_estate()
    costs = []
    for _ in range(40):
        clock.advance(1.0)
        estate.tick()
        costs.append(estate.last_tick_ms)
    assert statistics.median(costs) < 20.0


def test_generated_at_is_wall_clock_time_even_when_simulated_time_runs_ahead() -> None:
    clock = ManualClock(start=time.time() + 7200.0)
    estate = Estate(clock)
    for report in (estate.api_health(), estate.database_health(), estate.sync_quality()):
        generated = datetime.fromisoformat(report["generated_at"].replace("Z", "+00:00"))
        assert abs(generated.timestamp() - time.time()) < 5.0


def test_uptime_falls_while_a_service_is_down_and_the_estate_reads_degraded() -> None:
    estate, clock = make_estate()
    run(estate, clock, 600.0)
    assert estate.api_health()["uptime_pct"] == 100.0
    estate.faults.add("glitch", "down")
    run(estate, clock, 600.0)
    report = estate.api_health()
    # one service of 44 down for 600 of the 1260 simulated seconds so far (the history starts 60 s back)
    assert report["uptime_pct"] == pytest.approx(100.0 * (1 - 600 / (1260 * 44)), abs=0.01)
    assert report["status"] == "degraded"
    estate.faults.add("backend-api", "down")
    run(estate, clock, 10.0)
    assert estate.api_health()["status"] == "down"

"""Probe classification, the matrix summary and the seeds' thresholds."""

from __future__ import annotations

import json

import pytest

from nexus_console.domain.health import (
    Probe,
    ProbeOutcome,
    ProbeResult,
    ProbeSweep,
    classify_probe_response,
    summarize,
)
from nexus_console.domain.health_documents import ApiHealth, DatabaseHealth, SyncQuality
from nexus_console.domain.service_catalog import ServiceCatalog


def health_body(status: str, **checks: str) -> bytes:
    return json.dumps(
        {
            "status": status,
            "service": "auth",
            "version": "1.2.3",
            "uptime_s": 12.5,
            "checks": {name: {"status": s, "latency_ms": 3} for name, s in checks.items()},
        }
    ).encode()


def classify(
    probe: Probe, status: int, body: bytes = b"", content_type: str = "application/json"
) -> ProbeResult:
    return classify_probe_response("auth", probe, status, content_type, body, 100.0, 12.0)


def test_health_probe_reads_up_degraded_and_down_from_the_body() -> None:
    up = classify(Probe.HEALTH, 200, health_body("up", db="up"))
    assert up.outcome is ProbeOutcome.UP
    assert up.report is not None and up.report.version == "1.2.3"
    degraded = classify(Probe.HEALTH, 200, health_body("degraded", db="up", cache="degraded"))
    assert degraded.outcome is ProbeOutcome.DEGRADED
    assert degraded.detail == "degraded: cache"
    down = classify(Probe.HEALTH, 503, health_body("down", db="down"))
    assert down.outcome is ProbeOutcome.DOWN
    assert "HTTP 503" in down.detail


def test_a_garbage_health_body_is_an_error_with_the_reason() -> None:
    result = classify(Probe.HEALTH, 200, b"{not json")
    assert result.outcome is ProbeOutcome.ERROR
    assert result.detail.startswith("invalid health JSON")
    assert result.label == "ERR"


def test_live_and_ready_use_the_status_code() -> None:
    assert classify(Probe.LIVE, 200).outcome is ProbeOutcome.UP
    assert classify(Probe.READY, 503).outcome is ProbeOutcome.DOWN
    server_error = classify(Probe.READY, 500)
    assert server_error.outcome is ProbeOutcome.ERROR
    assert server_error.detail == "HTTP 500"


def test_metrics_probe_rejects_a_wrong_content_type() -> None:
    ok = classify(Probe.METRICS, 200, b"# HELP x\n", "text/plain; version=0.0.4")
    assert ok.outcome is ProbeOutcome.UP
    wrong = classify(Probe.METRICS, 200, b"# HELP x\n", "application/json")
    assert wrong.outcome is ProbeOutcome.ERROR
    assert "content type" in wrong.detail


def result(service: str, probe: Probe, outcome: ProbeOutcome, at: float = 100.0) -> ProbeResult:
    return ProbeResult(service, probe, outcome, at, 5.0)


def test_the_summary_counts_each_service_once_by_its_worst_probe() -> None:
    sweep = ProbeSweep(
        99.0,
        100.0,
        (
            result("a", Probe.HEALTH, ProbeOutcome.UP),
            result("a", Probe.LIVE, ProbeOutcome.UP),
            result("b", Probe.HEALTH, ProbeOutcome.DEGRADED),
            result("b", Probe.LIVE, ProbeOutcome.UP),
            result("c", Probe.HEALTH, ProbeOutcome.UP),
            result("c", Probe.READY, ProbeOutcome.TIMEOUT),
            result("d", Probe.HEALTH, ProbeOutcome.UP, at=10.0),
        ),
    )
    summary = summarize(["a", "b", "c", "d", "e"], sweep, now=101.0, stale_after_s=15.0)
    assert (summary.up, summary.degraded, summary.down, summary.stale) == (1, 1, 1, 2)
    assert summary.text() == "1 up · 1 degraded · 1 down · 2 stale"


def test_a_sweep_survives_a_json_round_trip_for_the_local_cache() -> None:
    sweep = ProbeSweep(1.0, 2.0, (classify(Probe.HEALTH, 200, health_body("up", db="up")),))
    again = ProbeSweep.from_json(json.loads(json.dumps(sweep.to_json())))
    assert again == sweep


def test_the_catalog_groups_services_by_namespace() -> None:
    def item(name: str, namespace: str) -> dict[str, object]:
        base = f"http://127.0.0.1:1/svc/{name}"
        return {
            "name": name,
            "namespace": namespace,
            "port": 1,
            "tier": "t",
            "description": "",
            "health_url": base + "/health",
            "live_url": base + "/health/live",
            "ready_url": base + "/health/ready",
            "metrics_url": base + "/metrics",
        }

    catalog = ServiceCatalog.from_json({"items": [item("z", "core"), item("a", "edge"), item("b", "core")]})
    assert [(ns, [s.name for s in group]) for ns, group in catalog.namespaces()] == [
        ("core", ["b", "z"]),
        ("edge", ["a"]),
    ]
    assert catalog.services[0].url(Probe.READY).endswith("/svc/b/health/ready")
    with pytest.raises(ValueError):
        ServiceCatalog.from_json({"oops": []})


def test_api_health_flags_the_seed_thresholds() -> None:
    calm = ApiHealth.from_json({"latency_ms": {"p50": 20, "p95": 180, "p99": 400}, "error_rate": 0.01})
    assert calm.breaches() == []
    hot = ApiHealth.from_json({"latency_ms": {"p50": 20, "p95": 650, "p99": 900}, "error_rate": 0.07})
    assert [t.label for t in hot.breaches()] == ["p95 > 500 ms", "error rate > 5 %"]
    with pytest.raises(ValueError):
        ApiHealth.from_json({"latency_ms": {"p95": "fast"}})


def test_database_and_sync_thresholds() -> None:
    db = DatabaseHealth.from_json(
        {
            "databases": [
                {"name": "primary", "role": "primary", "cpu_pct": 95, "replication_lag_s": 0, "pool": {}},
                {"name": "replica", "role": "replica", "cpu_pct": 20, "replication_lag_s": 12.5},
            ]
        }
    )
    assert [t.label for t in db.databases[0].breaches()] == ["DB CPU > 90 %"]
    assert [t.label for t in db.databases[1].breaches()] == ["replication lag > 10 s"]
    sync = SyncQuality.from_json({"detection_failure_rate": 0.2, "sync_latency_ms": {"p50": 5, "p95": 9}})
    assert [t.label for t in sync.breaches()] == ["detection failure > 15 %"]

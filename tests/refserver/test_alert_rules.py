"""Server-side alert rules: pending for less than the rule's duration, firing after, resolved when clear."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import fastapi
import httpx
import pytest

from nexus_refserver.alerting import RULES_BY_NAME, AlertEngine, AlertObservation, fingerprint
from nexus_refserver.clock import ManualClock, SimClock
from nexus_refserver.telemetry import Estate

ORDERS = "puabo-nuki-order-processor"


class RecordingSink:
    def __init__(self) -> None:
        self.seen: list[AlertObservation] = []

    def observe(self, obs: AlertObservation) -> None:
        self.seen.append(obs)

    def of(self, rule: str, service: str = ORDERS) -> list[AlertObservation]:
        return [o for o in self.seen if o.rule == rule and o.service == service]

    def states(self, rule: str, service: str = ORDERS) -> list[str]:
        return [o.state for o in self.of(rule, service)]


def make(seed: int = 2) -> tuple[Estate, ManualClock, AlertEngine, RecordingSink]:
    clock = ManualClock()
    estate = Estate(clock, seed=seed)
    sink = RecordingSink()
    # stamped on the simulated clock, so the tests can read the held durations off the observations
    return estate, clock, AlertEngine(estate, sink, wall_clock=clock.now), sink


def run(estate: Estate, clock: ManualClock, engine: AlertEngine, seconds: float, step: float = 10.0) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        estate.tick()
        engine.evaluate()


def test_a_quiet_estate_raises_no_alerts_for_a_simulated_hour() -> None:
    estate, clock, engine, sink = make()
    run(estate, clock, engine, 3600.0, step=30.0)
    assert sink.seen == []


def test_latency_fault_goes_pending_then_fires_after_five_minutes_then_resolves() -> None:
    estate, clock, engine, sink = make()
    run(estate, clock, engine, 60.0)
    fault = estate.faults.add(ORDERS, "latency_ms", 700)
    run(estate, clock, engine, 60.0)
    assert sink.states("ApiLatencyP95High") == ["pending"]
    run(estate, clock, engine, 180.0)
    assert sink.states("ApiLatencyP95High") == ["pending"]
    run(estate, clock, engine, 120.0)
    assert sink.states("ApiLatencyP95High") == ["pending", "firing"]
    pending, firing = sink.of("ApiLatencyP95High")
    held_s = (firing.at - pending.at).total_seconds()
    assert 300.0 <= held_s <= 320.0
    assert firing.severity == "high" and firing.value > 500.0 and firing.threshold == 500.0
    estate.faults.remove(fault.id)
    run(estate, clock, engine, 120.0)
    assert sink.states("ApiLatencyP95High") == ["pending", "firing", "resolved"]
    assert len({o.fingerprint for o in sink.of("ApiLatencyP95High")}) == 1
    assert {o.service for o in sink.seen} == {ORDERS}


def test_the_scaling_latency_trigger_fires_after_two_minutes() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add(ORDERS, "latency_ms", 700)
    run(estate, clock, engine, 110.0)
    assert sink.states("ScaleOutLatency") == ["pending"]
    run(estate, clock, engine, 30.0)
    assert sink.states("ScaleOutLatency") == ["pending", "firing"]
    assert sink.of("ScaleOutLatency")[-1].severity == "medium"


def test_latency_above_one_second_escalates_to_critical() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add(ORDERS, "latency_ms", 700)
    run(estate, clock, engine, 330.0)
    assert sink.of("ApiLatencyP95High")[-1].severity == "high"
    estate.faults.add(ORDERS, "latency_ms", 1500)
    run(estate, clock, engine, 60.0)
    last = sink.of("ApiLatencyP95High")[-1]
    assert (last.state, last.severity) == ("firing", "critical")
    assert last.value > 1000.0


def test_error_rate_rules_fire_after_one_and_two_minutes() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add(ORDERS, "error_rate", 0.1)
    # the 60 s window reaches 1 % within a tick and 5 % after about 40 s
    run(estate, clock, engine, 80.0)
    assert sink.states("ScaleOutErrorRate") == ["pending", "firing"]
    assert sink.states("ApiErrorRateHigh") == ["pending"]
    pending_at = sink.of("ApiErrorRateHigh")[0].at
    run(estate, clock, engine, 110.0)
    assert sink.states("ApiErrorRateHigh") == ["pending", "firing"]
    critical = sink.of("ApiErrorRateHigh")[-1]
    assert 120.0 <= (critical.at - pending_at).total_seconds() <= 130.0
    assert (critical.severity, critical.runbook_url) == ("critical", "runbook://rollback")
    assert "> 5.0 %" in critical.summary and 0.08 < critical.value < 0.12


def test_only_state_changes_reach_the_sink() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add(ORDERS, "error_rate", 0.2)
    run(estate, clock, engine, 600.0)
    for rule in ("ApiErrorRateHigh", "ScaleOutErrorRate"):
        assert sink.states(rule) == ["pending", "firing"]


def test_service_down_is_critical_and_points_to_the_failover_runbook() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add("ledger-mgr", "down")
    run(estate, clock, engine, 60.0)
    down = sink.of("ServiceDown", "ledger-mgr")
    assert [o.state for o in down] == ["pending", "firing"]
    assert (down[-1].severity, down[-1].runbook_url, down[-1].namespace) == (
        "critical",
        "runbook://failover",
        "nexus-commerce",
    )


def test_replication_lag_fires_at_once_and_resolves_when_it_recovers() -> None:
    estate, clock, engine, sink = make()
    fault = estate.faults.add("db:marketplace", "replication_lag_s", 14)
    run(estate, clock, engine, 20.0)
    lag = sink.of("ReplicationLagHigh", "postgres-marketplace-replica")
    assert [o.state for o in lag] == ["firing"]
    assert lag[0].labels["database"] == "marketplace" and lag[0].severity == "high"
    assert lag[0].value >= 14.0 and lag[0].threshold == 10.0
    estate.faults.remove(fault.id)
    run(estate, clock, engine, 20.0)
    assert sink.states("ReplicationLagHigh", "postgres-marketplace-replica") == ["firing", "resolved"]


def test_database_cpu_must_hold_for_ten_minutes() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add("db:nexus", "cpu_pct", 95)
    run(estate, clock, engine, 590.0)
    assert sink.states("DatabaseCpuHigh", "postgres-nexus") == ["pending"]
    run(estate, clock, engine, 20.0)
    assert sink.states("DatabaseCpuHigh", "postgres-nexus") == ["pending", "firing"]


def test_sync_detection_failure_above_15_percent_alerts_high() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add("streaming-service-v2", "detection_failure_rate", 0.25)
    run(estate, clock, engine, 20.0)
    sync = sink.of("SyncDetectionFailureHigh", "streaming-service-v2")
    assert [o.state for o in sync] == ["firing"]
    assert (sync[0].severity, sync[0].runbook_url) == ("high", "runbook://monitoring")


@pytest.mark.parametrize(
    ("kind", "value", "rule"), [("cpu_pct", 85, "ScaleOutCpu"), ("memory_pct", 90, "ScaleOutMemory")]
)
def test_cpu_and_memory_scaling_triggers_hold_for_five_minutes(kind: str, value: float, rule: str) -> None:
    estate, clock, engine, sink = make()
    estate.faults.add("chat-service", kind, value)
    run(estate, clock, engine, 290.0)
    assert sink.states(rule, "chat-service") == ["pending"]
    run(estate, clock, engine, 20.0)
    assert sink.states(rule, "chat-service") == ["pending", "firing"]
    assert sink.of(rule, "chat-service")[-1].severity == "medium"


def test_a_pending_alert_that_clears_before_its_duration_resolves_without_firing() -> None:
    estate, clock, engine, sink = make()
    fault = estate.faults.add(ORDERS, "latency_ms", 700)
    run(estate, clock, engine, 60.0)
    estate.faults.remove(fault.id)
    run(estate, clock, engine, 120.0)
    assert sink.states("ApiLatencyP95High") == ["pending", "resolved"]


def test_observations_carry_fingerprint_labels_texts_and_simulated_time() -> None:
    estate, clock, engine, sink = make()
    estate.faults.add(ORDERS, "latency_ms", 700)
    run(estate, clock, engine, 10.0)
    obs = sink.of("ApiLatencyP95High")[0]
    assert obs.fingerprint == fingerprint("ApiLatencyP95High", obs.labels)
    assert obs.labels == {"service": ORDERS, "namespace": "nexus-commerce", "tier": "1"}
    assert ORDERS in obs.summary and "ms" in obs.summary and "500 ms" in obs.summary
    assert "runbook://performance" in obs.description and obs.runbook_url == "runbook://performance"
    assert obs.at == datetime.fromtimestamp(clock.now(), UTC)
    other = make(seed=99)
    other[1].advance(10.0)
    other[0].faults.add(ORDERS, "latency_ms", 700)
    other[0].tick()
    other[2].evaluate()
    assert other[3].of("ApiLatencyP95High")[0].fingerprint == obs.fingerprint


def test_every_rule_has_a_known_severity_and_runbook() -> None:
    runbooks = {"runbook://performance", "runbook://failover", "runbook://monitoring", "runbook://rollback"}
    runbooks.add("runbook://daily-ops")
    for rule in RULES_BY_NAME.values():
        assert rule.severity in {"critical", "high", "medium", "low"}
        assert rule.runbook_url in runbooks


def test_a_failing_sink_does_not_stop_evaluation() -> None:
    class BrokenSink(RecordingSink):
        def observe(self, obs: AlertObservation) -> None:
            super().observe(obs)
            raise RuntimeError("store unavailable")

    clock = ManualClock()
    estate = Estate(clock, seed=2)
    sink = BrokenSink()
    engine = AlertEngine(estate, sink)
    estate.faults.add(ORDERS, "down")
    estate.faults.add("ledger-mgr", "down")
    run(estate, clock, engine, 10.0)
    assert {o.service for o in sink.seen if o.rule == "ServiceDown"} == {ORDERS, "ledger-mgr"}


@pytest.mark.asyncio
async def test_with_a_clock_factor_of_60_five_minutes_take_five_real_seconds() -> None:
    estate = Estate(SimClock(60.0), seed=4, tick_interval_s=0.25)
    sink = RecordingSink()
    engine = AlertEngine(estate, sink, interval_s=0.25)
    app = fastapi.FastAPI()
    app.include_router(estate.control_router())
    control = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://estate")
    await estate.start("http://127.0.0.1:1")
    await engine.start()
    try:
        added = await control.post(
            "/_control/faults", json={"scope": ORDERS, "kind": "latency_ms", "value": 700}
        )
        started = time.monotonic()
        await wait_for(lambda: sink.states("ApiLatencyP95High") == ["pending"], 3.0)
        await wait_for(lambda: sink.states("ApiLatencyP95High") == ["pending", "firing"], 10.0)
        fired_after = time.monotonic() - started
        assert 4.5 <= fired_after <= 8.0
        # observations carry wall-clock time, although simulated time has run minutes ahead
        firing = sink.of("ApiLatencyP95High")[-1]
        assert abs(firing.at.timestamp() - time.time()) < 2.0
        assert estate.clock.now() - time.time() > 240.0
        assert (await control.delete(f"/_control/faults/{added.json()['id']}")).status_code == 204
        await wait_for(lambda: sink.states("ApiLatencyP95High")[-1] == "resolved", 5.0)
    finally:
        await control.aclose()
        await engine.stop()
        await estate.stop()


async def wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)

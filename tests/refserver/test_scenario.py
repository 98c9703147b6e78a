"""Scenario files: parsing, validation with clear errors, and the bundled demo incident."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_refserver.alerting import AlertEngine, AlertObservation
from nexus_refserver.clock import ManualClock
from nexus_refserver.config import ServerConfig
from nexus_refserver.telemetry import ScenarioError, build_estate, load_scenario
from nexus_refserver.telemetry.scenario import parse_scenario

ORDERS = "puabo-nuki-order-processor"


class ListSink:
    def __init__(self) -> None:
        self.seen: list[AlertObservation] = []

    def observe(self, obs: AlertObservation) -> None:
        self.seen.append(obs)


def test_none_means_no_faults() -> None:
    assert load_scenario("none").faults == ()
    estate = build_estate(ServerConfig(scenario="none"))
    assert estate.faults.all() == []


def test_the_default_scenario_scripts_the_order_processor_incident() -> None:
    scenario = load_scenario("default")
    assert scenario.name == "default" and scenario.description
    by_kind = {(f.scope, f.kind): f for f in scenario.faults}
    latency = by_kind[(ORDERS, "latency_ms")]
    errors = by_kind[(ORDERS, "error_rate")]
    assert latency.value > 500 and latency.at_s < 60 and latency.duration_s is not None
    assert errors.value > 0.05 and errors.at_s < 120 and errors.duration_s is not None
    assert ("db:marketplace", "replication_lag_s") in by_kind


@pytest.mark.parametrize("name", ["default", "demo", "cascade", "none"])
def test_every_bundled_scenario_is_valid(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name and scenario.description
    estate = build_estate(ServerConfig(scenario=name), clock=ManualClock())
    assert len(estate.faults.all()) == len(scenario.faults)


def test_the_cascade_scenario_alerts_on_the_database_sync_and_auth() -> None:
    clock = ManualClock()
    estate = build_estate(ServerConfig(scenario="cascade", seed=5), clock=clock)
    sink = ListSink()
    engine = AlertEngine(estate, sink)
    while clock.elapsed() < 900.0:
        clock.advance(10.0)
        estate.tick()
        engine.evaluate()
    firing = {(o.rule, o.service) for o in sink.seen if o.state == "firing"}
    assert ("DatabaseCpuHigh", "postgres-marketplace") in firing
    assert ("ReplicationLagHigh", "postgres-marketplace-replica") in firing
    assert ("SyncDetectionFailureHigh", "streaming-service-v2") in firing
    assert ("ServiceDown", "auth-service") in firing
    assert ("ScaleOutErrorRate", "billing-service") in firing


def test_the_demo_scenario_shows_its_incident_within_the_first_minute() -> None:
    clock = ManualClock()
    estate = build_estate(ServerConfig(scenario="demo", seed=5), clock=clock)
    sink = ListSink()
    engine = AlertEngine(estate, sink)
    while clock.elapsed() < 60.0:
        clock.advance(5.0)
        estate.tick()
        engine.evaluate()
    assert estate.faults.value(ORDERS, "latency_ms") == 650.0
    assert estate.faults.value(ORDERS, "error_rate") == 0.08
    firing = {(o.rule, o.service) for o in sink.seen if o.state == "firing"}
    assert ("ReplicationLagHigh", "postgres-marketplace-replica") in firing
    assert [incident.at_s for incident in load_scenario("demo").incidents] == [20.0]


def test_a_scenario_file_schedules_faults_on_simulated_time(tmp_path: Path) -> None:
    path = tmp_path / "short.toml"
    path.write_text(
        'name = "short"\n'
        '[[fault]]\nat_s = 30\nduration_s = 60\nscope = "billing-service"\nkind = "down"\n'
        '[[fault]]\nat_s = 0\nscope = "api"\nkind = "latency_ms"\nvalue = 250\n'
    )
    clock = ManualClock()
    estate = build_estate(ServerConfig(scenario=str(path)), clock=clock)
    assert not estate.faults.is_down("billing-service")
    assert estate.faults.value("api", "latency_ms") == 250.0
    clock.advance(30.0)
    assert estate.faults.is_down("billing-service")
    clock.advance(60.0)
    assert not estate.faults.is_down("billing-service")
    assert {f.source for f in estate.faults.all()} == {"scenario:short"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[fault]\nat_s = 1", "not valid TOML"),
        ('colour = "red"', "unknown top-level keys: colour"),
        ('[[fault]]\nscope = "glitch"\nkind = "down"', "fault #1: missing keys: at_s"),
        ('[[fault]]\nat_s = 1\nscope = "glitch"\nkind = "melt"', "fault #1: unknown fault kind 'melt'"),
        ('[[fault]]\nat_s = 1\nscope = "glitchy"\nkind = "down"', "unknown fault scope 'glitchy'"),
        ('[[fault]]\nat_s = 1\nscope = "glitch"\nkind = "latency_ms"', "needs a numeric value"),
        ('[[fault]]\nat_s = -5\nscope = "glitch"\nkind = "down"', "at_s must not be negative"),
        ('[[fault]]\nat_s = "soon"\nscope = "glitch"\nkind = "down"', "at_s must be a finite number"),
        ('[[fault]]\nat_s = 1\nscope = "glitch"\nkind = "down"\nwhen = 3', "fault #1: unknown keys: when"),
        (
            '[[fault]]\nat_s = 1\nscope = "glitch"\nkind = "down"\n'
            '[[fault]]\nat_s = 1\nscope = "glitch"\nkind = "error_rate"\nvalue = 2',
            "fault #2: error_rate value must be between 0 and 1",
        ),
        ("fault = 3", "'fault' must be an array of tables"),
    ],
)
def test_invalid_scenarios_are_refused_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=r"my\.toml") as error:
        parse_scenario(text, origin="my.toml")
    assert message in str(error.value)


def test_an_unknown_scenario_name_or_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no bundled scenario named 'nightmare'"):
        load_scenario("nightmare")
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario(str(tmp_path / "missing.toml"))


def test_the_default_scenario_raises_and_then_clears_its_alerts() -> None:
    clock = ManualClock()
    estate = build_estate(ServerConfig(scenario="default", seed=11), clock=clock)
    sink = ListSink()
    engine = AlertEngine(estate, sink)
    seen = sink.seen

    def states(rule: str, service: str = ORDERS) -> list[str]:
        return [o.state for o in seen if o.rule == rule and o.service == service]

    def run_until(simulated_s: float) -> None:
        while clock.elapsed() < simulated_s:
            clock.advance(10.0)
            estate.tick()
            engine.evaluate()

    run_until(120.0)
    # within two minutes the order processor is slow and failing, and the replica lags
    assert states("ScaleOutLatency") == ["pending"]
    assert states("ApiLatencyP95High") == ["pending"]
    assert states("ScaleOutErrorRate") == ["pending", "firing"]
    assert states("ApiErrorRateHigh") == ["pending"]
    assert states("ReplicationLagHigh", "postgres-marketplace-replica") == ["firing"]
    assert estate.sims[ORDERS].window.p95_ms > 500.0
    assert estate.sims[ORDERS].window.error_rate > 0.05
    run_until(360.0)
    # six minutes in, the whole incident is firing at once
    assert states("ApiLatencyP95High") == ["pending", "firing"]
    assert states("ApiErrorRateHigh") == ["pending", "firing"]
    assert states("ScaleOutLatency") == ["pending", "firing"]
    assert states("ReplicationLagHigh", "postgres-marketplace-replica") == ["firing"]
    run_until(720.0)
    for rule in ("ApiLatencyP95High", "ApiErrorRateHigh", "ScaleOutLatency", "ScaleOutErrorRate"):
        assert states(rule)[-1] == "resolved", rule
    assert states("ReplicationLagHigh", "postgres-marketplace-replica")[-1] == "resolved"
    assert {o.service for o in seen} == {ORDERS, "postgres-marketplace-replica"}

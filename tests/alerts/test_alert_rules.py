"""Local rules: threshold with for / keep_firing_for, no-data, anomaly; the rules file and its errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nexus_console.domain.alert_evaluator import RuleEvaluator, numeric_samples
from nexus_console.domain.alert_rules import Rule, RuleFileError, parse_rules_toml
from nexus_console.domain.alerts import AlertState, Severity
from nexus_console.services.alert_sources import default_rules, load_rules_file

ERROR_RATE = Rule(
    name="ApiErrorRateHigh",
    kind="threshold",
    series="api_health.error_rate",
    op=">",
    threshold=0.05,
    for_s=120.0,
    keep_firing_for_s=60.0,
    severity=Severity.HIGH,
)


def states(evaluator: RuleEvaluator, now: float) -> dict[str, AlertState]:
    return {alert.name: alert.state for alert in evaluator.evaluate(now)}


def test_threshold_goes_pending_then_fires_after_its_for_and_keeps_firing_for_a_while() -> None:
    evaluator = RuleEvaluator([ERROR_RATE], started_at=0.0)
    evaluator.observe("api_health.error_rate", {}, 0.0, 0.01)
    assert states(evaluator, 0.0) == {}
    evaluator.observe("api_health.error_rate", {}, 10.0, 0.08)
    (pending,) = evaluator.evaluate(70.0)
    assert pending.state is AlertState.PENDING
    assert pending.pending_label(70.0) == "pending 1/2 min"
    assert pending.value == 0.08 and pending.threshold == 0.05
    assert pending.summary == "api_health.error_rate = 0.08 > 0.05"
    evaluator.observe("api_health.error_rate", {}, 130.0, 0.09)
    assert states(evaluator, 130.0) == {"ApiErrorRateHigh": AlertState.FIRING}
    evaluator.observe("api_health.error_rate", {}, 140.0, 0.0)  # clears at 140; last true at 130
    assert states(evaluator, 189.0) == {"ApiErrorRateHigh": AlertState.FIRING}
    assert states(evaluator, 190.0) == {}


def test_an_alert_kept_firing_after_its_condition_cleared_keeps_its_start_time() -> None:
    evaluator = RuleEvaluator([ERROR_RATE], started_at=0.0)
    evaluator.observe("api_health.error_rate", {}, 10.0, 0.08)
    evaluator.observe("api_health.error_rate", {}, 130.0, 0.09)
    (firing,) = evaluator.evaluate(130.0)
    assert firing.state is AlertState.FIRING and firing.starts_at == 10.0
    evaluator.observe("api_health.error_rate", {}, 140.0, 0.0)
    (kept,) = evaluator.evaluate(160.0)
    assert kept.state is AlertState.FIRING and kept.starts_at == 10.0
    assert kept.age_s(160.0) == 150.0


def test_a_dip_while_pending_restarts_the_hold() -> None:
    evaluator = RuleEvaluator([ERROR_RATE], started_at=0.0)
    evaluator.observe("api_health.error_rate", {}, 0.0, 0.08)
    evaluator.observe("api_health.error_rate", {}, 100.0, 0.01)
    evaluator.observe("api_health.error_rate", {}, 110.0, 0.08)
    assert states(evaluator, 200.0) == {"ApiErrorRateHigh": AlertState.PENDING}
    assert states(evaluator, 230.0) == {"ApiErrorRateHigh": AlertState.FIRING}


def test_each_labelled_series_is_its_own_alert_and_match_narrows_the_rule() -> None:
    rule = Rule(
        name="DbCpu",
        kind="threshold",
        series="db_health.databases.cpu_pct",
        threshold=90,
        match={"role": "primary"},
    )
    evaluator = RuleEvaluator([rule], started_at=0.0)
    evaluator.observe("db_health.databases.cpu_pct", {"name": "orders", "role": "primary"}, 1.0, 95.0)
    evaluator.observe("db_health.databases.cpu_pct", {"name": "users", "role": "primary"}, 1.0, 97.0)
    evaluator.observe("db_health.databases.cpu_pct", {"name": "users-r", "role": "replica"}, 1.0, 99.0)
    alerts = evaluator.evaluate(2.0)
    assert sorted(a.labels["name"] for a in alerts) == ["orders", "users"]
    assert len({a.fingerprint for a in alerts}) == 2
    assert all(a.source == "local" and a.state is AlertState.FIRING for a in alerts)


def test_no_data_fires_when_a_series_falls_silent_and_when_it_never_came() -> None:
    rule = Rule(name="NoHealth", kind="no_data", series="api_health.error_rate", for_s=60.0)
    evaluator = RuleEvaluator([rule], started_at=0.0)
    assert states(evaluator, 59.0) == {}
    assert states(evaluator, 60.0) == {"NoHealth": AlertState.FIRING}
    evaluator.observe("api_health.error_rate", {}, 70.0, 0.0)
    assert states(evaluator, 100.0) == {}
    (silent,) = evaluator.evaluate(130.0)
    assert silent.state is AlertState.FIRING and silent.starts_at == 70.0
    assert silent.summary == "no data for api_health.error_rate"


@pytest.mark.parametrize("method", ["ewma", "zscore"])
def test_anomaly_fires_on_a_spike_but_not_on_noise(method: str) -> None:
    rule = Rule(
        name="TrafficSpike",
        kind="anomaly",
        series="api_health.rps",
        method=method,
        alpha=0.1,
        window=30,
        z=4.0,
        direction="up",
        min_samples=20,
    )
    evaluator = RuleEvaluator([rule], started_at=0.0)
    noise = random.Random(7)
    t = 0.0
    for _ in range(200):
        t += 1.0
        evaluator.observe("api_health.rps", {}, t, 100.0 + noise.gauss(0.0, 2.0))
        assert states(evaluator, t) == {}, f"noise at t={t} raised an alert"
    evaluator.observe("api_health.rps", {}, t + 1, 160.0)
    (spike,) = evaluator.evaluate(t + 1)
    assert spike.state is AlertState.FIRING
    assert "anomalous" in spike.summary
    evaluator.observe("api_health.rps", {}, t + 2, 100.0)
    assert states(evaluator, t + 2) == {}


def test_anomaly_direction_down_ignores_spikes() -> None:
    rule = Rule(
        name="Drop", kind="anomaly", series="conv", method="ewma", z=3.0, direction="down", min_samples=5
    )
    evaluator = RuleEvaluator([rule], started_at=0.0)
    for t in range(30):
        evaluator.observe("conv", {}, float(t), 50.0 + (t % 3))
    evaluator.observe("conv", {}, 30.0, 90.0)
    assert states(evaluator, 30.0) == {}
    evaluator.observe("conv", {}, 31.0, 5.0)
    assert states(evaluator, 31.0) == {"Drop": AlertState.FIRING}


def test_numeric_samples_flatten_payloads_and_label_list_items() -> None:
    payload = {
        "generated_at": "2026-11-23T14:00:00Z",
        "status": "ok",
        "error_rate": 0.02,
        "latency_ms": {"p50": 40, "p95": 300, "p99": 900},
        "degraded": True,
        "databases": [{"name": "orders", "role": "primary", "cpu_pct": 55.0, "pool": {"in_use": 3}}],
    }
    samples = numeric_samples("api_health", payload)
    assert ("api_health.error_rate", {}, 0.02) in samples
    assert ("api_health.latency_ms.p95", {}, 300.0) in samples
    assert ("api_health.databases.cpu_pct", {"name": "orders"}, 55.0) in samples
    assert ("api_health.databases.pool.in_use", {"name": "orders"}, 3.0) in samples
    assert not any(series.endswith("degraded") for series, _, _ in samples)


def test_the_default_rules_are_the_documented_thresholds() -> None:
    rules = {rule.name: rule for rule in default_rules()}
    high = rules["ApiErrorRateHigh"]
    assert (high.series, high.op, high.threshold, high.for_s, high.severity) == (
        "api_health.error_rate",
        ">",
        0.05,
        120.0,
        Severity.HIGH,
    )
    assert (rules["ApiLatencyP95High"].threshold, rules["ApiLatencyP95High"].for_s) == (500, 300.0)
    assert (rules["DatabaseCpuHigh"].threshold, rules["DatabaseCpuHigh"].for_s) == (90, 600.0)
    assert rules["SyncDetectionFailureHigh"].threshold == 0.15
    assert rules["DatabaseReplicationLagHigh"].threshold == 10
    assert rules["ApiErrorRateScaling"].threshold == 0.01
    assert rules["ApiTrafficAnomaly"].kind == "anomaly"
    assert rules["ApiHealthNoData"].kind == "no_data"


def test_default_rules_raise_api_alerts_from_a_polled_health_payload() -> None:
    evaluator = RuleEvaluator(default_rules(), started_at=0.0)
    for t in range(0, 301, 5):
        evaluator.observe_payload(
            "api_health", {"error_rate": 0.08, "rps": 120.0, "latency_ms": {"p95": 120.0}}, float(t)
        )
    firing = {a.name: a.state for a in evaluator.evaluate(300.0)}
    assert firing == {
        "ApiErrorRateHigh": AlertState.FIRING,
        "ApiErrorRateSustained": AlertState.FIRING,
        "ApiErrorRateScaling": AlertState.FIRING,
    }


def test_a_rules_file_loads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "Lag"\nseries = "db.lag"\nthreshold = 10\nfor = "30s"\n')
    (rule,) = load_rules_file(path)
    assert (rule.name, rule.kind, rule.threshold, rule.for_s, rule.severity) == (
        "Lag",
        "threshold",
        10.0,
        30.0,
        Severity.MEDIUM,
    )


def test_a_bad_rules_file_lists_every_problem_with_rule_and_key() -> None:
    text = """
[[rule]]
name = "A"
series = "x"
threshold = "high"
for = "5 minutes"
severity = "urgent"

[[rule]]
name = "B"
kind = "anomaly"
series = "y"
z = -1
colour = "red"

[[rule]]
name = "A"
kind = "no_data"
series = "z"
"""
    with pytest.raises(RuleFileError) as caught:
        parse_rules_toml(text, "my-rules.toml")
    problems = caught.value.problems
    assert "rule[0] (A): 'threshold' must be a number, got 'high'" in problems
    assert "rule[0] (A): 'for' must be a duration like 30s, 5m or 1h, got '5 minutes'" in problems
    assert "rule[0] (A): 'severity' must be one of critical, high, medium, low, got 'urgent'" in problems
    assert "rule[1] (B): 'z' must be between 0.1 and 1000, got -1" in problems
    assert "rule[1] (B): unknown key 'colour' for kind 'anomaly'" in problems
    assert "rule[2] (A): 'for' must be more than 0s for a no_data rule" in problems
    assert str(caught.value).startswith("my-rules.toml: ")


def test_invalid_toml_and_missing_fields_are_reported() -> None:
    with pytest.raises(RuleFileError, match="not valid TOML"):
        parse_rules_toml("[[rule]\nname=")
    with pytest.raises(RuleFileError) as caught:
        parse_rules_toml('[[rule]]\nkind = "threshold"\n')
    assert caught.value.problems == [
        "rule[0] (?): 'name' is required",
        "rule[0] (?): 'series' is required",
        "rule[0] (?): 'threshold' is required for a threshold rule",
    ]

"""The Alerts pane's side views: the detail chart marks the alert's start, the rules view shows each local
rule's state and last evaluation, and the badge reaches the window's navigation and title."""

from __future__ import annotations

from typing import Any

import numpy as np

from nexus_console.domain.alert_rules import LOCAL_SOURCE
from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.domain.prom_metrics import MetricsHistory, MetricsSample
from nexus_console.services.alert_sources import default_rules
from nexus_console.views.alerts.detail import AlertDetail
from nexus_console.views.alerts.side_views import rule_records

NOW = 1_700_000_000.0


def sample(at: float, rps: float, rps_5xx: float) -> MetricsSample:
    return MetricsSample(at, rps, 0.0, rps_5xx, 10.0, 20.0, 30.0, 5.0, 100.0)


def test_the_detail_chart_shows_the_service_ring_buffer_and_marks_the_alert_start(qapp: Any) -> None:
    history = MetricsHistory(capacity=600)
    for second in range(300):
        at = NOW - 300 + second
        history.record("orders", sample(at, 100.0, 40.0 if second >= 200 else 0.0))
    history.finish_round()
    started = NOW - 100
    alert = Alert(
        "fp", "nexus", "ApiErrorRateHigh", Severity.CRITICAL, AlertState.FIRING, "orders", starts_at=started
    )
    detail = AlertDetail()
    try:
        detail.show_alert(alert, NOW)
        assert detail.redraw_chart(history, NOW, None)
        assert detail.start_line.isVisible() and detail.start_line.value() == started
        times, errors = detail.chart.series_data("rps_5xx")
        assert len(times) == 300 and np.nanmax(errors) == 40.0
        assert not detail.redraw_chart(history, NOW, None)  # nothing new: no redraw
        detail.redraw_chart(history, NOW, "stale since 12:00:00 — timeout")
        assert detail.chart.stale_text == "stale since 12:00:00 — timeout"
        old = Alert("fp3", "nexus", "Old", Severity.LOW, AlertState.FIRING, "orders", starts_at=NOW - 7200)
        detail.show_alert(old, NOW)
        assert detail.redraw_chart(history, NOW, None)
        assert "before these data" in detail.chart.caption.text()
        other = Alert("fp2", "nexus", "X", Severity.LOW, AlertState.FIRING, "unknown-service", starts_at=NOW)
        detail.show_alert(other, NOW)
        assert not detail.redraw_chart(history, NOW, None)
        assert "has no request metrics the console scrapes" in detail.chart.caption.text()
        assert detail.chart.plot_widget.isHidden(), "no empty plot for a service without metrics"
        detail.show_alert(old, NOW)
        assert detail.redraw_chart(history, NOW, None)
        assert not detail.chart.plot_widget.isHidden()
    finally:
        detail.deleteLater()


def test_the_rules_view_gives_each_local_rule_its_state_and_last_evaluation() -> None:
    rules = default_rules()
    firing = Alert(
        "a", LOCAL_SOURCE, rules[0].name, rules[0].severity, AlertState.FIRING, starts_at=NOW - 200
    )
    pending = Alert(
        "b",
        LOCAL_SOURCE,
        rules[1].name,
        rules[1].severity,
        AlertState.PENDING,
        starts_at=NOW - 90,
        pending_for_s=300,
    )
    records = {r["name"]: r for r in rule_records(rules, [firing, pending], NOW - 2, NOW)}
    assert set(records) == {rule.name for rule in rules}
    assert records[rules[0].name]["state"] == "firing"
    assert records[rules[1].name]["state"] == "pending 1/5 min"
    assert all(
        r["state"] == "ok" for name, r in records.items() if name not in (rules[0].name, rules[1].name)
    )
    assert records[rules[0].name]["evaluated"].endswith("(2s ago)")
    assert rule_records(rules, [], None, NOW)[0]["evaluated"] == "not yet"

"""Grouping by service, alert name, severity, namespace or a label, with counts."""

from __future__ import annotations

from nexus_console.domain.alert_grouping import NO_VALUE, group_alerts
from nexus_console.domain.alerts import AlertState, Severity
from tests.alerts.conftest import make_alert

ALERTS = [
    make_alert("ErrorRate", service="orders", severity=Severity.HIGH, namespace="commerce"),
    make_alert("Latency", service="orders", severity=Severity.MEDIUM, namespace="commerce"),
    make_alert("ErrorRate", service="catalog", severity=Severity.CRITICAL, state=AlertState.ACKNOWLEDGED),
    make_alert(
        "Disk", service="catalog", severity=Severity.LOW, labels={"alertname": "Disk", "team": "storage"}
    ),
    make_alert(
        "Disk", service="search", severity=Severity.LOW, labels={"alertname": "Disk", "team": "storage"}
    ),
]


def test_group_by_service_counts_and_orders_by_worst_severity() -> None:
    groups = group_alerts(ALERTS, "service")
    assert [(g.value, g.count, g.worst) for g in groups] == [
        ("catalog", 2, Severity.CRITICAL),
        ("orders", 2, Severity.HIGH),
        ("search", 1, Severity.LOW),
    ]
    catalog = groups[0]
    assert catalog.by_state == {AlertState.ACKNOWLEDGED: 1, AlertState.FIRING: 1}
    assert catalog.unhandled == 1


def test_group_by_alert_name_severity_namespace_and_label() -> None:
    assert {g.value: g.count for g in group_alerts(ALERTS, "alertname")} == {
        "ErrorRate": 2,
        "Disk": 2,
        "Latency": 1,
    }
    assert [g.value for g in group_alerts(ALERTS, "severity")] == ["critical", "high", "medium", "low"]
    assert {g.value: g.count for g in group_alerts(ALERTS, "namespace")} == {"commerce": 2, NO_VALUE: 3}
    assert {g.value: g.count for g in group_alerts(ALERTS, "team")} == {"storage": 2, NO_VALUE: 3}
    assert group_alerts([], "service") == []

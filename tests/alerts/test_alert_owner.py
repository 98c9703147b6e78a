"""Who owns an alert, also after it is resolved: the history's owner column is never empty when the source
says who resolved it."""

from __future__ import annotations

from nexus_console.domain.alerts import AlertState, Severity
from nexus_console.models.alert_table import owner
from nexus_console.services.alert_history import alert_from_json, alert_to_json
from tests.alerts.conftest import make_alert


def test_a_resolved_alert_is_owned_by_who_resolved_it() -> None:
    resolved = make_alert(state=AlertState.RESOLVED, resolved_by="olive@nexus.test", severity=Severity.HIGH)
    assert owner(resolved) == "olive@nexus.test"
    acknowledged_then_resolved = make_alert(
        state=AlertState.RESOLVED, ack_by="ann@nexus.test", resolved_by="olive@nexus.test"
    )
    assert owner(acknowledged_then_resolved) == "ann@nexus.test"  # the one who handled it


def test_who_resolved_it_survives_the_local_history() -> None:
    resolved = make_alert(state=AlertState.RESOLVED, resolved_by="olive@nexus.test")
    assert alert_from_json(alert_to_json(resolved)).resolved_by == "olive@nexus.test"


def test_the_nexus_api_says_who_resolved_an_alert() -> None:
    from nexus_console.services.nexus_alert_wire import alert_from_api

    raw = {
        "id": 7,
        "fingerprint": "fp7",
        "rule": "ApiErrorRateHigh",
        "severity": "critical",
        "state": "resolved",
        "service": "orders",
        "labels": {},
        "resolved_by": "olive@nexus.test",
    }
    assert owner(alert_from_api(raw)) == "olive@nexus.test"

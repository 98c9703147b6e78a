"""A silence reads as a silence, not as an acknowledgement: what the Nexus API sends about it, the sentence
the table and the detail show, the owner column, and the filter's `@state=silenced` and `@silenced`."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from nexus_console.domain.alert_actions import silence_text
from nexus_console.domain.alert_filter import parse_filter
from nexus_console.domain.alerts import Alert, AlertState, Silence, parse_rfc3339
from nexus_console.services.alertmanager import alert_from_api as alertmanager_alert
from nexus_console.services.nexus_alert_wire import alert_from_api
from tests.alerts.conftest import make_alert

NOW = time.mktime((2026, 11, 2, 13, 0, 0, 0, 0, -1))  # 13:00 local time
UNTIL = NOW + 92 * 60  # 14:32 local time

SILENCED_JSON = {
    "id": 12,
    "fingerprint": "fp12",
    "rule": "ReplicationLagHigh",
    "severity": "high",
    "state": "silenced",
    "service": "postgres-marketplace-replica",
    "silenced_until": "2030-01-01T12:15:00.000Z",
    "silenced_by": "olive@nexus.test",
    "silence_comment": "failover drill",
    "ack_by": None,
}


def silenced(**fields: Any) -> Alert:
    values = {"silenced_until": UNTIL, "silence_owner": "olive@nexus.test", "silence_comment": "drill"}
    values.update(fields)
    return replace(make_alert("Lag", source="nexus", state=AlertState.SILENCED), **values)


def test_the_nexus_wire_reads_a_silence_as_the_silenced_state_with_until_by_and_why() -> None:
    alert = alert_from_api(SILENCED_JSON)
    assert alert.state is AlertState.SILENCED
    assert alert.silenced_until == parse_rfc3339("2030-01-01T12:15:00Z")
    assert (alert.silence_owner, alert.silence_comment, alert.ack_by) == (
        "olive@nexus.test",
        "failover drill",
        None,
    )
    older = alert_from_api({k: v for k, v in SILENCED_JSON.items() if not k.startswith("silenc")})
    assert (older.silenced_until, older.silence_owner, older.silence_comment) == (None, None, "")


def test_a_silence_reads_silenced_until_hh_mm_by_whom_and_why() -> None:
    assert silence_text(silenced(), NOW) == "Silenced until 14:32 by olive@nexus.test — drill"
    assert silence_text(silenced(silence_comment=""), NOW) == "Silenced until 14:32 by olive@nexus.test"
    far = silence_text(silenced(silenced_until=NOW + 3 * 86400), NOW)
    assert far is not None and far.startswith("Silenced until Thu 05 Nov 13:00")


def test_an_alert_not_silenced_or_without_an_end_has_no_silence_sentence() -> None:
    assert silence_text(make_alert("Lag", state=AlertState.FIRING), NOW) is None
    assert silence_text(silenced(silenced_until=None), NOW) is None


def test_the_state_filter_knows_silenced() -> None:
    alert, firing = silenced(), make_alert("Lag", source="nexus")
    assert parse_filter("@state=silenced").select([alert, firing], NOW) == [alert]
    assert parse_filter("@silenced=true").select([alert, firing], NOW) == [alert]
    assert parse_filter("@silenced=false").select([alert, firing], NOW) == [firing]
    inhibited = make_alert("Muted", state=AlertState.SILENCED, inhibited_by=("fp-x",))
    assert not parse_filter("@silenced=true").matches(inhibited, NOW)  # inhibited, not silenced


def test_an_alertmanager_silence_carries_its_owner_end_and_comment_too() -> None:
    silence = Silence("s1", (), NOW, UNTIL, "olive@nexus.test", "drill", "active", "am1")
    raw = {
        "fingerprint": "abc",
        "labels": {"alertname": "Lag", "service": "orders"},
        "status": {"state": "suppressed", "silencedBy": ["s1"], "inhibitedBy": []},
    }
    alert = alertmanager_alert(raw, "am1", {"s1": silence})
    assert alert.state is AlertState.SILENCED
    assert silence_text(alert, NOW) == "Silenced until 14:32 by olive@nexus.test — drill"

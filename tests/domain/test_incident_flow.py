"""What the Incidents pane says and drafts, as pure data: an incident drafted from marked alerts, the Health
banner's line, and the sentences about changes that wait or were refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nexus_console.domain.admin import INCIDENT_CHANGE, INCIDENT_ENTRY, EntityRef, EntityType
from nexus_console.domain.alerts import Severity
from nexus_console.domain.incident_flow import (
    IncidentList,
    draft_from_alerts,
    incident_banner_text,
    queue_text,
    stuck_text,
)
from nexus_console.domain.incidents import IncidentStatus
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from tests.domain.test_incident_timeline import at, make_alert, make_incident


def entry(action: str, params: dict[str, object], state: OutboxState, **changes: object) -> OutboxEntry:
    base = OutboxEntry(
        id=3,
        entity=EntityRef(EntityType.INCIDENT, "42"),
        action=action,
        reason=None,
        params=params,
        idempotency_key="k",
        expected_version=4,
        state=state,
        attempts=1,
        created_at=0.0,
        updated_at=0.0,
    )
    return replace(base, **changes)


def test_a_draft_takes_the_worst_severity_the_services_and_links_only_nexus_alerts() -> None:
    alerts = [
        make_alert("7", "orders", severity=Severity.MEDIUM, summary="5xx above 5%"),
        make_alert("9", "billing", severity=Severity.CRITICAL, summary="Invoices failing"),
        make_alert("x", "orders", source="alertmanager", name="NodeDown", source_id="fp-1"),
    ]
    draft = draft_from_alerts(alerts, commander="ana@example.com")
    assert draft.severity is Severity.CRITICAL
    assert draft.services == ("orders", "billing")
    assert draft.alert_ids == (7, 9)
    assert draft.unlinked_alerts == ("NodeDown on orders (alertmanager)",)
    assert draft.title == "Invoices failing (+2 more alerts)"
    assert draft_from_alerts(alerts[:1]).title == "5xx above 5% on orders"
    assert draft.body()["commander"] == "ana@example.com"
    with pytest.raises(ValueError, match="at least one alert"):
        draft_from_alerts([])


def test_the_banner_names_the_worst_open_incident_and_counts_the_others() -> None:
    now = at(15, 0)
    low = make_incident(id=40, severity=Severity.LOW, impact_started_at=at(14, 50))
    worst = make_incident(id=41, severity=Severity.CRITICAL, commander=None, impact_started_at=at(14, 30))
    closed = make_incident(id=39, status=IncidentStatus.CLOSED, closed_at=at(14, 59))
    text = incident_banner_text([low, worst, closed], now)
    assert text == (
        "Incident #41 open for 30 min: Checkout errors (critical, fixing, no commander yet) · 1 more open"
    )
    assert incident_banner_text([closed], now) is None
    assert IncidentList((low, closed)).active == (low,)


def test_waiting_changes_are_counted_and_offline_says_nothing_is_lost() -> None:
    assert queue_text(0, offline=True) is None
    assert queue_text(1, offline=False) == "1 change waits to be sent…"
    offline = queue_text(3, offline=True)
    assert offline is not None and offline.startswith(
        "3 changes wait to be sent: the Nexus API is not answering"
    )
    assert "Nothing is lost" in offline


def test_a_conflict_says_what_was_not_applied_and_offers_the_two_ways_out() -> None:
    conflict = entry(
        INCIDENT_CHANGE, {"status": "resolved"}, OutboxState.CONFLICT, server_state={"version": 7}
    )
    text = stuck_text(conflict, 2)
    assert text.startswith("Incident #42: the change of status to resolved was not applied: someone else")
    assert "(it is at version 7 now)" in text and "Apply it again" in text and "(1 more after it)" in text
    refused = entry(
        INCIDENT_ENTRY, {"kind": "note", "text": "paged the DBA"}, OutboxState.FAILED, last_error="HTTP 422"
    )
    assert (
        stuck_text(refused, 1) == 'Incident #42: the note "paged the DBA" was refused: HTTP 422. Discard it.'
    )

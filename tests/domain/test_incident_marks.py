"""What a service's health charts show of incidents: bands for the incidents that affect it, marks for the
followed incident's notable events, capped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incident_flow import IncidentDetail, IncidentList
from nexus_console.domain.incident_marks import (
    MAX_MARKS,
    NO_MARKS,
    IncidentBand,
    band_of,
    is_markable,
    marks_for_service,
    marks_of,
    short_label,
)
from nexus_console.domain.incident_timeline import EventType, TimelineEvent, milestone_events
from nexus_console.domain.incidents import Incident, IncidentStatus
from tests.domain.incident_factories import make_incident as shared_incident

DAY = 86400.0


def at(hour: int, minute: int, second: float = 0) -> float:
    return datetime(2026, 12, 6, hour, minute, tzinfo=UTC).timestamp() + second


NOW = at(15, 0)


def make_incident(**changes: Any) -> Incident:
    """The shared incident, on orders and payments, not yet acknowledged and without a commander."""
    unacknowledged = {
        "commander": None,
        "responders": (),
        "services": ("orders", "payments"),
        "alert_ids": (),
        "acknowledged_at": None,
        "updated_at": at(14, 5),
        "version": 1,
    }
    return shared_incident(**{**unacknowledged, **changes})


def event(key: str, when: float, kind: EventType, text: str = "something", **changes: Any) -> TimelineEvent:
    return TimelineEvent(key, when, kind, text, "incident", None, None, None, **changes)


def test_an_open_incident_is_a_band_from_its_start_to_now() -> None:
    band = band_of(make_incident(), NOW)
    assert band == IncidentBand(42, "Checkout errors", Severity.HIGH, at(14, 0), NOW, True)
    assert band.tooltip == "Incident #42: Checkout errors"


def test_a_resolved_incident_ends_at_its_resolution_else_its_closing_and_starts_without_margin() -> None:
    resolved = make_incident(
        status=IncidentStatus.RESOLVED, impact_started_at=None, resolved_at=at(14, 30), closed_at=at(14, 50)
    )
    band = band_of(resolved, NOW)
    assert (band.start, band.end, band.active) == (
        at(14, 4),
        at(14, 30),
        False,
    )  # detection, no 15 min margin
    closed = make_incident(status=IncidentStatus.CLOSED, closed_at=at(14, 40))
    assert band_of(closed, NOW).end == at(14, 40)


def test_bands_only_for_the_incidents_that_affect_the_service_and_are_open_or_recent() -> None:
    listing = IncidentList(
        (
            make_incident(id=1),
            make_incident(id=2, services=("search",)),
            make_incident(
                id=3, status=IncidentStatus.CLOSED, impact_started_at=NOW - 41 * DAY, closed_at=NOW - 40 * DAY
            ),
            make_incident(
                id=4,
                status=IncidentStatus.RESOLVED,
                impact_started_at=NOW - 3 * DAY,
                resolved_at=NOW - 2 * DAY,
            ),
            make_incident(id=5, impact_started_at=NOW - 45 * DAY),  # open for 45 days: still a band
        )
    )
    shown = marks_for_service(listing, None, "orders", NOW)
    assert [band.incident_id for band in shown.bands] == [5, 4, 1], "oldest first; #3 ended 40 days ago"
    assert [band.active for band in shown.bands] == [True, False, True]
    assert shown.marks == ()
    assert [band.incident_id for band in marks_for_service(listing, None, "search", NOW).bands] == [2]
    assert marks_for_service(listing, None, "ledger", NOW) == NO_MARKS
    assert marks_for_service(listing, None, None, NOW) == NO_MARKS
    assert marks_for_service(None, None, "orders", NOW) == NO_MARKS


def test_the_followed_incident_marks_its_notable_events_on_the_services_it_affects() -> None:
    incident = make_incident()
    events = (
        *milestone_events(incident),
        event("entry:1", at(14, 10), EventType.NOTE, "Restarted the order processor\nsecond line"),
        event("entry:2", at(14, 11), EventType.STATUS, "Status: investigating → fixing"),
        event("entry:3", at(14, 12), EventType.FIELD, "Title changed"),
        event("entry:4", at(14, 13), EventType.FIELD, "Summary changed", pinned=True),
        event("entry:5", at(14, 14), EventType.NOTE, "a hidden note", hidden=True),
        event("alert:nexus:7:1:firing", at(14, 1), EventType.ALERT, "ApiErrorRateHigh: pending → firing"),
        event("alert:nexus:7:2:acknowledged", at(14, 6), EventType.ACK, "ApiErrorRateHigh acknowledged"),
        event("alert:nexus:8:3:pending", at(14, 2), EventType.ALERT, "ApiLatency: pending"),
        event("alert:nexus:7:4:resolved", at(14, 20), EventType.ALERT, "ApiErrorRateHigh: firing → resolved"),
    )
    detail = IncidentDetail(incident, events)
    shown = marks_for_service(IncidentList((incident,)), detail, "payments", NOW)
    assert [band.incident_id for band in shown.bands] == [42]
    keys = [mark.key for mark in shown.marks]
    assert keys == [
        "milestone:impact_started_at",
        "alert:nexus:7:1:firing",
        "milestone:detected_at",
        "entry:1",
        "entry:2",
        "entry:4",
        "alert:nexus:7:4:resolved",
    ]
    note = next(mark for mark in shown.marks if mark.key == "entry:1")
    assert (note.incident_id, note.at, note.type) == (42, at(14, 10), EventType.NOTE)
    assert note.label == "Restarted the order processor"
    assert note.text.endswith("second line")
    assert shown.left_out == 0
    elsewhere = marks_for_service(IncidentList((incident,)), detail, "search", NOW)
    assert elsewhere == NO_MARKS, "an incident that does not affect the service draws nothing on it"


def test_the_followed_incident_has_a_band_before_the_list_shows_it_and_its_copy_wins() -> None:
    listed = make_incident(title="Old title")
    followed = IncidentDetail(make_incident(title="New title", severity=Severity.CRITICAL), ())
    shown = marks_for_service(IncidentList((listed,)), followed, "orders", NOW)
    assert [(b.title, b.severity) for b in shown.bands] == [("New title", Severity.CRITICAL)]
    assert [b.title for b in marks_for_service(None, followed, "orders", NOW).bands] == ["New title"]


def test_marks_are_capped_keeping_pinned_then_milestones_status_and_notes_then_the_newest_alerts() -> None:
    incident = make_incident()
    alerts = [
        event(f"alert:a:{i}:firing", at(14, 0) + i, EventType.ALERT, f"flap {i}")
        for i in range(MAX_MARKS * 2)
    ]
    notes = [event(f"entry:{i}", at(14, 30) + i, EventType.NOTE) for i in range(10)]
    pinned = event("alert:b:1:pending", at(13, 0), EventType.ALERT, "pinned pending", pinned=True)
    marks, left_out = marks_of(IncidentDetail(incident, (pinned, *alerts, *notes)))
    assert len(marks) == MAX_MARKS and left_out == 2 * MAX_MARKS + 11 - MAX_MARKS
    keys = {mark.key for mark in marks}
    assert pinned.key in keys and all(note.key in keys for note in notes)
    assert f"alert:a:{2 * MAX_MARKS - 1}:firing" in keys and "alert:a:0:firing" not in keys
    assert [mark.at for mark in marks] == sorted(mark.at for mark in marks)


def test_which_events_are_marks_and_how_labels_are_cut() -> None:
    assert is_markable(event("milestone:detected_at", 0, EventType.MILESTONE))
    assert not is_markable(event("audit:1", 0, EventType.ADMIN))
    assert is_markable(event("audit:1", 0, EventType.ADMIN, pinned=True))
    assert not is_markable(event("entry:9", 0, EventType.NOTE, hidden=True, pinned=True))
    assert short_label("x" * 100).endswith("…") and len(short_label("x" * 100)) == 40
    assert short_label("  \n") == ""

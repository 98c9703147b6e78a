"""The assembled incident timeline: the incident's own entries and milestones, its alerts' transitions from
the local history, admin actions from the audit log, in one order; the window, the filters and the curated
selection a post-mortem starts from."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from nexus_console.domain.alerts import Alert, AlertState, Severity, Transition
from nexus_console.domain.incident_timeline import (
    SYSTEM_TYPES,
    EventLink,
    EventType,
    IncidentWindow,
    TimelineEntry,
    TimelineEvent,
    assemble_timeline,
    event_from_entry,
    events_from_audit,
    events_from_transitions,
    linked_alert_key,
)
from nexus_console.domain.incidents import IncidentFormatError
from nexus_console.domain.timeline_filter import TimelineFilter, curated_events, filter_events
from tests.domain.incident_factories import at, make_incident, rfc


def entry_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 12,
        "at": "2026-12-06T14:10:00Z",
        "kind": "note",
        "author": "bo@example.com",
        "text": "restarted the order processor",
        "ref": None,
        "hidden": False,
        "pinned": True,
        "created_at": "2026-12-06T14:12:00Z",
        "edited_at": None,
    }
    body.update(overrides)
    return body


def make_entry(**overrides: Any) -> TimelineEntry:
    return TimelineEntry.from_json(entry_json(**overrides))


def make_alert(alert_id: str = "7", service: str = "orders", **changes: Any) -> Alert:
    alert = Alert(
        fingerprint=f"fp{alert_id}",
        source="nexus",
        name="HighErrorRate",
        severity=Severity.CRITICAL,
        state=AlertState.FIRING,
        service=service,
        summary="5xx above 5%",
        source_id=alert_id,
    )
    return replace(alert, **changes)


def audit_json(entry_id: int, when: float, action: str = "user.suspend", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": entry_id,
        "at": rfc(when),
        "actor": "root@example.com",
        "action": action,
        "entity_type": action.split(".")[0],
        "entity_id": "123",
        "before": {"status": "active"},
        "after": {"status": "suspended"},
        "reason": "card testing from this account",
        "idempotency_key": "k1",
    }
    body.update(overrides)
    return body


# --- server entries ------------------------------------------------------------------------------------


def test_a_server_entry_becomes_an_event_linked_to_itself() -> None:
    event = event_from_entry(make_entry())
    assert event == TimelineEvent(
        key="entry:12",
        at=at(14, 10),
        type=EventType.NOTE,
        text="restarted the order processor",
        source="incident",
        author="bo@example.com",
        link=EventLink("incident_entry", "12", at(14, 10)),
        entry_id=12,
        pinned=True,
        hidden=False,
    )


@pytest.mark.parametrize(
    ("kind", "event_type"),
    [
        ("status", EventType.STATUS),
        ("severity", EventType.SEVERITY),
        ("role", EventType.ROLE),
        ("field", EventType.FIELD),
        ("action", EventType.ACTION),
        ("note", EventType.NOTE),
        ("custom", EventType.CUSTOM),
        ("something_newer", EventType.CUSTOM),
    ],
)
def test_an_entry_kind_maps_to_its_event_type(kind: str, event_type: EventType) -> None:
    assert event_from_entry(make_entry(kind=kind)).type is event_type


def test_an_alert_entry_links_to_the_alert_it_names() -> None:
    event = event_from_entry(make_entry(kind="alert", text="linked alert 7", ref="7"))
    assert event.type is EventType.ALERT
    assert event.link == EventLink("alert", "nexus:7", at(14, 10))


def test_a_linked_alert_is_named_from_the_alert_history_when_it_knows_the_alert() -> None:
    linked = make_entry(kind="alert", text="linked alert 7", ref="7", pinned=False)
    unknown = make_entry(id=13, kind="alert", text="linked alert 8", ref="8", pinned=False)
    transitions = [Transition(at(14, 3), None, AlertState.FIRING, make_alert("7"))]
    events = {e.key: e for e in assemble_timeline(make_incident(), [linked, unknown], transitions, [])}
    assert events["entry:12"].text == "Linked alert: HighErrorRate on orders (critical)"
    assert events["entry:13"].text == "linked alert 8"  # not in this machine's history: as the server says


def test_an_entry_from_an_older_server_is_visible_unpinned_and_created_when_it_happened() -> None:
    body = entry_json()
    for name in ("hidden", "pinned", "created_at", "edited_at"):
        del body[name]
    entry = TimelineEntry.from_json(body)
    assert (entry.hidden, entry.pinned, entry.created_at, entry.edited_at) == (False, False, at(14, 10), None)


def test_an_entry_of_the_wrong_shape_is_refused_naming_the_field() -> None:
    with pytest.raises(IncidentFormatError, match="timeline entry's at is not an RFC 3339 time"):
        make_entry(at="soon")
    with pytest.raises(IncidentFormatError, match="timeline entry's pinned has the wrong type"):
        make_entry(pinned="yes")


# --- alert transitions ---------------------------------------------------------------------------------


def test_transitions_of_linked_alerts_and_of_alerts_on_the_incidents_services_are_kept() -> None:
    linked = Transition(at(14, 1), AlertState.PENDING, AlertState.FIRING, make_alert("7", service="search"))
    same_service = Transition(at(14, 2), None, AlertState.FIRING, make_alert("8", service="orders"))
    unrelated = Transition(at(14, 3), None, AlertState.FIRING, make_alert("9", service="search"))
    events = events_from_transitions(
        [linked, same_service, unrelated], alert_keys={linked_alert_key(7)}, services={"orders"}
    )
    assert [event.link for event in events] == [
        EventLink("alert", "nexus:7", at(14, 1)),
        EventLink("alert", "nexus:8", at(14, 2)),
    ]
    assert events[0].text == "HighErrorRate on search (critical): pending → firing — 5xx above 5%"
    assert events[0].source == "alert history"
    assert events[0].key == f"alert:nexus:7:{int(at(14, 1) * 1000)}:firing"


def test_acks_and_silences_are_their_own_event_types_and_the_rest_are_alert_events() -> None:
    acked = make_alert(state=AlertState.ACKNOWLEDGED, ack_by="bo@example.com")
    transitions = [
        Transition(at(14, 1), AlertState.FIRING, AlertState.ACKNOWLEDGED, acked),
        Transition(at(14, 2), AlertState.ACKNOWLEDGED, AlertState.SILENCED, make_alert()),
        Transition(at(14, 3), AlertState.SILENCED, AlertState.RESOLVED, make_alert()),
    ]
    events = events_from_transitions(transitions, alert_keys={"nexus:7"})
    assert [event.type for event in events] == [EventType.ACK, EventType.SILENCE, EventType.ALERT]
    assert events[0].text == "HighErrorRate on orders acknowledged by bo@example.com"
    assert events[0].author == "bo@example.com"
    assert events[2].text == "HighErrorRate on orders (critical): silenced → resolved"


def test_transitions_outside_the_window_are_dropped() -> None:
    window = IncidentWindow(at(14, 0), at(15, 0))
    transitions = [
        Transition(when, None, AlertState.FIRING, make_alert())
        for when in (at(13, 59), at(14, 30), at(15, 1))
    ]
    events = events_from_transitions(transitions, alert_keys={"nexus:7"}, window=window)
    assert [event.at for event in events] == [at(14, 30)]


# --- the audit log -------------------------------------------------------------------------------------


def test_an_admin_action_reads_as_what_was_done_to_what_and_why() -> None:
    [event] = events_from_audit([audit_json(31, at(14, 20))])
    assert event.type is EventType.ADMIN
    assert event.text == "suspend user 123 — card testing from this account"
    assert event.author == "root@example.com"
    assert event.link == EventLink("audit", "31", at(14, 20))
    assert (event.key, event.source, event.entry_id) == ("audit:31", "audit log", None)


def test_incident_and_alert_audit_entries_and_malformed_ones_are_left_out() -> None:
    entries = [
        audit_json(1, at(14, 20), "incident.update"),
        audit_json(2, at(14, 20), "alert.acknowledge"),
        audit_json(3, at(14, 20), at="not a time"),
        audit_json(4, at(14, 20), id=None),
        audit_json(5, at(14, 20), "vendor.set_commission", reason=None),
    ]
    assert [event.text for event in events_from_audit(entries)] == ["set commission vendor 123"]


def test_audit_entries_outside_the_window_are_dropped() -> None:
    window = IncidentWindow(at(14, 0), None)
    entries = [audit_json(1, at(13, 0)), audit_json(2, at(23, 0))]
    assert [event.key for event in events_from_audit(entries, window=window)] == ["audit:2"]


# --- the window ----------------------------------------------------------------------------------------


def test_the_window_runs_from_the_start_less_the_margin_to_resolution_plus_the_margin() -> None:
    window = IncidentWindow.of(make_incident(resolved_at=at(15, 0)), margin_s=600)
    assert window == IncidentWindow(at(13, 50), at(15, 10))
    assert window.contains(at(13, 50)) and window.contains(at(15, 10))
    assert not window.contains(at(15, 10, 1))


def test_an_unresolved_incidents_window_is_open_ended_and_starts_at_detection_without_an_impact_start() -> (
    None
):
    window = IncidentWindow.of(make_incident(impact_started_at=None))
    assert window == IncidentWindow(at(14, 4) - 900, None)
    assert window.contains(at(14, 4) + 10 * 86400)


# --- assembly ------------------------------------------------------------------------------------------


def test_the_timeline_merges_every_source_in_time_order_with_the_incident_start_marked() -> None:
    incident = make_incident()
    entries = [make_entry(id=1, at=rfc(at(14, 6)), kind="status", text="triage -> investigating")]
    transitions = [Transition(at(13, 58), None, AlertState.FIRING, make_alert())]
    audit = [audit_json(5, at(14, 3))]
    events = assemble_timeline(incident, entries, transitions, audit)
    assert [(event.key, event.text) for event in events] == [
        (
            f"alert:nexus:7:{int(at(13, 58) * 1000)}:firing",
            "HighErrorRate on orders (critical): firing — 5xx above 5%",
        ),
        ("milestone:impact_started_at", "Impact started — start of the incident"),
        ("audit:5", "suspend user 123 — card testing from this account"),
        ("milestone:detected_at", "Detected"),
        ("milestone:acknowledged_at", "Acknowledged"),
        ("entry:1", "triage -> investigating"),
    ]
    assert events[1].link == EventLink("service_chart", "orders", at(14, 0))


def test_a_milestone_comes_before_other_events_in_the_same_second() -> None:
    incident = make_incident()
    entries = [make_entry(id=1, at=rfc(at(14, 6, 0.1)), kind="note"), make_entry(id=2, at=rfc(at(14, 6)))]
    transitions = [Transition(at(14, 6), AlertState.FIRING, AlertState.ACKNOWLEDGED, make_alert())]
    events = assemble_timeline(incident, entries, transitions, [])
    keys = [event.key for event in events if int(event.at) == int(at(14, 6))]
    assert keys[0] == "milestone:acknowledged_at"
    assert keys[1].startswith("alert:nexus:7:")  # an ack ranks before notes in the same second
    assert keys[2:] == ["entry:2", "entry:1"]


def test_an_incident_with_neither_impact_start_nor_detection_starts_at_its_declaration() -> None:
    incident = make_incident(impact_started_at=None, detected_at=None, acknowledged_at=None)
    events = assemble_timeline(incident, [], [], [])
    assert [(event.key, event.text) for event in events] == [
        ("milestone:created_at", "Declared — start of the incident")
    ]


def test_the_window_drops_alert_and_audit_events_but_never_the_incidents_own_entries() -> None:
    incident = make_incident(resolved_at=at(15, 0))
    window = IncidentWindow.of(incident, margin_s=60)
    late_note = make_entry(id=3, at=rfc(at(18, 0)))
    late_alert = Transition(at(18, 0), None, AlertState.FIRING, make_alert())
    late_audit = audit_json(9, at(18, 0))
    events = assemble_timeline(incident, [late_note], [late_alert], [late_audit], window=window)
    assert [event.key for event in events if event.at == at(18, 0)] == ["entry:3"]


def test_ten_thousand_events_come_out_in_order_with_unique_keys() -> None:
    rng = random.Random(7)
    incident = make_incident()
    start = at(14, 0)
    entries = [
        make_entry(
            id=i, at=rfc(start + rng.randrange(0, 3600)), kind=rng.choice(["note", "status", "action"])
        )
        for i in range(2_000)
    ]
    alerts = [make_alert(str(i), service="orders") for i in range(200)]
    transitions = [
        Transition(start + rng.uniform(0, 3600), None, rng.choice(list(AlertState)), rng.choice(alerts))
        for _ in range(6_000)
    ]
    audit = [audit_json(i, start + rng.uniform(0, 3600)) for i in range(2_000)]
    events = assemble_timeline(incident, entries, transitions, audit)
    assert len(events) == 3 + 2_000 + 6_000 + 2_000
    assert len({event.key for event in events}) == len(events)
    rank = {event_type: index for index, event_type in enumerate(EventType)}
    order = [(int(event.at), rank[event.type], event.at, event.key) for event in events]
    assert order == sorted(order)


# --- filters -------------------------------------------------------------------------------------------


def sample_events() -> list[TimelineEvent]:
    def event(key: str, event_type: EventType, **changes: Any) -> TimelineEvent:
        base = TimelineEvent(key, at(14, 0), event_type, f"{key} text", "incident", None, None, None)
        return replace(base, **changes)

    return [
        event("milestone", EventType.MILESTONE),
        event("status", EventType.STATUS, author="Ana@example.com"),
        event("alert", EventType.ALERT, source="alert history"),
        event("pinned-alert", EventType.ALERT, pinned=True),
        event("field", EventType.FIELD),
        event("silence", EventType.SILENCE),
        event("note", EventType.NOTE, entry_id=1),
        event("hidden-note", EventType.NOTE, hidden=True, pinned=True),
        event("ack", EventType.ACK),
        event("admin", EventType.ADMIN),
    ]


def keys(events: list[TimelineEvent]) -> list[str]:
    return [event.key for event in events]


def test_the_default_filter_shows_everything_but_hidden_events() -> None:
    assert keys(filter_events(sample_events(), TimelineFilter())) == [
        "milestone",
        "status",
        "alert",
        "pinned-alert",
        "field",
        "silence",
        "note",
        "ack",
        "admin",
    ]
    assert TimelineFilter(show_hidden=True).accepts(sample_events()[7])


def test_hiding_system_events_hides_alert_transitions_and_field_changes() -> None:
    shown = filter_events(sample_events(), TimelineFilter(show_system=False))
    assert not any(event.type in SYSTEM_TYPES for event in shown)
    assert "silence" in keys(shown)


def test_filters_by_type_pinned_and_text_combine() -> None:
    events = sample_events()
    assert keys(filter_events(events, TimelineFilter(types=frozenset({EventType.NOTE})))) == ["note"]
    assert keys(filter_events(events, TimelineFilter(pinned_only=True))) == ["pinned-alert"]
    assert keys(filter_events(events, TimelineFilter(pinned_only=True, show_hidden=True))) == [
        "pinned-alert",
        "hidden-note",
    ]
    assert keys(filter_events(events, TimelineFilter(text="  ANA@ "))) == ["status"]
    assert keys(filter_events(events, TimelineFilter(text="alert history"))) == ["alert"]


def test_the_curated_events_are_the_ones_a_post_mortem_tells_the_story_with() -> None:
    assert keys(curated_events(sample_events())) == [
        "milestone",
        "status",
        "pinned-alert",
        "note",
        "ack",
        "admin",
    ]

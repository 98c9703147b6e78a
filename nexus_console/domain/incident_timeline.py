"""One incident's timeline as the console assembles it: the incident's milestones and its own entries from the
server, the transitions of its alerts from the local alert history, and admin actions from the audit log,
in one ordered list; and the filters the timeline view and the post-mortem apply to it."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from nexus_console.domain.alerts import Alert, AlertState, Transition, parse_rfc3339
from nexus_console.domain.incidents import (
    MILESTONES,
    Incident,
    IncidentFormatError,
    read_field,
    read_optional_time,
    read_time,
)


class EventType(StrEnum):
    """What a timeline event is; the order here is the order of events within one second."""

    MILESTONE = "milestone"  # from the incident's timestamps: impact started, detected, ...
    STATUS = "status"
    SEVERITY = "severity"
    ROLE = "role"
    FIELD = "field"
    ALERT = "alert"  # a linked alert's transition, or a server `alert` entry
    ACK = "ack"
    SILENCE = "silence"
    ACTION = "action"  # something a responder did (a server `action` entry)
    ADMIN = "admin"  # an admin action from the audit log
    NOTE = "note"
    CUSTOM = "custom"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    EventType.MILESTONE: "Milestone",
    EventType.STATUS: "Status",
    EventType.SEVERITY: "Severity",
    EventType.ROLE: "Role",
    EventType.FIELD: "Field change",
    EventType.ALERT: "Alert",
    EventType.ACK: "Acknowledged",
    EventType.SILENCE: "Silenced",
    EventType.ACTION: "Action taken",
    EventType.ADMIN: "Admin action",
    EventType.NOTE: "Note",
    EventType.CUSTOM: "Custom event",
}
_TYPE_RANK = {event_type: rank for rank, event_type in enumerate(EventType)}

# What "hide system events" hides.
SYSTEM_TYPES = frozenset({EventType.ALERT, EventType.FIELD})
# What a post-mortem's timeline is filled from (besides pinned events).
CURATED_TYPES = frozenset(EventType) - {EventType.ALERT, EventType.SILENCE, EventType.ROLE, EventType.FIELD}

# Server entry kinds, each named as its event type; a kind this console does not know shows as custom.
ENTRY_KINDS = frozenset({"status", "severity", "role", "field", "alert", "action", "note", "custom"})

SOURCE_INCIDENT = "incident"
SOURCE_ALERT_HISTORY = "alert history"
SOURCE_AUDIT_LOG = "audit log"


@dataclass(frozen=True, slots=True)
class EventLink:
    """Where Enter on an event goes."""

    kind: str  # "alert" | "audit" | "service_chart" | "incident_entry"
    target: str  # an alert key, an audit entry id, a service name, a timeline entry id
    at: float


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One line of the timeline. `key` is stable and unique: "entry:12", "alert:<alert key>:<at>:<state>",
    "audit:7", "milestone:detected_at"."""

    key: str
    at: float
    type: EventType
    text: str
    source: str  # "incident", "alert history", "audit log"
    author: str | None
    link: EventLink | None
    entry_id: int | None  # the server entry it shows; only these can be pinned or hidden
    pinned: bool = False
    hidden: bool = False


def linked_alert_key(alert_id: int | str) -> str:
    """The alert store's key of a Nexus alert the incident links by id."""
    return f"nexus:{alert_id}"


# --- the incident's own entries ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One entry of the incident's timeline on the server."""

    id: int
    at: float
    kind: str
    author: str
    text: str
    ref: str | None
    hidden: bool
    pinned: bool
    created_at: float
    edited_at: float | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TimelineEntry:
        """The entry from the API's JSON; raises IncidentFormatError naming the first bad field.

        Fields an older server does not send read as: not hidden, not pinned, created at `at`, never edited.
        """
        what = "timeline entry"
        if not isinstance(body, Mapping):
            raise IncidentFormatError("The timeline entry is not a JSON object.")
        at = read_time(body, "at", what=what)
        created_at = read_optional_time(body, "created_at", what=what)
        return cls(
            id=read_field(body, "id", int, what=what),
            at=at,
            kind=read_field(body, "kind", str, what=what),
            author=read_field(body, "author", str, what=what),
            text=read_field(body, "text", str, what=what),
            ref=read_field(body, "ref", (str, type(None)), what=what),
            hidden=bool(read_field(body, "hidden", (bool, type(None)), what=what)),
            pinned=bool(read_field(body, "pinned", (bool, type(None)), what=what)),
            created_at=at if created_at is None else created_at,
            edited_at=read_optional_time(body, "edited_at", what=what),
        )


def event_from_entry(entry: TimelineEntry) -> TimelineEvent:
    """The event of a server entry: `alert` entries link to the alert in `ref`, the rest to themselves."""
    event_type = EventType(entry.kind) if entry.kind in ENTRY_KINDS else EventType.CUSTOM
    if event_type is EventType.ALERT and entry.ref:
        target = linked_alert_key(entry.ref) if entry.ref.isdigit() else entry.ref
        link = EventLink("alert", target, entry.at)
    else:
        link = EventLink("incident_entry", str(entry.id), entry.at)
    key = f"entry:{entry.id}"
    author = entry.author or None
    return TimelineEvent(
        key,
        entry.at,
        event_type,
        entry.text,
        SOURCE_INCIDENT,
        author,
        link,
        entry.id,
        entry.pinned,
        entry.hidden,
    )


# --- the window and the other sources ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentWindow:
    """The stretch of time whose alert changes and admin actions belong on the incident's timeline."""

    start: float
    end: float | None  # None while the incident is unresolved

    @classmethod
    def of(cls, incident: Incident, *, margin_s: float = 900.0) -> IncidentWindow:
        """From the incident's start (impact, else detection, else declaration) less the margin, to its
        resolution (else closing) plus the margin."""
        finished = incident.resolved_at if incident.resolved_at is not None else incident.closed_at
        return cls(incident.started_at - margin_s, None if finished is None else finished + margin_s)

    def contains(self, at: float) -> bool:
        return self.start <= at and (self.end is None or at <= self.end)


def events_from_transitions(
    transitions: Iterable[Transition],
    *,
    alert_keys: Collection[str] = (),
    services: Collection[str] = (),
    window: IncidentWindow | None = None,
) -> list[TimelineEvent]:
    """The alert changes that belong to an incident: transitions of the alerts in `alert_keys` (see
    `linked_alert_key`) and of any alert whose service is in `services`, inside `window` when given.

    A move to acknowledged is an ACK event, to silenced a SILENCE event, anything else an ALERT event.
    """
    keys, service_names = frozenset(alert_keys), frozenset(services)
    start, end = _bounds(window)
    events = []
    for transition in transitions:
        at, alert, after = transition.at, transition.alert, transition.after
        alert_key = alert.key
        if (alert_key not in keys and alert.service not in service_names) or not start <= at <= end:
            continue
        name = f"{alert.name} on {alert.service}" if alert.service else alert.name
        author = None
        if after is AlertState.ACKNOWLEDGED:
            event_type, author = EventType.ACK, alert.ack_by
            text = f"{name} acknowledged by {author}" if author else f"{name} acknowledged"
        elif after is AlertState.SILENCED:
            event_type, text = EventType.SILENCE, f"{name} silenced"
        else:
            event_type = EventType.ALERT
            before = transition.before
            change = f"{after}" if before is None else f"{before} → {after}"
            text = f"{name} ({alert.severity}): {change}"
            if after is AlertState.FIRING and alert.summary:
                text = f"{text} — {alert.summary}"
        # Milliseconds in the key: formatting an int is cheaper than a float, and as stable.
        key = f"alert:{alert_key}:{int(at * 1000)}:{after}"
        link = EventLink("alert", alert_key, at)
        events.append(TimelineEvent(key, at, event_type, text, SOURCE_ALERT_HISTORY, author, link, None))
    return events


def _bounds(window: IncidentWindow | None) -> tuple[float, float]:
    """The window as two numbers to compare against (infinite where it is open)."""
    if window is None:
        return -math.inf, math.inf
    return window.start, math.inf if window.end is None else window.end


def events_from_audit(
    entries: Iterable[Mapping[str, Any]], *, window: IncidentWindow | None = None
) -> list[TimelineEvent]:
    """Admin actions from the audit log ("suspend user 123 — reason"), inside `window` when given.

    `incident.*` entries are left out (the incident's own entries show them), and so are `alert.*` entries
    (the alert history shows those alerts' changes, limited to the incident's alerts and services). An
    entry without an id, a time or an action is left out too: one bad row must not sink the timeline.
    """
    start, end = _bounds(window)
    events = []
    for entry in entries:
        action, entry_id, entity_type = entry.get("action"), entry.get("id"), entry.get("entity_type")
        if not isinstance(action, str) or not isinstance(entry_id, int):
            continue
        domain, _, verb = action.partition(".")
        if domain in ("incident", "alert") or entity_type == "incident":
            continue
        at = _epoch(entry.get("at"))
        if at is None or not start <= at <= end:
            continue
        text = f"{(verb or action).replace('_', ' ')} {entity_type} {entry.get('entity_id')}"
        reason = entry.get("reason")
        if reason:
            text = f"{text} — {reason}"
        actor = entry.get("actor")
        author = actor if isinstance(actor, str) and actor else None
        link = EventLink("audit", str(entry_id), at)
        events.append(
            TimelineEvent(
                f"audit:{entry_id}", at, EventType.ADMIN, text, SOURCE_AUDIT_LOG, author, link, None
            )
        )
    return events


def _epoch(text: Any) -> float | None:
    """Epoch seconds of an RFC 3339 time; None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        # The server writes ISO 8601 that fromisoformat reads directly; parse_rfc3339 covers the rest.
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            return moment.timestamp()
    except ValueError:
        pass
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def milestone_events(incident: Incident) -> list[TimelineEvent]:
    """One event per milestone the incident has; the one its duration counts from is marked as the start
    (when it has neither impact start nor detection, its declaration is added as the start)."""
    start_field = "impact_started_at" if incident.impact_started_at is not None else "detected_at"
    events = []
    marks = [(field, label, incident.milestone(field)) for field, label in MILESTONES]
    if incident.impact_started_at is None and incident.detected_at is None:
        start_field = "created_at"
        marks.insert(0, ("created_at", "Declared", incident.created_at))
    for field, label, at in marks:
        if at is None:
            continue
        chart = EventLink("service_chart", incident.services[0], at) if incident.services else None
        events.append(
            TimelineEvent(
                key=f"milestone:{field}",
                at=at,
                type=EventType.MILESTONE,
                text=f"{label} — start of the incident" if field == start_field else label,
                source=SOURCE_INCIDENT,
                author=None,
                link=chart,
                entry_id=None,
            )
        )
    return events


def _sort_key(event: TimelineEvent) -> tuple[int, int, float, str]:
    # Within one displayed second the type decides, so a milestone leads the status change that set it.
    # int() is floor for the positive epoch times here, and cheaper than math.floor.
    return (int(event.at), _TYPE_RANK[event.type], event.at, event.key)


def sort_events(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """Sort in place by (second, type order, time, key) and return the list."""
    events.sort(key=_sort_key)
    return events


def assemble_timeline(
    incident: Incident,
    entries: Iterable[TimelineEntry],
    transitions: Iterable[Transition],
    audit_entries: Iterable[Mapping[str, Any]],
    *,
    window: IncidentWindow | None = None,
) -> list[TimelineEvent]:
    """Every source in one ordered list (see `sort_events`). `window` (by default `IncidentWindow.of`)
    limits the alert changes and admin actions, never the incident's own entries and milestones."""
    if window is None:
        window = IncidentWindow.of(incident)
    transitions = list(transitions)
    known_alerts = {transition.alert.key: transition.alert for transition in transitions}
    events = milestone_events(incident)
    events.extend(_named(event_from_entry(entry), known_alerts) for entry in entries)
    events.extend(
        events_from_transitions(
            transitions,
            alert_keys={linked_alert_key(alert_id) for alert_id in incident.alert_ids},
            services=incident.services,
            window=window,
        )
    )
    events.extend(events_from_audit(audit_entries, window=window))
    return sort_events(events)


def _named(event: TimelineEvent, known_alerts: Mapping[str, Alert]) -> TimelineEvent:
    """The server says "linked alert 12"; the alert history knows which alert that is: say its name."""
    link = event.link
    if event.type is not EventType.ALERT or link is None or link.kind != "alert":
        return event
    alert = known_alerts.get(link.target)
    if alert is None:
        return event
    verb = event.text.rpartition(" ")[0].capitalize() or "Linked alert"
    where = f" on {alert.service}" if alert.service else ""
    return replace(event, text=f"{verb}: {alert.name}{where} ({alert.severity})")

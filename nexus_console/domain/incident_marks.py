"""What a service's health charts show of incidents: a band for each incident that affects the service, and
marks for the followed incident's notable timeline events. Pure data, no Qt.

Times are epoch seconds, like the charts' time axis (`views.charts.LiveChart` uses a DateAxisItem).
"""

from __future__ import annotations

from dataclasses import dataclass

from nexus_console.domain.alerts import AlertState, Severity
from nexus_console.domain.incident_flow import IncidentDetail, IncidentList
from nexus_console.domain.incident_timeline import EventType, TimelineEvent
from nexus_console.domain.incidents import Incident

RECENT_DAYS = 30  # a closed incident older than this has no band (the list holds the same 30 days)
# At most this many marks per chart: a few hundred thin lines stay cheap to draw and to tell apart.
MAX_MARKS = 200
LABEL_CHARS = 40
# The events that become marks (pinned events always do; hidden ones never).
MARK_TYPES = frozenset({EventType.MILESTONE, EventType.STATUS, EventType.NOTE})
# Alert transitions become marks only when an alert starts firing or is resolved.
MARK_ALERT_STATES = (AlertState.FIRING, AlertState.RESOLVED)


@dataclass(frozen=True, slots=True)
class IncidentBand:
    """The stretch of an incident: from its start (`Incident.started_at`) to its resolution, else its
    closing, else `now` (then `active` says it is still going on)."""

    incident_id: int
    title: str
    severity: Severity
    start: float
    end: float
    active: bool

    @property
    def tooltip(self) -> str:
        return f"Incident #{self.incident_id}: {self.title}"


@dataclass(frozen=True, slots=True)
class IncidentMark:
    """One event of the followed incident's timeline at its time; `label` is the text cut short."""

    incident_id: int
    key: str
    at: float
    label: str
    type: EventType
    text: str


@dataclass(frozen=True, slots=True)
class ServiceMarks:
    """Everything to draw for one service; `left_out` counts the marks the cap (`MAX_MARKS`) dropped."""

    bands: tuple[IncidentBand, ...] = ()
    marks: tuple[IncidentMark, ...] = ()
    left_out: int = 0


NO_MARKS = ServiceMarks()


def band_of(incident: Incident, now: float) -> IncidentBand:
    """The incident's band, never shorter than nothing (an end before the start is drawn at the start)."""
    finished = incident.resolved_at if incident.resolved_at is not None else incident.closed_at
    start = incident.started_at
    end = now if finished is None else finished
    return IncidentBand(
        incident.id, incident.title, incident.severity, start, max(start, end), incident.is_active
    )


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    """The first line of `text`, cut to `limit` characters with an ellipsis."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def is_markable(event: TimelineEvent) -> bool:
    """Pinned events, milestones, status changes and notes, and alerts starting to fire or resolved."""
    if event.hidden:
        return False
    if event.pinned or event.type in MARK_TYPES:
        return True
    return event.type is EventType.ALERT and event.key.endswith(
        tuple(f":{state}" for state in MARK_ALERT_STATES)
    )


def _rank(event: TimelineEvent) -> int:
    """Which marks survive the cap first: pinned, then milestones, status changes and notes, then alerts."""
    if event.pinned:
        return 0
    return 1 if event.type in MARK_TYPES else 2


def marks_of(detail: IncidentDetail, *, max_marks: int = MAX_MARKS) -> tuple[tuple[IncidentMark, ...], int]:
    """The followed incident's marks in time order and how many the cap left out. Over the cap, pinned
    events go first, then milestones, status changes and notes, then alert changes; within a rank the
    newest are kept."""
    chosen = [event for event in detail.events if is_markable(event)]
    left_out = max(0, len(chosen) - max_marks)
    if left_out:
        chosen.sort(key=lambda event: (_rank(event), -event.at))
        del chosen[max_marks:]
    chosen.sort(key=lambda event: (event.at, event.key))
    incident_id = detail.incident.id
    marks = tuple(
        IncidentMark(incident_id, event.key, event.at, short_label(event.text), event.type, event.text)
        for event in chosen
    )
    return marks, left_out


def marks_for_service(
    listing: IncidentList | None,
    followed: IncidentDetail | None,
    service: str | None,
    now: float,
    *,
    recent_days: int = RECENT_DAYS,
    max_marks: int = MAX_MARKS,
) -> ServiceMarks:
    """What `service`'s charts show: a band for each listed incident whose services include it (open ones,
    and the others that ended within `recent_days`), oldest first, and the followed incident's marks when
    that incident affects the service. The followed incident's own copy is the newer one: it replaces the
    listed one, and it has a band even before the list shows it."""
    if service is None:
        return NO_MARKS
    incidents = {incident.id: incident for incident in listing.incidents} if listing is not None else {}
    if followed is not None:
        incidents[followed.incident.id] = followed.incident
    since = now - recent_days * 86400
    bands = [
        band
        for band in (
            band_of(incident, now) for incident in incidents.values() if service in incident.services
        )
        if band.active or band.end >= since
    ]
    bands.sort(key=lambda band: (band.start, band.incident_id))
    marks: tuple[IncidentMark, ...] = ()
    left_out = 0
    if followed is not None and service in followed.incident.services:
        marks, left_out = marks_of(followed, max_marks=max_marks)
    return ServiceMarks(tuple(bands), marks, left_out)

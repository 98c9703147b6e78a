"""What the Incidents pane shows and asks for, as pure data: who may see and change incidents, the list and
the assembled timeline the runtime publishes, and an incident drafted from alerts in the queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nexus_console.domain.alerts import Alert, Severity
from nexus_console.domain.incident_stats import format_duration
from nexus_console.domain.incident_timeline import TimelineEvent
from nexus_console.domain.incidents import Incident, IncidentFormatError
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState

# The API's incidents:read and incidents:write (nexus-api.yaml's role matrix): a viewer is a wall display,
# which shows the open incidents on Health and changes nothing.
INCIDENT_READERS = frozenset({"admin", "analyst", "viewer"})
INCIDENT_WRITERS = frozenset({"admin", "analyst"})
AUDIT_READERS = frozenset({"admin"})


@dataclass(frozen=True, slots=True)
class IncidentList:
    """The incidents the API lists, newest first; malformed ones are left out and counted."""

    incidents: tuple[Incident, ...]
    skipped: int = 0
    first_problem: str = ""

    @classmethod
    def from_items(cls, items: Sequence[Any]) -> IncidentList:
        incidents, skipped, first_problem = [], 0, ""
        for item in items:
            try:
                incidents.append(Incident.from_json(item))
            except IncidentFormatError as exc:
                skipped += 1
                first_problem = first_problem or str(exc)
        return cls(tuple(incidents), skipped, first_problem)

    @property
    def active(self) -> tuple[Incident, ...]:
        return tuple(incident for incident in self.incidents if incident.is_active)

    def by_id(self, incident_id: int) -> Incident | None:
        return next((incident for incident in self.incidents if incident.id == incident_id), None)

    def to_json(self) -> list[dict[str, Any]]:
        return [incident.to_json() for incident in self.incidents]


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    """One incident and its assembled timeline; `notices` say what could not be included and why."""

    incident: Incident
    events: tuple[TimelineEvent, ...]
    notices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    """A new incident as the responder is about to declare it."""

    title: str
    severity: Severity
    services: tuple[str, ...] = ()
    alert_ids: tuple[int, ...] = ()
    summary: str = ""
    commander: str | None = None
    # alerts that have no Nexus id (Alertmanager, Prometheus, local rules): noted on the timeline instead
    unlinked_alerts: tuple[str, ...] = field(default_factory=tuple)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title.strip(),
            "severity": self.severity.value,
            "services": list(self.services),
            "alert_ids": list(self.alert_ids),
            "summary": self.summary,
        }
        if self.commander:
            body["commander"] = self.commander
        return body


def draft_from_alerts(alerts: Sequence[Alert], *, commander: str | None = None) -> IncidentDraft:
    """The incident a responder declares from marked alerts: the worst severity, their services, the Nexus
    alerts linked by id, the others named for the timeline."""
    if not alerts:
        raise ValueError("mark at least one alert to declare an incident from")
    worst = max(alerts, key=lambda alert: alert.severity.rank)
    services = tuple(dict.fromkeys(alert.service for alert in alerts if alert.service))
    alert_ids = tuple(
        int(alert.source_id) for alert in alerts if alert.source == "nexus" and alert.source_id.isdigit()
    )
    unlinked = tuple(
        f"{alert.name} on {alert.service or 'no service'} ({alert.source})"
        for alert in alerts
        if not (alert.source == "nexus" and alert.source_id.isdigit())
    )
    headline = worst.summary or worst.name
    where = f" on {services[0]}" if len(services) == 1 and services[0] not in headline else ""
    more = f" (+{len(alerts) - 1} more alerts)" if len(alerts) > 1 else ""
    return IncidentDraft(
        title=f"{headline}{where}{more}"[:300],
        severity=worst.severity,
        services=services,
        alert_ids=alert_ids,
        commander=commander,
        unlinked_alerts=unlinked,
    )


def worst_open(incidents: Sequence[Incident]) -> Incident | None:
    """The open incident the banner names: the most severe, the oldest among equals."""
    active = [incident for incident in incidents if incident.is_active]
    return max(active, key=lambda incident: (incident.severity.rank, -incident.id)) if active else None


def incident_banner_text(incidents: Sequence[Incident], now: float) -> str | None:
    """The line the Health pane shows while incidents are open (None when none is)."""
    worst = worst_open(incidents)
    if worst is None:
        return None
    active = [incident for incident in incidents if incident.is_active]
    commander = f", commander {worst.commander}" if worst.commander else ", no commander yet"
    others = f" · {len(active) - 1} more open" if len(active) > 1 else ""
    return (
        f"Incident #{worst.id} open for {format_duration(worst.duration_s(now))}: {worst.title} "
        f"({worst.severity.value}, {worst.status.label.lower()}{commander}){others}"
    )


# What a responder reads when the incident changed under them (HTTP 412).
CONFLICT_TEXT = (
    "Someone else changed this incident since you opened it. It has been reloaded: check their change, then "
    "make yours again."
)

OPEN_OUTBOX_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.CONFLICT, OutboxState.FAILED)


@dataclass(frozen=True, slots=True)
class IncidentQueue:
    """What waits to be sent, and whether the API answered the last probe."""

    entries: tuple[OutboxEntry, ...]
    offline: bool
    problem: str | None = None

    @property
    def waiting(self) -> tuple[OutboxEntry, ...]:
        return tuple(e for e in self.entries if e.state in (OutboxState.QUEUED, OutboxState.SENDING))

    @property
    def stuck(self) -> tuple[OutboxEntry, ...]:
        """Conflicts and refusals: they wait for the responder."""
        return tuple(e for e in self.entries if e.state in (OutboxState.CONFLICT, OutboxState.FAILED))


def queue_text(waiting: int, offline: bool) -> str | None:
    """What the responder reads while changes wait to be sent (None when none waits)."""
    if not waiting:
        return None
    changes = "1 change waits" if waiting == 1 else f"{waiting} changes wait"
    if offline:
        return (
            f"{changes} to be sent: the Nexus API is not answering. Nothing is lost; they go when it returns."
        )
    return f"{changes} to be sent…"


def describe_change(entry: OutboxEntry) -> str:
    """`the status change to resolved`, `the note "restarted the order processor"`."""
    body = entry.params
    if "text" in body:
        return f'the {body.get("kind", "note")} "{str(body["text"])[:60]}"'
    fields = ", ".join(f"{name} to {value}" for name, value in body.items() if name != "milestones")
    return f"the change of {fields or 'milestones'}"


def stuck_text(entry: OutboxEntry, count: int) -> str:
    """The first change the server refused, as a sentence (a conflict asks to apply again or discard)."""
    more = f" ({count - 1} more after it)" if count > 1 else ""
    what = f"Incident #{entry.entity.id}: {describe_change(entry)}"
    if entry.state is OutboxState.CONFLICT:
        version = (entry.server_state or {}).get("version")
        now = f" (it is at version {version} now)" if version is not None else ""
        return (
            f"{what} was not applied: someone else changed the incident first{now}. Apply it again on "
            f"the incident as it is now, or discard it.{more}"
        )
    return f"{what} was refused: {entry.last_error or 'no reason given'}. Discard it.{more}"

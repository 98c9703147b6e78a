"""Incidents as the console holds them: the incident, its status and milestones and their order (the
durations and statistics derived from them are in `incident_stats`).

Times are epoch seconds (float), as everywhere in the domain; the JSON carries RFC 3339 strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any

from nexus_console.domain.alerts import Severity, parse_rfc3339


class IncidentStatus(StrEnum):
    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    FIXING = "fixing"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """The word the console shows: Triage, Investigating, ..."""
        return self.value.capitalize()


STATUS_ORDER: tuple[IncidentStatus, ...] = tuple(IncidentStatus)
ACTIVE_STATUSES = frozenset(
    {IncidentStatus.TRIAGE, IncidentStatus.INVESTIGATING, IncidentStatus.FIXING, IncidentStatus.MONITORING}
)

MILESTONES: tuple[tuple[str, str], ...] = (
    ("impact_started_at", "Impact started"),
    ("detected_at", "Detected"),
    ("acknowledged_at", "Acknowledged"),
    ("mitigated_at", "Mitigated"),
    ("resolved_at", "Resolved"),
    ("closed_at", "Closed"),
)
MILESTONE_LABELS: dict[str, str] = dict(MILESTONES)

_IMPLIED_MILESTONES: dict[IncidentStatus, tuple[str, ...]] = {
    IncidentStatus.TRIAGE: (),
    IncidentStatus.INVESTIGATING: ("acknowledged_at",),
    IncidentStatus.FIXING: (),
    IncidentStatus.MONITORING: ("mitigated_at",),
    IncidentStatus.RESOLVED: ("acknowledged_at", "mitigated_at", "resolved_at"),
    IncidentStatus.CLOSED: ("resolved_at", "closed_at"),
}

# How far ahead of the clock a milestone may be before it reads as a typing mistake (clock skew).
FUTURE_TOLERANCE_S = 300.0

_SEVERITIES = frozenset(member.value for member in Severity)
_STATUSES = frozenset(member.value for member in IncidentStatus)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class IncidentFormatError(ValueError):
    """Incident data (an incident, a timeline entry, a post-mortem) of the wrong shape; str() names the
    field."""


# --- reading JSON --------------------------------------------------------------------------------------


def read_field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], *, what: str) -> Any:
    """`body[name]` checked to be a `kind` (None passes when `kind` includes NoneType); a missing field
    is None, so optional fields read the same whether absent or null."""
    value = body.get(name)
    wanted = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int to isinstance: an id of `true` is a wrong shape, not 1.
    if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
        if value is None:
            raise IncidentFormatError(f"The {what} has no {name}.")
        raise IncidentFormatError(f"The {what}'s {name} has the wrong type ({type(value).__name__}).")
    return value


def read_optional_time(body: Mapping[str, Any], name: str, *, what: str) -> float | None:
    """An RFC 3339 field as epoch seconds; None when absent or null."""
    text = read_field(body, name, (str, type(None)), what=what)
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise IncidentFormatError(f"The {what}'s {name} is not an RFC 3339 time: {text!r}.") from None


def read_time(body: Mapping[str, Any], name: str, *, what: str) -> float:
    """A required RFC 3339 field as epoch seconds."""
    value = read_optional_time(body, name, what=what)
    if value is None:
        raise IncidentFormatError(f"The {what} has no {name}.")
    return value


def read_list(body: Mapping[str, Any], name: str, kind: type, *, what: str) -> tuple[Any, ...]:
    """A list field whose items are all `kind`; absent or null is empty."""
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(item, kind) and not (isinstance(item, bool) and kind is not bool) for item in value
    ):
        raise IncidentFormatError(f"The {what}'s {name} must be a list of {kind.__name__} values.")
    return tuple(value)


def write_time(epoch_s: float | None) -> str | None:
    """RFC 3339 UTC with microseconds, so a value read back is the same float."""
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- the incident --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Responder:
    email: str
    role: str


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident as the API returns it; times are epoch seconds, None where the JSON has null."""

    id: int
    title: str
    severity: Severity
    status: IncidentStatus
    commander: str | None
    responders: tuple[Responder, ...]
    services: tuple[str, ...]
    alert_ids: tuple[int, ...]
    summary: str
    impact_started_at: float | None
    detected_at: float | None
    acknowledged_at: float | None
    mitigated_at: float | None
    resolved_at: float | None
    closed_at: float | None
    created_by: str
    created_at: float
    updated_at: float
    version: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Incident:
        """The incident from the API's JSON; raises IncidentFormatError naming the first bad field.

        Fields that an older server does not send (responders, services, the milestones) read as empty.
        """
        what = "incident"
        if not isinstance(body, Mapping):
            raise IncidentFormatError("The incident is not a JSON object.")
        severity_text = read_field(body, "severity", str, what=what)
        if severity_text not in _SEVERITIES:
            raise IncidentFormatError(
                f"The incident's severity {severity_text!r} is not one of {', '.join(Severity)}."
            )
        status_text = read_field(body, "status", str, what=what)
        if status_text not in _STATUSES:
            raise IncidentFormatError(
                f"The incident's status {status_text!r} is not one of {', '.join(IncidentStatus)}."
            )
        responders = []
        for item in read_list(body, "responders", dict, what=what):
            email, role = item.get("email"), item.get("role")
            if not isinstance(email, str) or not isinstance(role, str):
                raise IncidentFormatError("The incident's responders must each have an email and a role.")
            responders.append(Responder(email, role))
        milestones = {name: read_optional_time(body, name, what=what) for name, _label in MILESTONES}
        return cls(
            id=read_field(body, "id", int, what=what),
            title=read_field(body, "title", str, what=what),
            severity=Severity(severity_text),
            status=IncidentStatus(status_text),
            commander=read_field(body, "commander", (str, type(None)), what=what),
            responders=tuple(responders),
            services=read_list(body, "services", str, what=what),
            alert_ids=read_list(body, "alert_ids", int, what=what),
            summary=read_field(body, "summary", (str, type(None)), what=what) or "",
            created_by=read_field(body, "created_by", str, what=what),
            created_at=read_time(body, "created_at", what=what),
            updated_at=read_time(body, "updated_at", what=what),
            version=read_field(body, "version", int, what=what),
            **milestones,
        )

    def to_json(self) -> dict[str, Any]:
        """The API's JSON shape (the local cache stores it; `from_json` reads it back unchanged)."""
        body: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "status": self.status.value,
            "commander": self.commander,
            "responders": [{"email": r.email, "role": r.role} for r in self.responders],
            "services": list(self.services),
            "alert_ids": list(self.alert_ids),
            "summary": self.summary,
        }
        for name, _label in MILESTONES:
            body[name] = write_time(getattr(self, name))
        body.update(
            created_by=self.created_by,
            created_at=write_time(self.created_at),
            updated_at=write_time(self.updated_at),
            version=self.version,
        )
        return body

    def milestone(self, field: str) -> float | None:
        """The time of one milestone by its field name ("detected_at")."""
        if field not in MILESTONE_LABELS:
            raise ValueError(
                f"{field!r} is not a milestone; the milestones are {', '.join(MILESTONE_LABELS)}"
            )
        return getattr(self, field)

    def milestone_times(self) -> dict[str, float | None]:
        """Every milestone field and its time, in MILESTONES order."""
        return {name: getattr(self, name) for name, _label in MILESTONES}

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def started_at(self) -> float:
        """When the incident began as far as anyone knows: impact start, else detection, else declaration."""
        if self.impact_started_at is not None:
            return self.impact_started_at
        if self.detected_at is not None:
            return self.detected_at
        return self.created_at

    def duration_s(self, now: float) -> float:
        """From the start (see `started_at`) to resolution, or to `now` while unresolved."""
        end = self.resolved_at if self.resolved_at is not None else now
        return max(0.0, end - self.started_at)


def implied_milestones(status: IncidentStatus) -> tuple[str, ...]:
    """The milestone fields a move to `status` sets when they are still null (the server does the same)."""
    return _IMPLIED_MILESTONES[status]


# --- milestone order -----------------------------------------------------------------------------------


def format_time_of_day(epoch_s: float, tz: tzinfo | None = None, *, seconds: bool = False) -> str:
    """The time as "14:32 on 6 Dec" in `tz` (UTC by default), without the locale's month names."""
    moment = datetime.fromtimestamp(epoch_s, tz or UTC)
    clock = f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"
    return f"{clock} on {moment.day} {_MONTHS[moment.month - 1]}"


def order_problems(
    times: Mapping[str, float | None], *, tz: tzinfo | None = None, now: float | None = None
) -> list[str]:
    """A sentence for each pair of milestones out of order, and (given `now`) for each milestone more than
    5 minutes in the future; empty when all is well. Missing or null milestones are ignored."""
    known = [(name, label, times.get(name)) for name, label in MILESTONES]
    present = [(label, at) for _name, label, at in known if at is not None]
    problems = []
    for index, (earlier_label, earlier_at) in enumerate(present):
        for later_label, later_at in present[index + 1 :]:
            if later_at < earlier_at:
                # Within one minute the minutes alone would read as equal: show the seconds.
                seconds = math.floor(later_at / 60) == math.floor(earlier_at / 60)
                problems.append(
                    f"{later_label} ({format_time_of_day(later_at, tz, seconds=seconds)}) is before "
                    f"{earlier_label} ({format_time_of_day(earlier_at, tz, seconds=seconds)})."
                )
    if now is not None:
        for label, at in present:
            if at > now + FUTURE_TOLERANCE_S:
                problems.append(f"{label} ({format_time_of_day(at, tz)}) is in the future.")
    return problems

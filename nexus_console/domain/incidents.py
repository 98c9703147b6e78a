"""Incidents as the console holds them: the incident, its status and milestones, and the durations and
statistics derived from the milestones (never typed by anyone).

Times are epoch seconds (float), as everywhere in the domain; the JSON carries RFC 3339 strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
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

# The platform's objective: incidents resolved in under 15 minutes.
MTTR_TARGET_S = 900.0
# Ours, not the platform's: someone owns an incident within 5 minutes of its detection.
MTTA_TARGET_S = 300.0
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


# --- durations and statistics --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentDurations:
    """Time to detect, acknowledge and resolve, derived from the milestones; None when a milestone is
    missing or the difference is negative (then `problems` says why)."""

    time_to_detect_s: float | None
    time_to_acknowledge_s: float | None
    time_to_resolve_s: float | None
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, incident: Incident) -> IncidentDurations:
        """TTD = detected - impact started; TTA = acknowledged - detected; TTR = resolved - impact started
        (or - detected when the impact start is unknown)."""
        problems: list[str] = []
        resolve_from = "impact_started_at" if incident.impact_started_at is not None else "detected_at"
        return cls(
            time_to_detect_s=_span(incident, "detect", "impact_started_at", "detected_at", problems),
            time_to_acknowledge_s=_span(incident, "acknowledge", "detected_at", "acknowledged_at", problems),
            time_to_resolve_s=_span(incident, "resolve", resolve_from, "resolved_at", problems),
            problems=tuple(problems),
        )


def _span(
    incident: Incident, verb: str, start_field: str, end_field: str, problems: list[str]
) -> float | None:
    start, end = getattr(incident, start_field), getattr(incident, end_field)
    if start is None or end is None:
        return None
    if end < start:
        problems.append(
            f"Time to {verb} is not shown: {MILESTONE_LABELS[end_field]} is {format_duration(start - end)} "
            f"before {MILESTONE_LABELS[start_field]}."
        )
        return None
    return end - start


@dataclass(frozen=True, slots=True)
class IncidentStats:
    """The dashboard's figures over recent incidents: how many, how many open, mean time to acknowledge
    and to resolve against their targets.

    The MTTR target of 15 minutes is the platform's objective; the MTTA target of 5 minutes is the
    console's own choice (the platform sets none).
    """

    count: int
    open_count: int
    mtta_s: float | None
    mttr_s: float | None
    mtta_target_s: float = MTTA_TARGET_S
    mttr_target_s: float = MTTR_TARGET_S

    @property
    def mtta_met(self) -> bool | None:
        return None if self.mtta_s is None else self.mtta_s < self.mtta_target_s

    @property
    def mttr_met(self) -> bool | None:
        return None if self.mttr_s is None else self.mttr_s < self.mttr_target_s

    @classmethod
    def over(
        cls,
        incidents: Iterable[Incident],
        *,
        now: float,
        days: int = 30,
        mtta_target_s: float = MTTA_TARGET_S,
        mttr_target_s: float = MTTR_TARGET_S,
    ) -> IncidentStats:
        """Incidents detected (or, undetected, created) in the last `days` are counted and averaged;
        `open_count` counts every open incident, however old."""
        since = now - days * 86400.0
        count = open_count = 0
        acknowledge_times: list[float] = []
        resolve_times: list[float] = []
        for incident in incidents:
            if incident.is_active:
                open_count += 1
            began = incident.detected_at if incident.detected_at is not None else incident.created_at
            if began < since:
                continue
            count += 1
            durations = IncidentDurations.of(incident)
            if durations.time_to_acknowledge_s is not None:
                acknowledge_times.append(durations.time_to_acknowledge_s)
            if durations.time_to_resolve_s is not None:
                resolve_times.append(durations.time_to_resolve_s)
        return cls(
            count=count,
            open_count=open_count,
            mtta_s=_mean(acknowledge_times),
            mttr_s=_mean(resolve_times),
            mtta_target_s=mtta_target_s,
            mttr_target_s=mttr_target_s,
        )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def format_duration(seconds: float | None) -> str:
    """A short duration: "—" for None, then "45 s", "12 min", "1 h 05 min", "2 d 3 h".

    Rounded down; a negative duration reads as 0 s."""
    if seconds is None:
        return "—"
    whole = max(0, math.floor(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"

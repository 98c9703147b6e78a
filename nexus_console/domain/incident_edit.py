"""An incident's fields as a responder edits them (title, severity, commander, responders with their roles,
affected services, the milestone times), and the change that edit makes: only what differs, checked before it
is queued (a time that does not read, milestones out of order or in the future)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incidents import MILESTONES, Incident, Responder, order_problems
from nexus_console.domain.quick_entry import QuickEntryError, parse_moment


class IncidentEditError(ValueError):
    """What is wrong with the edit, as sentences for the responder."""


@dataclass(frozen=True, slots=True)
class IncidentForm:
    title: str
    severity: Severity
    commander: str
    responders: str  # one "email role" per line
    services: str  # comma-separated
    milestones: Mapping[str, str] = field(default_factory=dict)  # field -> "2026-12-06 14:32:10" or ""


def form_of(incident: Incident, *, now: datetime) -> IncidentForm:
    """The form filled from the incident, times in the zone of `now`."""
    times = {
        name: "" if at is None else datetime.fromtimestamp(at, now.tzinfo).strftime("%Y-%m-%d %H:%M:%S")
        for name, at in incident.milestone_times().items()
    }
    return IncidentForm(
        title=incident.title,
        severity=incident.severity,
        commander=incident.commander or "",
        responders="\n".join(f"{r.email} {r.role}" for r in incident.responders),
        services=", ".join(incident.services),
        milestones=times,
    )


def incident_changes(incident: Incident, form: IncidentForm, *, now: datetime) -> dict[str, Any]:
    """The fields the form changes (milestones as epoch seconds); raises IncidentEditError."""
    problems: list[str] = []
    changes: dict[str, Any] = {}
    title = form.title.strip()
    if not title:
        problems.append("Give the incident a title.")
    elif title != incident.title:
        changes["title"] = title
    if form.severity is not incident.severity:
        changes["severity"] = form.severity.value
    commander = form.commander.strip()
    if commander and commander != (incident.commander or ""):
        changes["commander"] = commander
    responders = _responders(form.responders, problems)
    if responders is not None and responders != incident.responders:
        changes["responders"] = [{"email": r.email, "role": r.role} for r in responders]
    services = tuple(dict.fromkeys(s.strip() for s in form.services.split(",") if s.strip()))
    if services != incident.services:
        changes["services"] = list(services)
    times = dict(incident.milestone_times())
    labels = dict(MILESTONES)
    for name, text in form.milestones.items():
        if not text.strip():
            if times.get(name) is not None:
                problems.append(f"{labels[name]} cannot be cleared once set; correct its time instead.")
            continue
        try:
            at = parse_moment(text, now=now)
        except QuickEntryError as exc:
            problems.append(f"{labels[name]}: {exc}")
            continue
        if times.get(name) is None or abs(at - (times[name] or 0.0)) >= 1.0:
            times[name] = at
            changes[name] = at
    problems.extend(order_problems(times, tz=now.tzinfo, now=now.timestamp()))
    if problems:
        raise IncidentEditError(" ".join(problems))
    return changes


def _responders(text: str, problems: list[str]) -> tuple[Responder, ...] | None:
    responders = []
    for line in text.splitlines():
        words = line.split(maxsplit=1)
        if not words:
            continue
        if len(words) < 2 or "@" not in words[0]:
            problems.append(
                f'"{line.strip()}": write a responder as an email and a role, e.g. "bo@x.com ops".'
            )
            return None
        responders.append(Responder(words[0], words[1].strip()))
    return tuple(responders)

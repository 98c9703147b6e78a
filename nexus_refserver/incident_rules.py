"""The incident model's rules: statuses and the milestones they imply, milestone order, how far ahead a
time may be, and the sentences the timeline records for each change. No I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from nexus_refserver.databases import as_utc, rfc3339

STATUSES = ("triage", "investigating", "fixing", "monitoring", "resolved", "closed")
FINAL_STATUS = "closed"
ACTIVE_STATUSES = ("triage", "investigating", "fixing", "monitoring")

# the milestones in the order their non-null times must keep
MILESTONES = (
    "impact_started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
)

# a move to the status sets these milestones when they are still null
IMPLIED_MILESTONES: dict[str, tuple[str, ...]] = {
    "triage": (),
    "investigating": ("acknowledged_at",),
    "fixing": (),
    "monitoring": ("mitigated_at",),
    "resolved": ("acknowledged_at", "mitigated_at", "resolved_at"),
    "closed": ("resolved_at", "closed_at"),
}

# entries people write; the others record what the server did and can only be hidden or pinned
EDITABLE_KINDS = ("note", "custom", "action")
FUTURE_TOLERANCE = timedelta(minutes=5)
ARROW = "→"
_QUOTED_FIELDS = ("title", "summary")
_TEXT_LIMIT = 200
_ENTRY_ORDER = {"status": 0, "severity": 1, "commander": 2, "responders": 3}


class IncidentNotFoundError(Exception):
    """404: no such incident, entry or link."""


class IncidentConflictError(Exception):
    """409: the change does not apply to the incident as it is."""


class IncidentVersionError(Exception):
    """412: someone else changed the resource between reading and writing it."""

    def __init__(self, version: int) -> None:
        super().__init__(f"the resource is at version {version}; reload it and retry")
        self.version = version


class IncidentInvalidError(Exception):
    """422: the result would break a rule (milestone order, a time in the future, an unknown entry)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def time_text(value: datetime | None) -> str:
    """RFC 3339 in UTC for sentences: whole seconds unless the value has a fraction."""
    moment = as_utc(value)
    if moment is None:
        return "none"
    spec = "seconds" if moment.microsecond == 0 else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def refuse_future(times: dict[str, datetime | None], now: datetime) -> None:
    """IncidentInvalidError when any given time is more than 5 minutes ahead of `now`."""
    limit = now + FUTURE_TOLERANCE
    late = [f"{name} ({time_text(at)})" for name, at in times.items() if at is not None and at > limit]
    if late:
        raise IncidentInvalidError(
            f"{', '.join(late)} {'is' if len(late) == 1 else 'are'} more than 5 minutes in the future "
            f"(the server's time is {time_text(now.replace(microsecond=0))})"
        )


def order_problems(state: dict[str, Any]) -> list[str]:
    """A sentence for each milestone earlier than one that must come before it; empty when in order."""
    problems: list[str] = []
    latest: tuple[str, datetime] | None = None
    for name in MILESTONES:
        at = as_utc(state.get(name))
        if at is None:
            continue
        if latest is not None and at < latest[1]:
            problems.append(f"{name} ({time_text(at)}) is before {latest[0]} ({time_text(latest[1])})")
        else:
            latest = (name, at)
    return problems


def refuse_disorder(state: dict[str, Any]) -> None:
    problems = order_problems(state)
    if problems:
        raise IncidentInvalidError(
            "; ".join(problems)
            + ". The milestones must be in the order impact started, detected, acknowledged, mitigated, "
            "resolved, closed."
        )


def apply_patch(incident_id: int, state: dict[str, Any], changes: dict[str, Any], now: datetime) -> dict:
    """The incident's state after `changes` (a PATCH body): the status implies its milestones, a closed
    incident keeps its status, times may not be in the future and must stay in order."""
    new_status = changes.get("status")
    if new_status is not None and state["status"] == FINAL_STATUS and new_status != FINAL_STATUS:
        raise IncidentConflictError(
            f"incident {incident_id} is closed, and closed is final: it cannot move to {new_status}"
        )
    refuse_future({name: changes[name] for name in MILESTONES if name in changes}, now)
    after = {**state, **changes}
    if new_status is not None and new_status != state["status"]:
        for name in IMPLIED_MILESTONES[new_status]:
            if after[name] is None:
                after[name] = now
    refuse_disorder(after)
    return after


# --- what the timeline says about a change -------------------------------------------------------------


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _value_text(name: str, value: Any) -> str:
    if name in MILESTONES:
        return time_text(value)
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    if name in _QUOTED_FIELDS:
        return json.dumps(_clip(str(value)), ensure_ascii=False)
    return _clip(str(value))


def _responders_text(before: list[dict[str, str]], after: list[dict[str, str]]) -> str:
    old = {item["email"]: item["role"] for item in before}
    new = {item["email"]: item["role"] for item in after}
    parts = [f"added {email} ({role})" for email, role in new.items() if email not in old]
    parts += [
        f"{email} is now {role} (was {old[email]})"
        for email, role in new.items()
        if email in old and old[email] != role
    ]
    parts += [f"removed {email} ({role})" for email, role in old.items() if email not in new]
    return "responders: " + ("; ".join(parts) or "reordered")


def change_entries(
    before: dict[str, Any], after: dict[str, Any], fields: list[str]
) -> list[tuple[str, str, str | None]]:
    """(kind, text, ref) of the timeline entry for each field of the request that really changed: the
    status first, then severity, roles, and the other fields in the request's order."""
    entries: list[tuple[str, str, str | None]] = []
    for name in sorted(fields, key=lambda field: _ENTRY_ORDER.get(field, len(_ENTRY_ORDER))):
        old, new = before[name], after[name]
        if old == new:
            continue
        if name in ("status", "severity"):
            entries.append((name, f"{old} {ARROW} {new}", None))
        elif name == "commander":
            entries.append(("role", f"commander: {old or 'none'} {ARROW} {new}", name))
        elif name == "responders":
            entries.append(("role", _responders_text(old, new), name))
        else:
            text = f"{name}: {_value_text(name, old)} {ARROW} {_value_text(name, new)}"
            entries.append(("field", text, name))
    return entries


# --- rows as state and as JSON -------------------------------------------------------------------------


def incident_state(row: Any) -> dict[str, Any]:
    """The fields a PATCH may change, as Python values (times as aware datetimes)."""
    state = {
        "title": row.title,
        "severity": row.severity,
        "status": row.status,
        "commander": row.commander,
        "summary": row.summary,
        "responders": json.loads(row.responders),
        "services": json.loads(row.services),
    }
    for name in MILESTONES:
        state[name] = as_utc(getattr(row, name))
    return state


def incident_json(row: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "severity": row.severity,
        "status": row.status,
        "commander": row.commander,
        "responders": json.loads(row.responders),
        "services": json.loads(row.services),
        "alert_ids": json.loads(row.alert_ids),
        "summary": row.summary,
    }
    for name in MILESTONES:
        body[name] = rfc3339(getattr(row, name))
    body.update(
        created_by=row.created_by,
        created_at=rfc3339(row.created_at),
        updated_at=rfc3339(row.updated_at),
        version=row.version,
    )
    return body


def timeline_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": rfc3339(row.at),
        "kind": row.kind,
        "author": row.author,
        "text": row.text,
        "ref": row.ref,
        "hidden": bool(row.hidden),
        "pinned": bool(row.pinned),
        "created_at": rfc3339(row.created_at or row.at),
        "edited_at": rfc3339(row.edited_at),
    }

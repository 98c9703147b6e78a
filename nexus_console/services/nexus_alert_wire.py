"""What the Nexus API sends about alerts, read defensively: an `Alert` from its JSON, and one `GET /alerts`
page checked for shape. A malformed alert is skipped and counted (the rest of the page still counts); a page
of the wrong shape is a `FetchError` naming what came instead. Nothing a server sends raises anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.alerts import Alert, AlertState, Severity, parse_rfc3339
from nexus_console.services.http import FetchError

SOURCE = "nexus"
# What parsing a hostile alert can raise (RecursionError: JSON nested thousands deep).
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, RecursionError)


def alert_from_api(raw: Mapping[str, Any]) -> Alert:
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}

    def number(key: str) -> float | None:
        value = raw.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return Alert(
        fingerprint=str(raw["fingerprint"]),
        source=SOURCE,
        name=str(raw.get("rule") or labels.get("alertname", "")),
        severity=Severity.parse(raw.get("severity")),
        state=AlertState(raw.get("state", "firing")),
        service=str(raw.get("service") or ""),
        namespace=str(raw.get("namespace") or ""),
        labels=labels,
        summary=str(raw.get("summary") or ""),
        description=str(raw.get("description") or ""),
        runbook=str(raw.get("runbook_url") or ""),
        starts_at=parse_rfc3339(raw.get("starts_at")),
        updated_at=parse_rfc3339(raw.get("updated_at")),
        ends_at=parse_rfc3339(raw.get("ends_at")),
        ack_by=raw.get("ack_by"),
        ack_at=parse_rfc3339(raw.get("ack_at")),
        ack_expires_at=parse_rfc3339(raw.get("ack_expires_at")),
        resolved_by=str(raw["resolved_by"]) if raw.get("resolved_by") else None,
        source_id=str(raw.get("id", "")),
        value=number("value"),
        threshold=number("threshold"),
        silenced_until=parse_rfc3339(raw.get("silenced_until")),
        silence_owner=str(raw["silenced_by"]) if raw.get("silenced_by") else None,
        silence_comment=str(raw.get("silence_comment") or ""),
    )


def malformed_text(exc: BaseException) -> str:
    """Why an alert could not be read: "missing 'fingerprint'", "'hot' is not a valid AlertState"."""
    if isinstance(exc, KeyError):
        return f"missing {exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at position {exc.pos}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def alert_from_event(data: str) -> Alert:
    """The alert of one `event: alert`; raises one of MALFORMED."""
    raw = json.loads(data)
    if not isinstance(raw, Mapping):
        raise TypeError(f"an alert is an object, not {type(raw).__name__}")
    return alert_from_api(raw)


@dataclass(frozen=True, slots=True)
class AlertPage:
    alerts: list[Alert]
    next_cursor: str | None
    skipped: int  # malformed alerts left out
    first_problem: str  # why the first of them was left out ("" when none)


def parse_alert_page(response: Any, path: str = "/alerts") -> AlertPage:
    """One page of `GET /alerts`: `{items: [...], next_cursor}` (or a bare list of alerts)."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        why = malformed_text(exc).removeprefix("invalid JSON: ")
        raise FetchError(f"invalid JSON from {path}: {why}") from None
    cursor: Any = None
    if isinstance(body, Mapping):
        items, cursor = body.get("items"), body.get("next_cursor")
    else:
        items = body
    if not isinstance(items, list):
        what = "an object without an items list" if isinstance(body, Mapping) else _shape(body)
        raise FetchError(f"{path} answered {what} instead of a list of alerts")
    if cursor is not None and not isinstance(cursor, str):
        raise FetchError(f"{path} answered a next_cursor that is {_shape(cursor)}, not a string")
    alerts: list[Alert] = []
    skipped, first_problem = 0, ""
    for raw in items:
        try:
            if not isinstance(raw, Mapping):
                raise TypeError(f"an alert is an object, not {_shape(raw)}")
            alerts.append(alert_from_api(raw))
        except MALFORMED as exc:
            skipped += 1
            first_problem = first_problem or malformed_text(exc)
    return AlertPage(alerts, cursor or None, skipped, first_problem)


def _shape(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else f"a {type(value).__name__}")

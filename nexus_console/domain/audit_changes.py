"""Audit entries in words: what an action changed, when, and the changes another admin made to an entity
after the version a queued action expected (what a conflict is about)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

AuditEntry = Mapping[str, Any]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def change_text(before: Any, after: Any) -> str:
    """The fields an action changed: `status: active → suspended`, `note: set to …`, `note: cleared`; a new
    record as `created: title: …; severity: high`."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        if before is None and after is None:
            return ""
        if before is None:
            return _with_fields("created", after)
        if after is None:
            return _with_fields("removed", before)
        return f"{json.dumps(before)} → {json.dumps(after)}"
    parts = []
    for key in sorted(set(before) | set(after)):
        if key == "version":
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            parts.append(f"{key}: set to {new}")
        elif new is None:
            parts.append(f"{key}: cleared (was {old})")
        else:
            parts.append(f"{key}: {old} → {new}")
    return "; ".join(parts)


def when_text(at: Any) -> str:
    """'2026-12-06 14:02:11' in local time from the API's RFC 3339 time (no microseconds, no offset)."""
    try:
        moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return str(at)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _version(state: Any) -> int | None:
    value = state.get("version") if isinstance(state, Mapping) else None
    return value if isinstance(value, int) else None


def changes_since(entries: Iterable[AuditEntry], version: int) -> list[str]:
    """One line per audited change that took the entity past `version`, oldest first: `v5 → v6 ·
    2026-12-06 14:02:11 · ann@nexus.test · user.reset_password (“user asked”): password_reset_at: …`."""
    later = [e for e in entries if (_version(e.get("after")) or 0) > version]
    later.sort(key=lambda e: _version(e.get("after")) or 0)
    lines = []
    for entry in later:
        before, after = entry.get("before"), entry.get("after")
        step = f"v{_version(before) or '?'} → v{_version(after)}"
        reason = f" (“{entry['reason']}”)" if entry.get("reason") else ""
        change = change_text(before, after) or "no field changed"
        who = f"{when_text(entry.get('at'))} · {entry.get('actor')} · {entry.get('action')}"
        lines.append(f"{step} · {who}{reason}: {change}")
    return lines


def fields_text(state: Mapping[str, Any]) -> str:
    """A record as `key: value` lines (the server's state of a conflict, when its history cannot be read)."""
    return "\n".join(f"{key}: {_value_text(value)}" for key, value in sorted(state.items()))


def _value_text(value: Any) -> str:
    """A value as words: `—` for none, a JSON object (platform access) as `workstation: editor, …`."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _RFC3339.match(value):
        return when_text(value)
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {inner}" for key, inner in value.items()) or "none"
    return str(value)


def _with_fields(what: str, record: Any, limit: int = 6) -> str:
    """`created: title: DB down; severity: high`: the first few fields that say something (no ids, versions
    or empty values)."""
    if not isinstance(record, Mapping):
        return what
    shown = [
        f"{key}: {value}"
        for key, value in record.items()
        if key not in ("id", "version") and value not in (None, "", [], {})
    ]
    if not shown:
        return what
    return f"{what}: " + "; ".join(shown[:limit]) + ("; …" if len(shown) > limit else "")

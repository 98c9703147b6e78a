"""The audit trail as a table (GET /audit entries); services/audit_trail.py fetches and exports them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from nexus_console.models.entry_table import EntryTableModel

Index = QModelIndex | QPersistentModelIndex
AuditEntry = Mapping[str, Any]

COLUMNS = ("When", "Who", "Action", "Entity", "Reason", "Change")


def change_text(before: Any, after: Any) -> str:
    """The fields an action changed: `status: active → suspended`, `note: set to …`, `note: cleared`."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        if before is None and after is None:
            return ""
        if before is None:
            return f"created: {json.dumps(after)}"
        if after is None:
            return f"removed: {json.dumps(before)}"
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


class AuditTableModel(EntryTableModel[AuditEntry]):
    columns = COLUMNS

    def set_entries(self, entries: Sequence[AuditEntry]) -> None:
        """A new page of results (other filters)."""
        self.reset_items(entries)

    def append(self, entries: Sequence[AuditEntry]) -> None:
        self.append_items(entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        entry = self._items[index.row()]
        column = COLUMNS[index.column()] if 0 <= index.column() < len(COLUMNS) else None
        if column == "When":
            return when_text(entry.get("at", ""))
        if column == "Who":
            return str(entry.get("actor", ""))
        if column == "Action":
            return str(entry.get("action", ""))
        if column == "Entity":
            return f"{entry.get('entity_type')}:{entry.get('entity_id')}"
        if column == "Reason":
            return entry.get("reason") or ""
        if column == "Change":
            return change_text(entry.get("before"), entry.get("after"))
        return None

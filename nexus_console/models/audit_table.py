"""The audit trail as a table (GET /audit entries), and its CSV export."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from nexus_console.models.entry_table import EntryTableModel

Index = QModelIndex | QPersistentModelIndex
AuditEntry = Mapping[str, Any]

COLUMNS = ("When", "Who", "Action", "Entity", "Reason", "Change")
CSV_FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "reason",
    "before",
    "after",
    "idempotency_key",
)


def change_text(before: Any, after: Any) -> str:
    """The fields an action changed: `status: active → suspended`."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        if before is None and after is None:
            return ""
        return f"{json.dumps(before)} → {json.dumps(after)}"
    parts = []
    for key in sorted(set(before) | set(after)):
        if key == "version":
            continue
        if before.get(key) != after.get(key):
            parts.append(f"{key}: {before.get(key)} → {after.get(key)}")
    return "; ".join(parts)


def write_audit_csv(entries: Sequence[AuditEntry], path: Path) -> int:
    """Write the entries as CSV (before/after as JSON text); returns the number of rows written."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for entry in entries:
            record = {name: entry.get(name) for name in CSV_FIELDS}
            for name in ("before", "after"):
                record[name] = "" if record[name] is None else json.dumps(record[name], sort_keys=True)
            writer.writerow(record)
    return len(entries)


class AuditTableModel(EntryTableModel[AuditEntry]):
    columns = COLUMNS

    def set_entries(self, entries: Sequence[AuditEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def append(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        first = len(self._entries)
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        self._entries.extend(entries)
        self.endInsertRows()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        entry = self._entries[index.row()]
        column = COLUMNS[index.column()] if 0 <= index.column() < len(COLUMNS) else None
        if column == "When":
            return str(entry.get("at", "")).replace("T", " ")
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

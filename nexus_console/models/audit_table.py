"""The audit trail as a table (GET /audit entries); services/audit_trail.py fetches and exports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from nexus_console.domain.audit_changes import change_text, when_text
from nexus_console.models.entry_table import EntryTableModel

Index = QModelIndex | QPersistentModelIndex
AuditEntry = Mapping[str, Any]

COLUMNS = ("When", "Who", "Action", "Entity", "Reason", "Change")


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

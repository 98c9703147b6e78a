"""The action queue as a table: every outbox entry with its age and state."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush

from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from nexus_console.models.entry_table import EntryTableModel
from nexus_console.models.row_tints import (
    APPLIED_TINT,
    CANCELLED_TINT,
    PROBLEM_TINT,
    QUEUED_TINT,
    SENDING_TINT,
)

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("#", "Entity", "Action", "Reason", "State", "Age", "Attempts", "Last answer")

STATE_COLOURS = {
    OutboxState.QUEUED: QUEUED_TINT,
    OutboxState.SENDING: SENDING_TINT,
    OutboxState.APPLIED: APPLIED_TINT,
    OutboxState.CONFLICT: PROBLEM_TINT,
    OutboxState.FAILED: PROBLEM_TINT,
    OutboxState.CANCELLED: CANCELLED_TINT,
}


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def state_text(entry: OutboxEntry) -> str:
    if entry.state is OutboxState.QUEUED and entry.ever_sent:
        return "queued (retrying)"
    return entry.state.value


class OutboxTableModel(EntryTableModel[OutboxEntry]):
    columns = COLUMNS

    def __init__(self, *, clock: Callable[[], float] = time.time, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock

    def set_entries(self, entries: Sequence[OutboxEntry]) -> None:
        """Replace the list; same ids in the same order is a dataChanged, so selection survives."""
        self.replace_items(entries, changed_all=True, key=lambda entry: entry.id)

    def tick(self) -> None:
        """Ages move on."""
        column = COLUMNS.index("Age")
        self.announce_all(first_column=column, last_column=column)

    def row_of(self, entry_id: int) -> int | None:
        for row, entry in enumerate(self._items):
            if entry.id == entry_id:
                return row
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        entry = self._items[index.row()]
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(STATE_COLOURS[entry.state])
        if role == Qt.ItemDataRole.UserRole:
            return entry.id
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        column = COLUMNS[index.column()] if 0 <= index.column() < len(COLUMNS) else None
        if column == "#":
            return str(entry.id)
        if column == "Entity":
            return str(entry.entity)
        if column == "Action":
            params = ", ".join(f"{k}={v}" for k, v in entry.params.items())
            return f"{entry.action} ({params})" if params else entry.action
        if column == "Reason":
            return entry.reason or ""
        if column == "State":
            return state_text(entry)
        if column == "Age":
            return age_text(self.clock() - entry.created_at)
        if column == "Attempts":
            return str(entry.attempts)
        if column == "Last answer":
            if entry.state is OutboxState.APPLIED:
                return f"applied as v{entry.applied_version}" if entry.applied_version else "applied"
            if entry.last_error:
                return entry.last_error
            return ""
        return None

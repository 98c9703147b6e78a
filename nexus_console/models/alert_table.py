"""The alert queue as a Qt table model: one row per alert of the queue's store, in store order.

Sources buffer their updates in the queue; the alert runtime drains it every 150 ms, which applies them
as ONE StoreChange on the queue's `changes` feed. The model watches that feed synchronously (every change,
in order: it mirrors the store's row numbers in its own list) and forwards each change as batched
notifications, never a reset:

1. the removed ranges, highest first (one beginRemoveRows each),
2. one dataChanged over the span of changed rows,
3. one beginInsertRows for the appended rows.

Changes applied directly (an ack, a local rule evaluation, an expired ack) arrive the same way. After each
batch `batch_applied` carries the keys involved, which the filter/sort proxy uses to update incrementally.

The model also keeps the links between alerts of different sources about one problem (`links`,
`domain.alert_links`): a batch that changes a group names its other members as changed too, the source
cell lists every source of the group ("nexus + local"), and the proxy folds the others into the primary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from nexus_console.domain.alert_actions import silence_text
from nexus_console.domain.alert_links import AlertLinks, also_raised_text
from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import Alert, AlertState, Severity, StoreChange
from nexus_console.models.table_base import TableModel
from nexus_console.workers.bridge import FeedWatcher, Watchable

COLUMNS = ("severity", "state", "age", "service", "summary", "source", "owner")
SEVERITY_COLUMN, STATE_COLUMN, AGE_COLUMN, SERVICE_COLUMN, SUMMARY_COLUMN, SOURCE_COLUMN, OWNER_COLUMN = (
    range(7)
)

ALERT_ROLE = Qt.ItemDataRole.UserRole + 1  # the domain Alert
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a value that orders the column
KEY_ROLE = Qt.ItemDataRole.UserRole + 3  # Alert.key
MARKED_ROLE = Qt.ItemDataRole.UserRole + 4  # marked for a bulk action
STALE_ROLE = Qt.ItemDataRole.UserRole + 5  # its source is failing: the row is the last known picture
# (text, foreground, background, font) in one call: what the table's delegate paints (views/alerts/cells.py)
CELL_ROLE = Qt.ItemDataRole.UserRole + 6

SEVERITY_COLOURS = {
    Severity.CRITICAL: "#ff4d4f",
    Severity.HIGH: "#ff9f43",
    Severity.MEDIUM: "#f0d050",
    Severity.LOW: "#8ab4f8",
}
STATE_COLOURS = {
    AlertState.FIRING: "#ff6b5e",
    AlertState.PENDING: "#f0d050",
    AlertState.ACKNOWLEDGED: "#6fd08c",
    AlertState.SILENCED: "#9aa0a6",
    AlertState.RESOLVED: "#9aa0a6",
}
MARKED_BACKGROUND = "#2c3f5a"
STALE_FOREGROUND = "#6b7078"
# Firing first when a column sorts descending.
STATE_ORDER = {
    AlertState.FIRING: 4,
    AlertState.PENDING: 3,
    AlertState.ACKNOWLEDGED: 2,
    AlertState.SILENCED: 1,
    AlertState.RESOLVED: 0,
}


def format_age(seconds: float) -> str:
    """'42s', '12m', '3h 05m', '2d 4h': short enough for a table cell, precise enough to triage."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def state_text(alert: Alert, now: float) -> str:
    """The state cell: a pending countdown, the ack's age and how long until it times out, or until when,
    by whom and why it is silenced."""
    if alert.state is AlertState.PENDING:
        return alert.pending_label(now) or "pending"
    if alert.state is AlertState.ACKNOWLEDGED:
        text = "acknowledged"
        ack_age = alert.ack_age_s(now)
        if ack_age is not None:
            text += f" {format_age(ack_age)} ago"
        if alert.ack_expires_at is not None:
            text += f", back in {format_age(alert.ack_expires_at - now)}"
        return text
    if alert.state is AlertState.SILENCED and alert.inhibited_by and not alert.silenced_by:
        return "inhibited"
    return silence_text(alert, now) or alert.state.value


def owner(alert: Alert) -> str:
    """Who handles it: the one who acknowledged or silenced it; on a resolved alert, who resolved it."""
    return alert.ack_by or alert.silence_owner or alert.resolved_by or ""


def sort_value(alert: Alert, column: int) -> Any:
    """What orders a column (the SORT_ROLE value); ties keep the newest alert first when descending."""
    starts = alert.starts_at or 0.0
    if column == SEVERITY_COLUMN:
        return (alert.severity.rank, starts)
    if column == STATE_COLUMN:
        return (STATE_ORDER[alert.state], starts)
    if column == AGE_COLUMN:
        return (-starts, 0.0)
    if column == SERVICE_COLUMN:
        return (alert.service.lower(), starts)
    if column == SUMMARY_COLUMN:
        return ((alert.summary or alert.name).lower(), starts)
    if column == SOURCE_COLUMN:
        return (alert.source, starts)
    return (owner(alert).lower(), starts)


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """The keys one StoreChange touched, for the proxy."""

    removed: tuple[str, ...]
    changed: tuple[str, ...]
    inserted: tuple[str, ...]


class AlertTableModel(TableModel):
    batch_applied = Signal(object)  # AlertBatch, after the model has announced the change
    ages_changed = Signal()  # the age column (and pending countdowns) moved on

    def __init__(
        self,
        store: AlertStore,
        changes: Watchable[StoreChange],
        *,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        """`store` is the queue's store and `changes` its feed of applied changes (`AlertQueue.changes`)."""
        super().__init__(parent, headers=COLUMNS)
        self.store = store
        self.clock = clock
        self.marked: set[str] = set()
        self.stale_sources: frozenset[str] = frozenset()
        self._alerts: list[Alert] = list(store)
        self._by_key: dict[str, Alert] = {alert.key: alert for alert in self._alerts}
        self.links = AlertLinks(self._alerts)
        self._watcher = FeedWatcher(changes, self._on_change, batch_ms=None, parent=self)
        self._bold = QFont()
        self._bold.setBold(True)
        self._severity_brushes = {s: QBrush(QColor(c)) for s, c in SEVERITY_COLOURS.items()}
        self._state_brushes = {s: QBrush(QColor(c)) for s, c in STATE_COLOURS.items()}
        self._marked_brush = QBrush(QColor(MARKED_BACKGROUND))
        self._stale_brush = QBrush(QColor(STALE_FOREGROUND))

    # ---- feeding ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop following the queue."""
        self._watcher.close()

    def refresh_ages(self) -> None:
        """The age and state (countdown) cells read the clock: repaint them, as one dataChanged."""
        self.announce_all(
            first_column=STATE_COLUMN, last_column=AGE_COLUMN, roles=[Qt.ItemDataRole.DisplayRole]
        )
        self.ages_changed.emit()

    def _on_change(self, change: StoreChange) -> None:
        store = self.store
        removed_keys: list[str] = []
        for first, last in change.removed:
            removed_keys.extend(alert.key for alert in self._alerts[first : last + 1])
            with self.removing(first, last):
                del self._alerts[first : last + 1]
        for key in removed_keys:
            self.marked.discard(key)
            self._by_key.pop(key, None)
        changed_keys: list[str] = []
        if change.changed:
            for row in change.changed:
                alert = store.at_row(row)
                self._alerts[row] = alert
                self._by_key[alert.key] = alert
                changed_keys.append(alert.key)
            self.announce_span(change.changed[0], change.changed[-1])
        inserted_keys: list[str] = []
        if len(change.inserted):
            new = [store.at_row(row) for row in change.inserted]
            inserted_keys = [alert.key for alert in new]
            with self.inserting(change.inserted.start, len(new)):
                self._alerts.extend(new)
                self._by_key.update(zip(inserted_keys, new, strict=True))
        changed_keys += self._relink(removed_keys, changed_keys, inserted_keys)
        self.batch_applied.emit(AlertBatch(tuple(removed_keys), tuple(changed_keys), tuple(inserted_keys)))

    def _relink(self, removed: list[str], changed: list[str], inserted: list[str]) -> list[str]:
        """Update the links; the rows of other alerts whose group changed are announced, and returned."""
        by_key = self._by_key
        affected = self.links.update((by_key[key] for key in (*changed, *inserted)), removed)
        others = sorted(affected.difference(changed, inserted))
        for key in others:
            self._announce_key(key)
        return others

    def set_stale_sources(self, sources: frozenset[str]) -> None:
        """Grey the rows of sources that are failing (their alerts are the last known picture)."""
        if sources != self.stale_sources:
            self.stale_sources = sources
            self.announce_all(roles=[Qt.ItemDataRole.ForegroundRole, STALE_ROLE])

    # ---- marks -----------------------------------------------------------------------------------

    def toggle_mark(self, key: str) -> bool:
        """Mark or unmark an alert for a bulk action; returns whether it is now marked."""
        if key in self.marked:
            self.marked.discard(key)
            marked = False
        else:
            if self.store.get(key) is None:
                return False
            self.marked.add(key)
            marked = True
        self._announce_key(key)
        return marked

    def clear_marks(self) -> None:
        keys, self.marked = self.marked, set()
        for key in keys:
            self._announce_key(key)

    def marked_alerts(self) -> list[Alert]:
        return self.alerts_for_keys(sorted(self.marked))

    def _announce_key(self, key: str) -> None:
        row = self.store.row_of(key)
        if row is not None and row < len(self._alerts):
            self.announce_span(row, row)

    # ---- reading ---------------------------------------------------------------------------------

    def alert_at(self, row: int) -> Alert:
        return self._alerts[row]

    def alert_for_key(self, key: str) -> Alert | None:
        return self._by_key.get(key)

    def alerts_for_keys(self, keys: list[str]) -> list[Alert]:
        by_key = self._by_key
        return [by_key[key] for key in keys if key in by_key]

    def row_of_key(self, key: str) -> int | None:
        return self.store.row_of(key)

    def alerts(self) -> list[Alert]:
        return list(self._alerts)

    def row_count(self) -> int:
        return len(self._alerts)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if row >= len(self._alerts) or column >= len(COLUMNS):
            return None
        return self.cell(self._alerts[row], column, role)

    def cell(self, alert: Alert, column: int, role: int) -> Any:
        """What a cell of `alert` shows for `role` (the filter proxy asks this by key, without indexes)."""
        if role not in _ROLES:
            return None  # most of what a view asks per cell (size hint, check state, decoration, ...)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(alert, column)
        if role == CELL_ROLE:  # the roles below, in one call (a repaint asks it for every cell)
            if alert.source in self.stale_sources:
                foreground = self._stale_brush
            elif column == SEVERITY_COLUMN:
                foreground = self._severity_brushes[alert.severity]
            elif column == STATE_COLUMN:
                foreground = self._state_brushes[alert.state]
            else:
                foreground = None
            critical = column == SEVERITY_COLUMN and alert.severity is Severity.CRITICAL
            return (
                self._display(alert, column),
                foreground,
                self._marked_brush if alert.key in self.marked else None,
                self._bold if critical else None,
            )
        if role == ALERT_ROLE:
            return alert
        if role == KEY_ROLE:
            return alert.key
        if role == SORT_ROLE:
            return sort_value(alert, column)
        if role == MARKED_ROLE:
            return alert.key in self.marked
        if role == STALE_ROLE:
            return alert.source in self.stale_sources
        if role == Qt.ItemDataRole.ForegroundRole:
            if alert.source in self.stale_sources:
                return self._stale_brush
            if column == SEVERITY_COLUMN:
                return self._severity_brushes[alert.severity]
            if column == STATE_COLUMN:
                return self._state_brushes[alert.state]
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._marked_brush if alert.key in self.marked else None
        if role == Qt.ItemDataRole.FontRole:
            if column == SEVERITY_COLUMN and alert.severity is Severity.CRITICAL:
                return self._bold
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(alert, self.links)
        return None

    def _display(self, alert: Alert, column: int) -> str:
        if column == SEVERITY_COLUMN:
            mark = "● " if alert.key in self.marked else ""
            return mark + alert.severity.value
        if column == STATE_COLUMN:
            return state_text(alert, self.clock())
        if column == AGE_COLUMN:
            return format_age(alert.age_s(self.clock())) if alert.starts_at is not None else "—"
        if column == SERVICE_COLUMN:
            return alert.service or alert.namespace or "—"
        if column == SUMMARY_COLUMN:
            return alert.summary or alert.name
        if column == SOURCE_COLUMN:
            text = alert.source
            if alert.source == "alertmanager" and len(alert.origins) > 1:
                text = f"alertmanager ×{len(alert.origins)}"
            linked = dict.fromkeys(other.source for other in self.links.others(alert.key))
            return " + ".join((text, *linked))
        return owner(alert)


_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.ToolTipRole,
        CELL_ROLE,
        ALERT_ROLE,
        KEY_ROLE,
        SORT_ROLE,
        MARKED_ROLE,
        STALE_ROLE,
    }
)


def _tooltip(alert: Alert, links: AlertLinks) -> str:
    lines = [f"{alert.name} [{alert.severity.value}]", alert.summary]
    if alert.description:
        lines.append(alert.description)
    if alert.ack_by:
        lines.append(f"acknowledged by {alert.ack_by}")
    lines.append(also_raised_text(links.others(alert.key)))
    return "\n".join(line for line in lines if line)

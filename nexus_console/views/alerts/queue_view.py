"""The Alerts pane's queue: the group list, the alert table (model and filter/sort proxy) and the detail,
with the keyboard of the table.

Keys in the table: j / k move, Enter opens the details, m marks for a bulk action. The pane's keys
(a acknowledges, r resolves, s silences, i declares an incident, / focuses the filter, g changes the
grouping) are passed on as `command`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableView,
    QWidget,
)

from nexus_console.domain.alert_filter import AlertFilter, parse_filter
from nexus_console.domain.alert_grouping import group_alerts
from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import Alert, StoreChange
from nexus_console.domain.freshness import SourceStatus, stale_text
from nexus_console.domain.prom_metrics import MetricsHistory
from nexus_console.models.alert_proxy import AlertFilterProxy
from nexus_console.models.alert_table import COLUMNS, SEVERITY_COLOURS, SUMMARY_COLUMN, AlertTableModel
from nexus_console.views.alerts.cells import AlertCellDelegate
from nexus_console.views.alerts.detail import AlertDetail
from nexus_console.views.table_view import row_table
from nexus_console.workers.bridge import Watchable

# summary (4) takes the spare width; the others what their values need (a silence's state is the longest)
COLUMN_WIDTHS = (72, 110, 60, 210, 0, 110, 140)
TIME_FILTER_FIELDS = ("@age", "@ack_age")
HIDE_RESOLVED = "@state!=resolved"
LARGE_QUEUE = 20_000  # above this many shown alerts, group counts refresh every few seconds, not every tick
LARGE_QUEUE_GROUPS_S = 5.0
MAX_GROUPS = 500
# Keys of the table that the pane acts on, and the command each one sends.
PANE_KEYS = {
    "a": "acknowledge",
    "r": "resolve",
    "s": "silence",
    "/": "filter",
    "g": "grouping",
    "i": "incident",
}


class AlertQueueView(QSplitter):
    command = Signal(str)  # one of PANE_KEYS' values: the pane acts on it
    group_chosen = Signal()  # a group was chosen in the list: the pane applies the filter again
    marks_changed = Signal()
    history_wanted = Signal(str)  # the key of the alert whose transitions the detail needs (again)

    def __init__(
        self,
        store: AlertStore,
        changes: Watchable[StoreChange],
        *,
        runbook_base: str = "",
        clock: Callable[[], float] = time.time,
        list_font: QFont | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.clock = clock
        self.group_by = "service"
        self.group_filter = ""  # the filter term of the chosen group ("" = all)
        self._groups_dirty = True
        self._groups_at = 0.0
        self._sized = False
        self._closed = False

        self.model = AlertTableModel(store, changes, clock=clock, parent=self)
        self.proxy = AlertFilterProxy(clock=clock, parent=self)
        self.proxy.setSourceModel(self.model)
        self.proxy.rows_updated.connect(self._on_rows_updated)

        self.groups = QListWidget(self)
        self.groups.setObjectName("alertGroups")
        self.groups.setMinimumWidth(120)
        self.groups.setMaximumWidth(320)
        if list_font is not None:
            self.groups.setFont(list_font)  # monospace: the counts line up
        self.groups.itemActivated.connect(self._group_activated)
        self.groups.itemClicked.connect(self._group_activated)
        self.table = self._build_table()
        self._typed_filter = ""
        self.empty_label = QLabel(self.table.viewport())
        self.empty_label.setObjectName("alertQueueEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("QLabel { color: #8a8f98; padding: 24px; }")
        self.empty_label.hide()
        self.detail = AlertDetail(runbook_base, self)

        self.addWidget(self.groups)
        self.addWidget(self.table)
        self.addWidget(self.detail)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.setStretchFactor(2, 0)
        self.setChildrenCollapsible(False)

    def _build_table(self) -> QTableView:
        table = row_table(self.proxy, "alertTable", self, row_height=20, stretch_column=SUMMARY_COLUMN)
        table.setItemDelegate(AlertCellDelegate(table))
        header = table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(self.proxy.sort_column, self.proxy.sort_order)
        header.sortIndicatorChanged.connect(self.proxy.sort)
        for column, width in enumerate(COLUMN_WIDTHS[: len(COLUMNS)]):
            if column != SUMMARY_COLUMN:
                table.setColumnWidth(column, width)
        table.installEventFilter(self)
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        return table

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:
            QTimer.singleShot(0, self._size_columns)  # once the layout has given the splitter its width

    def _size_columns(self) -> None:
        """The queue gets the width; groups and details what they need. Once, at the first real width;
        after that the user's splitter positions stand."""
        width = self.width()
        if self._sized or self._closed or not self.isVisible() or width < 600:
            return
        self._sized = True
        detail = min(560, int(width * 0.38))
        self.setSizes([240, width - 240 - detail, detail])

    def shutdown(self) -> None:
        self._closed = True
        self.model.shutdown()

    # ---- the keyboard ----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._table_key(event)
        return super().eventFilter(watched, event)

    def _table_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        key, text = event.key(), event.text()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_details()
        elif text == "j":
            self.move_selection(1)
        elif text == "k":
            self.move_selection(-1)
        elif text == "m":
            self.toggle_mark()
        elif text in PANE_KEYS:
            self.command.emit(PANE_KEYS[text])
        else:
            return False
        return True

    # ---- selection and marks ---------------------------------------------------------------------

    def move_selection(self, step: int) -> None:
        rows = self.proxy.rowCount()
        if not rows:
            return
        current = self.table.currentIndex()
        row = current.row() + step if current.isValid() else 0
        self.select_row(max(0, min(rows - 1, row)))

    def select_row(self, row: int) -> None:
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def select_key(self, key: str) -> bool:
        row = self.proxy.row_of_key(key)
        if row is None:
            return False
        self.select_row(row)
        return True

    def current_alert(self) -> Alert | None:
        index = self.table.currentIndex()
        return self.proxy.alert_at(index.row()) if index.isValid() else None

    def targets(self) -> list[Alert]:
        """The marked alerts, else the selected one."""
        marked = self.model.marked_alerts()
        if marked:
            return marked
        current = self.current_alert()
        return [current] if current is not None else []

    def toggle_mark(self) -> None:
        alert = self.current_alert()
        if alert is not None:
            self.model.toggle_mark(alert.key)
            self.move_selection(1)
            self.marks_changed.emit()

    def clear_marks(self) -> None:
        self.model.clear_marks()
        self.marks_changed.emit()

    def counts_text(self) -> str:
        total, shown = len(self.model.store), self.proxy.rowCount()
        text = f"{shown:,} shown" if shown == total else f"{shown:,} of {total:,} shown"
        if self.model.marked:
            text += f" · {len(self.model.marked)} marked"
        return text

    # ---- the detail ------------------------------------------------------------------------------

    def open_details(self) -> None:
        alert = self.current_alert()
        if alert is None:
            return
        self.detail.tabs.setCurrentWidget(self.detail.info)
        self.show_detail(alert)
        self.detail.info.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_detail(self, alert: Alert | None, *, load_history: bool = True) -> None:
        previous = self.detail.alert
        linked = self.model.links.others(alert.key) if alert is not None else ()
        self.detail.show_alert(alert, self.clock(), linked)
        if alert is not None and (load_history or previous is None or previous.key != alert.key):
            self.history_wanted.emit(alert.key)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_detail(self.proxy.alert_at(current.row()) if current.isValid() else None)

    def _on_rows_updated(self) -> None:
        self._groups_dirty = True
        self._follow_current()

    def _follow_current(self) -> None:
        """The detail shows the current row: a new state of it, or nothing once it left the queue (resolved,
        or filtered out) — never an alert the queue no longer lists."""
        current, shown = self.current_alert(), self.detail.alert
        if current is not None and current is not shown:
            # A new state is a new transition: read the history again.
            self.show_detail(current, load_history=shown is None or shown.state is not current.state)
        elif current is None and shown is not None:
            self.show_detail(None)
        self._show_empty_state()

    def _show_empty_state(self) -> None:
        """Over an empty table, why it is empty: nothing matches the filter, or nothing needs anyone."""
        empty = self.proxy.rowCount() == 0
        if empty:
            typed = " ".join([self._typed_filter, self.group_filter]).strip()
            self.empty_label.setText(
                f"No alert matches “{typed}”. Change or clear the filter (/) to see the rest of the queue."
                if typed
                else "No open alerts: nothing needs anyone right now."
            )
            self.empty_label.resize(self.table.viewport().size())
        self.empty_label.setVisible(empty)

    def tick(self, now: float, metrics: SourceStatus[Any] | None) -> None:
        """The clock moved on: ages and countdowns, time-based filters, groups, the detail and its chart
        (the service's ring buffer from the metrics source)."""
        self.model.refresh_ages()
        alert_filter = self.proxy.alert_filter
        if alert_filter is not None and any(
            t.field.lower() in TIME_FILTER_FIELDS for t in alert_filter.terms
        ):
            self.proxy.refilter()
        large = self.proxy.rowCount() > LARGE_QUEUE
        if self._groups_dirty and (not large or now - self._groups_at >= LARGE_QUEUE_GROUPS_S):
            self.refresh_groups()
        if self.detail.alert is not None:
            current = self.model.store.get(self.detail.alert.key)
            if current is not None:
                self.detail.refresh(current, now, self.model.links.others(current.key))
        history: MetricsHistory | None = None
        metrics_stale = None
        if metrics is not None and metrics.last_good is not None:
            history = getattr(metrics.last_good.value, "history", None)
            metrics_stale = stale_text(metrics, now)
        self.detail.redraw_chart(history, now, metrics_stale)

    # ---- filter and groups -----------------------------------------------------------------------

    def set_filter(self, alert_filter: AlertFilter) -> AlertFilter:
        """Show the alerts `alert_filter` matches within the chosen group; resolved ones only when the
        filter asks for a state (the queue is for what still needs someone; history keeps the rest)."""
        self._typed_filter = alert_filter.text.strip()
        extra = [self.group_filter] if self.group_filter else []
        if not any(term.field.lower() == "@state" for term in alert_filter.terms):
            extra.append(HIDE_RESOLVED)
        if extra:
            alert_filter = parse_filter(" ".join([alert_filter.text, *extra]))
        self.proxy.set_filter(alert_filter)
        self._follow_current()
        return alert_filter

    def set_group_by(self, field: str) -> None:
        """Group by another field; the chosen group is forgotten (the pane applies the filter again)."""
        self.group_by = field
        self.group_filter = ""
        self._groups_dirty = True

    def refresh_groups(self) -> None:
        """The group list: one entry per value of the grouping field, with counts, most urgent first."""
        self._groups_dirty = False
        self._groups_at = self.clock()
        groups = group_alerts(self.proxy.visible_alerts(), self.group_by)
        self.groups.clear()
        all_item = QListWidgetItem(f"{self.proxy.rowCount():>5}  all (by {self.group_by})")
        all_item.setData(Qt.ItemDataRole.UserRole, None)
        self.groups.addItem(all_item)
        for group in groups[:MAX_GROUPS]:
            label = f"{group.count:>5}  {group.value}"
            if group.unhandled:
                label += f"  ({group.unhandled} firing)"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, group.value)
            item.setToolTip(f"{group.value}: {group.count} alerts, {group.unhandled} firing unhandled")
            item.setForeground(QBrush(QColor(SEVERITY_COLOURS[group.worst])))
            self.groups.addItem(item)

    def group_counts(self) -> dict[str, int]:
        """{group value: count} as the group list shows it."""
        return {
            group.value: group.count for group in group_alerts(self.proxy.visible_alerts(), self.group_by)
        }

    def _group_activated(self, item: QListWidgetItem) -> None:
        value = item.data(Qt.ItemDataRole.UserRole)
        if value is None:
            self.group_filter = ""
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            self.group_filter = "" if value == "(none)" else f'{self.group_by}="{escaped}"'
        self.group_chosen.emit()

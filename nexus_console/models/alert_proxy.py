"""Filtering and sorting of the alert table, incrementally, for 100k alerts.

QSortFilterProxyModel compares rows by calling the source's data() from C++ for every comparison: with a
Python model that is 16 s to sort 100k rows on this machine. This proxy keeps the visible rows as a list of
alert keys and, per batch of the source (`AlertTableModel.batch_applied`), filters only the touched
alerts, keeps every alert's SORT_ROLE value in a dict and re-sorts with Python's sort, which is close to
linear on an order that was already sorted. The view hears one layout change per batch (persistent indexes
follow their alerts), never a reset; a batch that moves nothing is one dataChanged.

A new filter (a keystroke in the filter bar) asks the `AlertIndex` which alerts match and takes them from
the whole queue kept in sort order, so it neither judges every alert on every term nor sorts again.

Alerts of different sources about one problem (the source model's `links`) are one row: an alert folded
into its group's primary is hidden while the primary passes the filter (like karma's dedup), so counts and
groups count the problem once; a filter that hides the primary (`@source=local`) shows the other again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from itertools import filterfalse
from typing import Any

from PySide6.QtCore import (
    QAbstractProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from nexus_console.domain.alert_filter import AlertFilter
from nexus_console.domain.alert_index import AlertIndex, OrderedAlerts
from nexus_console.domain.alerts import Alert
from nexus_console.domain.sorted_merge import merge_sorted
from nexus_console.models.alert_table import (
    AGE_COLUMN,
    COLUMNS,
    SEVERITY_COLUMN,
    STATE_COLUMN,
    AlertBatch,
    AlertTableModel,
    sort_value,
)

_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


class AlertFilterProxy(QAbstractProxyModel):
    rows_updated = Signal()  # after every change of the visible rows (counts, groups, badges)

    def __init__(self, *, clock: Callable[[], float] = time.time, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.alert_filter: AlertFilter | None = None
        self.sort_column = SEVERITY_COLUMN
        self.sort_order = Qt.SortOrder.DescendingOrder
        self._order: list[str] = []
        self._row_of_cache: dict[str, int] | None = {}  # built when first asked after an order change
        self._sort_values: dict[str, Any] = {}  # every alert's value in the sort column
        self._all_sorted: list[str] = []  # every alert in sort order (when not `_all_dirty`)
        self._all_dirty = True
        self._added: list[str] = []  # alerts that arrived since `_all_sorted` was last put in order
        self._index = AlertIndex()
        self._all_view: OrderedAlerts = self._index.ordered([])  # the same, with what filters read
        self._source: AlertTableModel | None = None

    # ---- wiring ----------------------------------------------------------------------------------

    def setSourceModel(self, source: AlertTableModel) -> None:  # type: ignore[override]
        if self._source is not None:
            self._source.batch_applied.disconnect(self._on_batch)
            self._source.ages_changed.disconnect(self._on_ages)
        self.beginResetModel()
        super().setSourceModel(source)
        self._source = source
        self._rebuild()
        self.endResetModel()
        source.batch_applied.connect(self._on_batch)
        source.ages_changed.connect(self._on_ages)
        self.rows_updated.emit()

    def source(self) -> AlertTableModel:
        assert self._source is not None, "no source model"
        return self._source

    # ---- filter and sort -------------------------------------------------------------------------

    def set_filter(self, alert_filter: AlertFilter | None) -> None:
        """Show only the alerts the filter matches (None: all)."""
        self.alert_filter = alert_filter if alert_filter is not None and alert_filter.terms else None
        self.refilter()

    def refilter(self) -> None:
        """Evaluate the filter on every alert again (time-based terms such as @age>10m move on)."""
        self._relayout(self._full_order)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        if column != self.sort_column and self._source is not None:
            self._sort_values = {a.key: sort_value(a, column) for a in self._source.alerts()}
        self.sort_column, self.sort_order = column, order
        self._all_dirty = True
        self._relayout(self._full_order)

    def accepts(self, alert: Alert, now: float) -> bool:
        return self.alert_filter is None or self.alert_filter.matches(alert, now)

    def shows(self, alert: Alert, now: float) -> bool:
        """The filter accepts it, and it is not folded into a linked alert that is shown."""
        return self.accepts(alert, now) and not self._folded(alert, now)

    def _folded(self, alert: Alert, now: float) -> bool:
        source = self.source()
        primary = source.links.primary(alert.key)
        if primary is None or primary == alert.key:
            return False
        shown = source.alert_for_key(primary)
        return shown is not None and self.accepts(shown, now)

    # ---- reading ---------------------------------------------------------------------------------

    def alert_at(self, row: int) -> Alert | None:
        if not 0 <= row < len(self._order):
            return None
        return self.source().alert_for_key(self._order[row])

    def key_at(self, row: int) -> str | None:
        return self._order[row] if 0 <= row < len(self._order) else None

    def row_of_key(self, key: str) -> int | None:
        return self._row_of.get(key)

    def visible_keys(self) -> list[str]:
        return list(self._order)

    def visible_alerts(self) -> list[Alert]:
        return self.source().alerts_for_keys(self._order)

    # ---- QAbstractProxyModel ---------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def index(
        self,
        row: int,
        column: int,
        parent: QModelIndex | QPersistentModelIndex = QModelIndex(),  # noqa: B008
    ) -> QModelIndex:
        if parent.isValid() or not (0 <= row < len(self._order) and 0 <= column < len(COLUMNS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        return QModelIndex()

    def sibling(self, row: int, column: int, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        return self.index(row, column)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and bool(self._order)

    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not proxy_index.isValid() or self._source is None:
            return QModelIndex()
        row = proxy_index.row()
        if row >= len(self._order):
            return QModelIndex()
        source_row = self._source.row_of_key(self._order[row])
        if source_row is None:
            return QModelIndex()
        return self._source.index(source_row, proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not source_index.isValid() or self._source is None:
            return QModelIndex()
        alert = self._source.alert_at(source_index.row())
        row = self._row_of.get(alert.key)
        return QModelIndex() if row is None else self.createIndex(row, source_index.column())

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        # by key, not through mapToSource: a repaint asks this thousands of times
        row = index.row()
        if self._source is None or not 0 <= row < len(self._order):
            return None
        alert = self._source.alert_for_key(self._order[row])
        return None if alert is None else self._source.cell(alert, index.column(), role)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and self._source is not None:
            return self._source.headerData(section, orientation, role)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        # constants: a repaint asks this for every cell, and combining enum flags is Python work
        return _ROW_FLAGS if index.isValid() else _NO_FLAGS

    # ---- incremental updates ---------------------------------------------------------------------

    def _sorted(self, keys: list[str]) -> list[str]:
        values = self._sort_values
        keys.sort(key=values.__getitem__, reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        return keys

    def _full_order(self) -> list[str]:
        """The visible rows from scratch: the index's matches, taken from the whole queue in sort order."""
        source, now = self.source(), self.clock()
        if self._all_dirty:
            # from the last order, which is nearly sorted: Python's sort is then close to linear
            values = self._sort_values
            keys = [key for key in self._all_sorted if key in values]
            keys.extend(self._added)
            self._all_sorted = self._sorted(list(dict.fromkeys(keys)))
            self._all_view = self._index.ordered(self._all_sorted)
            self._added = []
            self._all_dirty = False
        order = self._index.select(self.alert_filter, now, self._all_view)
        grouped = source.links.grouped
        folded = {key for key in grouped if key in self._sort_values and self._folded_key(key, now)}
        return list(filterfalse(folded.__contains__, order)) if folded else order

    def _folded_key(self, key: str, now: float) -> bool:
        alert = self.source().alert_for_key(key)
        return alert is not None and self._folded(alert, now)

    @property
    def _row_of(self) -> dict[str, int]:
        """Row per visible key; built on demand: a keystroke that changes 100k rows should not pay for it."""
        if self._row_of_cache is None:
            self._row_of_cache = {key: row for row, key in enumerate(self._order)}
        return self._row_of_cache

    def _rows_of(self, keys: Iterable[str | None]) -> dict[str, int]:
        """The rows of a few keys (the selection's), without building the whole map."""
        wanted = {key for key in keys if key is not None}
        if self._row_of_cache is not None or len(wanted) > 16:
            return {key: row for key in wanted if (row := self._row_of.get(key)) is not None}
        rows = {}
        for key in wanted:
            with contextlib.suppress(ValueError):  # no longer shown
                rows[key] = self._order.index(key)
        return rows

    def _rebuild(self) -> None:
        if self._source is None:
            self._order = []
        else:
            alerts = self._source.alerts()
            self._index = AlertIndex()
            self._index.put_many(alerts)
            self._sort_values = {a.key: sort_value(a, self.sort_column) for a in alerts}
            self._all_sorted, self._added, self._all_dirty = [], list(self._sort_values), True
            self._order = self._full_order()
        self._row_of_cache = None

    def _on_batch(self, batch: AlertBatch) -> None:
        def incremental() -> list[str]:
            source, now, column, values = self.source(), self.clock(), self.sort_column, self._sort_values
            index = self._index
            # the visible rows' map only when a changed alert may already be shown (a storm's batches are
            # new alerts: building it for 30k rows each time was a third of the batch)
            row_of = self._row_of if batch.changed else {}
            gone = set(batch.removed)
            for key in batch.removed:
                values.pop(key, None)
                index.remove(key)
            resort = False
            new: list[str] = []
            for key in (*batch.changed, *batch.inserted):
                alert = source.alert_for_key(key)
                if alert is None:
                    gone.add(key)
                    values.pop(key, None)
                    index.remove(key)
                    continue
                if key not in values:
                    self._added.append(key)
                index.put(alert)
                value = sort_value(alert, column)
                if values.get(key) != value:
                    self._all_dirty = True
                    resort = resort or key in row_of
                values[key] = value
                if not self.shows(alert, now):
                    gone.add(key)
                elif key not in row_of:
                    new.append(key)
            if batch.removed or batch.inserted:
                self._all_dirty = True
            order = [key for key in self._order if key not in gone] if gone else list(self._order)
            if resort:  # a shown alert's sort value moved: everything in order again
                order.extend(dict.fromkeys(new))
                return self._sorted(order)
            if new:
                descending = self.sort_order == Qt.SortOrder.DescendingOrder
                return merge_sorted(order, list(dict.fromkeys(new)), values.__getitem__, reverse=descending)
            return order

        new_order = incremental()
        if self.alert_filter is None and not self.source().links.grouped:
            # nothing filtered or folded: the visible order is the whole queue's, already sorted
            self._all_sorted, self._added, self._all_dirty = list(new_order), [], False
            self._all_view = self._index.ordered(self._all_sorted)
        if self._order == new_order:
            rows = sorted(row for key in batch.changed if (row := self._row_of.get(key)) is not None)
            if rows:
                self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], len(COLUMNS) - 1))
            self.rows_updated.emit()
            return
        self._relayout(lambda: new_order)

    def _relayout(self, compute: Callable[[], list[str]]) -> None:
        """One layout change: the new order, with persistent indexes (selection, current) following keys."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old_order = self._order
        remembered = [
            (old_order[index.row()] if index.row() < len(old_order) else None, index.column())
            for index in persistent
        ]
        self._order = compute()
        self._row_of_cache = None
        rows = self._rows_of(key for key, _column in remembered)
        moved = []
        for key, column in remembered:
            row = rows.get(key) if key is not None else None
            moved.append(self.createIndex(row, column) if row is not None else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()
        self.rows_updated.emit()

    def _on_ages(self) -> None:
        if self._order:
            self.dataChanged.emit(
                self.index(0, STATE_COLUMN),
                self.index(len(self._order) - 1, AGE_COLUMN),
                [Qt.ItemDataRole.DisplayRole],
            )

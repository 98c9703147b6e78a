"""Filtering and sorting of the alert table, incrementally, for 100k alerts.

QSortFilterProxyModel compares rows by calling the source's data() from C++ for every comparison: with a
Python model that is 16 s to sort 100k rows on this machine. This proxy keeps the visible rows as a list of
alert keys and, per batch of the source (`AlertTableModel.batch_applied`), filters only the touched
alerts, keeps each alert's SORT_ROLE value in a dict and re-sorts with Python's sort, which is close to
linear on an order that was already sorted. The view hears one layout change per batch (persistent indexes
follow their alerts), never a reset; a batch that moves nothing is one dataChanged.

Alerts of different sources about one problem (the source model's `links`) are one row: an alert folded
into its group's primary is hidden while the primary passes the filter (like karma's dedup), so counts and
groups count the problem once; a filter that hides the primary (`@source=local`) shows the other again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
from nexus_console.domain.alerts import Alert
from nexus_console.models.alert_table import (
    AGE_COLUMN,
    COLUMNS,
    SEVERITY_COLUMN,
    STATE_COLUMN,
    AlertBatch,
    AlertTableModel,
    sort_value,
)


class AlertFilterProxy(QAbstractProxyModel):
    rows_updated = Signal()  # after every change of the visible rows (counts, groups, badges)

    def __init__(self, *, clock: Callable[[], float] = time.time, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.alert_filter: AlertFilter | None = None
        self.sort_column = SEVERITY_COLUMN
        self.sort_order = Qt.SortOrder.DescendingOrder
        self._order: list[str] = []
        self._row_of: dict[str, int] = {}
        self._sort_values: dict[str, Any] = {}
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
        self.sort_column, self.sort_order = column, order
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
        source_index = self.mapToSource(index)
        return self._source.data(source_index, role) if source_index.isValid() and self._source else None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and self._source is not None:
            return self._source.headerData(section, orientation, role)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # ---- incremental updates ---------------------------------------------------------------------

    def _sorted(self, keys: list[str]) -> list[str]:
        values = self._sort_values
        keys.sort(key=values.__getitem__, reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        return keys

    def _full_order(self) -> list[str]:
        source, now, column = self.source(), self.clock(), self.sort_column
        predicates = [term.predicate for term in self.alert_filter.terms] if self.alert_filter else []
        grouped = source.links.grouped
        values: dict[str, Any] = {}
        keys = []
        for alert in source.alerts():
            if all(p(alert, now) for p in predicates) and not (
                alert.key in grouped and self._folded(alert, now)
            ):
                key = alert.key
                values[key] = sort_value(alert, column)
                keys.append(key)
        self._sort_values = values
        return self._sorted(keys)

    def _rebuild(self) -> None:
        self._order = self._full_order() if self._source is not None else []
        self._row_of = {key: row for row, key in enumerate(self._order)}

    def _on_batch(self, batch: AlertBatch) -> None:
        def incremental() -> list[str]:
            source, now, column, values = self.source(), self.clock(), self.sort_column, self._sort_values
            gone = set(batch.removed)
            for key in batch.removed:
                values.pop(key, None)
            resort = False
            for key in (*batch.changed, *batch.inserted):
                alert = source.alert_for_key(key)
                if alert is not None and self.shows(alert, now):
                    value = sort_value(alert, column)
                    if values.get(key) != value:
                        resort = True
                    values[key] = value
                else:
                    gone.add(key)
                    values.pop(key, None)
            order = [key for key in self._order if key not in gone] if gone else list(self._order)
            row_of = self._row_of
            new = [key for key in (*batch.changed, *batch.inserted) if key in values and key not in row_of]
            if new:
                order.extend(dict.fromkeys(new))
                resort = True
            return self._sorted(order) if resort else order

        if self._order == (new_order := incremental()):
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
        self._row_of = {key: row for row, key in enumerate(self._order)}
        moved = []
        for key, column in remembered:
            row = self._row_of.get(key) if key is not None else None
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

"""A small table model for lists of records (slowest endpoints, databases, slow queries).

set_records() updates in place: one dataChanged over the kept rows, one beginInsertRows / beginRemoveRows
for the difference in length. Never a reset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

STALE_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 4


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    value: Callable[[Mapping[str, Any]], Any]
    format: Callable[[Any], str] = str
    numeric: bool = False
    alarm: Callable[[Any], bool] | None = None  # True: draw the value in the alarm colour


class RecordTableModel(QAbstractTableModel):
    def __init__(self, columns: Sequence[Column], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._records: list[Mapping[str, Any]] = []
        self._stale = False
        self._alarm = QBrush(QColor("#ff6b5e"))
        self._grey = QBrush(QColor("#9aa0a6"))

    def records(self) -> list[Mapping[str, Any]]:
        return list(self._records)

    def set_records(self, records: Sequence[Mapping[str, Any]], *, stale: bool = False) -> None:
        old, new = len(self._records), len(records)
        stale_changed = stale != self._stale
        self._stale = stale
        if new < old:
            self.beginRemoveRows(QModelIndex(), new, old - 1)
            self._records = list(self._records[:new])
            self.endRemoveRows()
        kept = min(old, new)
        changed = [i for i in range(kept) if self._records[i] != records[i]]
        self._records[:kept] = list(records[:kept])
        if stale_changed and kept:
            changed = list(range(kept))
        if changed:
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], len(self.columns) - 1))
        if new > old:
            self.beginInsertRows(QModelIndex(), old, new - 1)
            self._records.extend(records[old:])
            self.endInsertRows()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        record = self._records[index.row()]
        column = self.columns[index.column()]
        try:
            value = column.value(record)
        except (KeyError, TypeError, ValueError):
            value = None
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return "—"
            try:
                return column.format(value)
            except (TypeError, ValueError):
                return str(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(value)
        if role == SORT_ROLE:
            return value
        if role == STALE_ROLE:
            return self._stale
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if self._stale:
                return self._grey
            if column.alarm is not None and value is not None:
                try:
                    if column.alarm(value):
                        return self._alarm
                except (TypeError, ValueError):
                    return None
        return None

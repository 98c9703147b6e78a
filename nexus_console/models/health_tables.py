"""A small table model for lists of records (slowest endpoints, databases, slow queries).

set_records() updates in place (ListTableModel.replace_items): one dataChanged over the changed kept rows,
one insert or remove for the difference in length. Never a reset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from nexus_console.models.table_base import ListTableModel

STALE_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 4


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    value: Callable[[Mapping[str, Any]], Any]
    format: Callable[[Any], str] = str
    numeric: bool = False
    alarm: Callable[[Any], bool] | None = None  # True: draw the value in the alarm colour


class RecordTableModel(ListTableModel[Mapping[str, Any]]):
    def __init__(self, columns: Sequence[Column], parent: QObject | None = None) -> None:
        super().__init__(parent, headers=[column.title for column in columns])
        self.columns = tuple(columns)
        self._stale = False
        self._alarm = QBrush(QColor("#ff6b5e"))
        self._grey = QBrush(QColor("#9aa0a6"))

    def records(self) -> list[Mapping[str, Any]]:
        return self.items()

    def set_records(self, records: Sequence[Mapping[str, Any]], *, stale: bool = False) -> None:
        stale_changed = stale != self._stale
        self._stale = stale
        self.replace_items(records, changed_all=stale_changed)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        record = self.item_at(index.row())
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

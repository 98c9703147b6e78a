"""A table of the Analytics pane (`domain.analytics.DataTable`): its rows as they are exported, numbers right
aligned and grouped by thousands on screen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from nexus_console.models.table_base import Index, ListTableModel

DISPLAY = Qt.ItemDataRole.DisplayRole
NUMBER_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
TOOLTIP_FROM = 60  # characters


def cell_text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


class DataTableModel(ListTableModel[tuple[Any, ...]]):
    def __init__(self, columns: Sequence[str], parent: QObject | None = None) -> None:
        super().__init__(parent, headers=columns)

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.row_count():
            return None
        value = self.item_at(index.row())[index.column()]
        if role == DISPLAY:
            return cell_text(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float):
            return NUMBER_ALIGNMENT
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(value, str) and len(value) > TOOLTIP_FROM:
            return value  # a long text (a statement, a reason) cut by its column, whole on hover
        return None


class RetentionModel(DataTableModel):
    """A cohort table whose period cells (fractions, None for a period not over yet) read as percentages on a
    blue shade as deep as the share retained: the heatmap analysts read retention from."""

    FIRST_PERIOD_COLUMN = 2  # after the cohort and its size

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or index.column() < self.FIRST_PERIOD_COLUMN:
            return super().data(index, role)
        if not 0 <= index.row() < self.row_count():
            return None
        value = self.item_at(index.row())[index.column()]
        if role == DISPLAY:
            return "" if value is None else f"{value * 100:.1f} %"
        if role == Qt.ItemDataRole.BackgroundRole and value is not None:
            return QColor(79, 143, 230, int(40 + 200 * min(1.0, max(0.0, value))))
        if role == Qt.ItemDataRole.ToolTipRole:
            return "not over yet" if value is None else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return NUMBER_ALIGNMENT
        return None

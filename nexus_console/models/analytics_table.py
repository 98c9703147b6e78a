"""A table of the Analytics pane (`domain.analytics.DataTable`): its rows as they are exported, numbers right
aligned and grouped by thousands on screen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt

from nexus_console.models.table_base import Index, ListTableModel

DISPLAY = Qt.ItemDataRole.DisplayRole
NUMBER_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


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
        return None

"""The alert table's cell delegate: one question to the model per cell instead of a dozen.

Qt's default delegate asks the model for every role of every painted cell (display, font, colours,
alignment, check state, decoration, size hint, ...): with a Python model that is ~14 calls per cell. This
one asks for `CELL_ROLE` (text, foreground, background, font) once and fills the style option; Qt's style
draws the cell as before (selection, focus, eliding).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from nexus_console.models.alert_table import CELL_ROLE

_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay
_ALIGN = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


class AlertCellDelegate(QStyledItemDelegate):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # the view's features (word wrap, alternate rows) with HasDisplay: combining enum flags is Python
        # work, and a repaint does it for every cell
        self._with_display: dict[
            QStyleOptionViewItem.ViewItemFeature, QStyleOptionViewItem.ViewItemFeature
        ] = {}

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        cell = index.data(CELL_ROLE)
        if cell is None:
            super().initStyleOption(option, index)
            return
        text, foreground, background, font = cell
        option.index = index
        option.text = text
        features = option.features
        with_display = self._with_display.get(features)
        if with_display is None:
            with_display = self._with_display[features] = features | _HAS_DISPLAY
        option.features = with_display
        option.displayAlignment = _ALIGN
        if foreground is not None:
            option.palette.setBrush(QPalette.ColorRole.Text, foreground)
        if background is not None:
            option.backgroundBrush = background
        if font is not None:
            option.font = font

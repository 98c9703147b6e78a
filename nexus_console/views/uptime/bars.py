"""The 90 daily bars of a row, painted by a delegate (90 rects a row; no widget a day), coloured as a status
page colours them; the tooltip names the day under the mouse."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRectF, QSize
from PySide6.QtGui import QColor, QHelpEvent, QPainter
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate, QStyleOptionViewItem, QToolTip

from nexus_console.models.uptime_table import BARS_ROLE
from nexus_console.views.theme import STATUS_PAGE_COLOURS

Index = QModelIndex | QPersistentModelIndex
BAR_GAP = 1.0


class DailyBarsDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(90 * 4, 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        bars = index.data(BARS_ROLE) or ()
        if not bars:
            return
        rect = QRectF(option.rect).adjusted(2, 4, -2, -4)  # type: ignore[attr-defined]
        width = (rect.width() - BAR_GAP * (len(bars) - 1)) / len(bars)
        painter.save()
        for i, level in enumerate(bars):
            painter.fillRect(
                QRectF(rect.left() + i * (width + BAR_GAP), rect.top(), max(width, 1.0), rect.height()),
                QColor(STATUS_PAGE_COLOURS[level]),
            )
        painter.restore()

    def helpEvent(
        self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: Index
    ) -> bool:
        bars = index.data(BARS_ROLE) or ()
        if event.type() != QEvent.Type.ToolTip or not bars:
            return super().helpEvent(event, view, option, index)
        rect = option.rect  # type: ignore[attr-defined]
        day = int((event.pos().x() - rect.left()) / max(rect.width() / len(bars), 1.0))
        model = index.model()
        text = model.day_tooltip(index, min(max(day, 0), len(bars) - 1))  # type: ignore[attr-defined]
        QToolTip.showText(event.globalPos(), text, view)
        return True

"""A sparkline: a series' shape in a few dozen pixels, painted with QPainter (no plot widget for a tile)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

LINE = QColor("#4f8fe6")
LAST = QColor("#e6e6e6")


class Sparkline(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: tuple[float, ...] = ()
        self.setMinimumHeight(24)

    def sizeHint(self) -> QSize:
        return QSize(120, 28)

    def set_values(self, values: Sequence[float]) -> None:
        values = tuple(values)
        if values != self.values:
            self.values = values
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if len(self.values) < 2:
            return
        low, high = min(self.values), max(self.values)
        span = (high - low) or 1.0
        width, height = self.width() - 4, self.height() - 4
        step = width / (len(self.values) - 1)
        points = [
            QPointF(2 + i * step, 2 + height - (value - low) / span * height)
            for i, value in enumerate(self.values)
        ]
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(LINE, 1.5))
        painter.drawPolyline(QPolygonF(points))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(LAST)
        painter.drawEllipse(points[-1], 2.5, 2.5)
        painter.end()

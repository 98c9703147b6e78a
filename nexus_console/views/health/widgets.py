"""Two widgets the Health pane is built of: the dark palette it keeps on any theme, and a tab widget that does
not repaint itself whole on every layout request from inside a page."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtWidgets import QTabWidget, QWidget

from nexus_console.views.theme import dark_palette


def apply_dark_palette(widget: QWidget) -> None:
    """The Health pane is a wall display: dark, whatever the application palette is."""
    widget.setPalette(dark_palette(widget.palette()))
    widget.setAutoFillBackground(True)


class SteadyTabWidget(QTabWidget):
    """A QTabWidget that does not repaint itself whole on every layout request from inside a page.

    Any label whose text changes (ages every second) sends a layout request up the widget tree; QTabWidget
    answers each by laying out its tab bar again and repainting everything it holds, the matrix and the
    charts included. Its own layout only depends on the tab bar's size hint (resizes and tab changes are
    handled elsewhere), so a request that leaves that hint as it was only passes on up.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._laid_out_for: QSize | None = None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            hint = self.tabBar().sizeHint()
            if hint == self._laid_out_for:
                self.updateGeometry()
                return True
            self._laid_out_for = hint
        return super().event(event)

"""The page a pane sits on in the main window: it keeps the pane's relayouts inside the pane.

Qt passes every layout change up to the window: a label whose text changes (an age, a chart's current
value) invalidates its layout, which asks its parent to lay out again, and so on to the main window, which
lays out the navigation, the status bar and the central splitter again (and starts, for each, a geometry
animation of zero length). On a Health pane showing data every second that was a fifth of the console's
idle CPU. This page has no layout: it gives the pane its whole area itself, and asks the window for a new
layout only when the pane's minimum size changed, the one thing of the pane the window depends on.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QWidget


class PanePage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._content: QWidget | None = None
        self._minimum = QSize()

    def set_content(self, content: QWidget) -> None:
        self._content = content
        content.setParent(self)
        content.setGeometry(self.rect())
        content.show()
        self._minimum = content.minimumSizeHint()
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return self._content.sizeHint() if self._content is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._content.minimumSizeHint() if self._content is not None else super().minimumSizeHint()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._content is not None:
            self._content.setGeometry(self.rect())
        super().resizeEvent(event)

    def event(self, event: QEvent) -> bool:
        # The pane laid itself out again; it is the window's business only if its minimum size moved.
        if event.type() == QEvent.Type.LayoutRequest and self._content is not None:
            minimum = self._content.minimumSizeHint()
            if minimum != self._minimum:
                self._minimum = minimum
                self.updateGeometry()
            return True
        return super().event(event)

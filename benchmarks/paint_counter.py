"""Counts the paints of a view's viewport, so a benchmark's keystroke ends in exactly one paint: the one the
event loop makes, as in the running console, or one forced when the loop made none."""

from __future__ import annotations

from typing import Any


class PaintCounter:
    def __init__(self, view: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        class Filter(QObject):
            def __init__(self) -> None:
                super().__init__()
                self.paints = 0

            def eventFilter(self, _watched: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint:
                    self.paints += 1
                return False

        self.filter = Filter()
        self.view = view
        view.viewport().installEventFilter(self.filter)

    def settle(self, app: Any, *, turns: int = 1, force: bool = True) -> bool:
        """Let the event loop run up to `turns` times until it paints the view; True when it did. Else, when
        `force`, paint it now."""
        before = self.filter.paints
        for _ in range(turns):
            app.processEvents()
            if self.filter.paints > before:
                return True
        if force:
            self.view.viewport().repaint()
        return False

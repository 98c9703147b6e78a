"""FirstPaintLogger: logs when a window first paints (the first-frame benchmark reads that line)."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

log = logging.getLogger("nexus_console")


class FirstPaintLogger(QObject):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            log.info("first frame painted at epoch %.3f", time.time())
        return False

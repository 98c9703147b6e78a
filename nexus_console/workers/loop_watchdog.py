"""LoopWatchdog: the Qt side watches the asyncio heartbeat.

A QTimer is Qt's own timer, not one of the asyncio loop's, so it keeps ticking when asyncio callbacks stop
running (a lost timer, a callback that never returns control). Each tick compares the heartbeat's last beat
with the clock; a loop that has not turned for `stall_s` is reported once (`stalled(age_s)`, an error in the
log) and its return once (`recovered(gap_s)`). A wall display connects to these to show "data stopped"
instead of a frozen screen that still looks alive.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from nexus_console.services.heartbeat import Heartbeat

log = logging.getLogger(__name__)

STALL_S = 5.0


class LoopWatchdog(QObject):
    stalled = Signal(float)  # seconds since the last beat, once per stall
    recovered = Signal(float)  # the gap the stall lasted

    def __init__(
        self,
        heartbeat: Heartbeat,
        *,
        stall_s: float = STALL_S,
        check_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.heartbeat = heartbeat
        self.stall_s = stall_s
        self.is_stalled = False
        self.stall_count = 0
        self._timer = QTimer(self)
        self._timer.setObjectName("loop-watchdog")
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def check(self) -> None:
        age = self.heartbeat.last_beat_age_s()
        if age is None:
            return
        if age > self.stall_s and not self.is_stalled:
            self.is_stalled = True
            self.stall_count += 1
            log.error(
                "the asyncio loop has not turned for %.1f s while Qt still runs (%s)",
                age,
                self.heartbeat.describe(),
            )
            self.stalled.emit(age)
        elif age <= self.stall_s and self.is_stalled:
            self.is_stalled = False
            log.warning("the asyncio loop turns again (%s)", self.heartbeat.describe())
            self.recovered.emit(self.heartbeat.max_gap_s)

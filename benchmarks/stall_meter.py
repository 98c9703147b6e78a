"""The GUI-thread stall measure the runtime benchmarks share (max_stall_ms, alert_storm_max_stall_ms,
admin_max_stall_ms): a QTimer ticking every `tick_ms`; each tick's lateness is a gap (what a user feels as a
frozen window), with the GUI thread's own CPU time in it (time.thread_time), which tells our own work on
that thread (CPU close to the gap) from the thread not running at all (descheduled, or waiting for the GIL).
Make it inside the running console: the application must exist."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

TICK_MS = 5


class StallTimer:
    def __init__(self, tick_ms: int = TICK_MS) -> None:
        from PySide6.QtCore import QTimer

        self.tick_ms = tick_ms
        self.gaps: list[float] = []  # ms late, per tick
        self.busy: list[float] = []  # ms of GUI-thread CPU in the same gap
        self._last = (0.0, 0.0)
        self._timer = QTimer()
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if self._last[0]:
            self.gaps.append((now - self._last[0]) * 1000 - self.tick_ms)
            self.busy.append((cpu - self._last[1]) * 1000)
        self._last = (now, cpu)

    def start(self) -> None:
        self._last = (0.0, 0.0)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @contextmanager
    def running(self) -> Iterator[StallTimer]:
        """Tick while the block runs."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    @property
    def worst(self) -> int:
        """Index of the longest gap."""
        return max(range(len(self.gaps)), key=self.gaps.__getitem__)

    @property
    def max_gap_ms(self) -> float:
        return max(self.gaps, default=float("nan"))

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else float("nan")

    def over(self, limit_ms: float) -> int:
        return sum(1 for gap in self.gaps if gap > limit_ms)

    def describe(self, limit_ms: float = 50.0) -> str:
        """The notes' words: ticks, gaps over the limit, and where the worst gap's time went."""
        if not self.gaps:
            return "no ticks"
        return (
            f"{len(self.gaps)} ticks of a {self.tick_ms} ms QTimer, {self.over(limit_ms)} gaps over "
            f"{limit_ms:.0f} ms; GUI-thread CPU in the worst gap {self.busy[self.worst]:.0f} ms (the rest of "
            f"it the thread was not running), most CPU in one gap {max(self.busy):.0f} ms"
        )

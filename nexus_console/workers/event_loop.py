"""The console's asyncio loop inside Qt: qasync's, with `call_soon` batched.

qasync runs every `call_soon` through `call_later(0, …)`: an `iscoroutinefunction` check, a Qt timer
started for that one callback, its timer event, and the timer killed again. Every future that completes and
every task step is a `call_soon`, so a console that only watches (probes and scrapes answering a few hundred
times a second) spent about a tenth of its CPU in that machinery. Here ready callbacks wait in one queue
and run together, in order, from a single zero-delay timer event, as asyncio's own loop runs its ready
queue; callbacks queued while a batch runs wait for the next turn of the Qt loop, so painting and socket
notifiers still get their turn between batches.

Delayed callbacks (`call_later`, `call_at`) got the same one-timer-each treatment, and a cancelled one still
woke the loop when its time came: every request's timeout did, long after its answer. Here they wait in a
heap (as in asyncio's own loop) under one precise single-shot QTimer set for the earliest; cancelled ones
are dropped when they come up, or all at once when they are most of the heap.

Written here because qasync has no option for either.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import os
from collections import deque
from collections.abc import Callable
from contextvars import Context
from typing import Any

os.environ.setdefault("QT_API", "pyside6")  # before qasync picks its Qt binding
import qasync
from PySide6.QtCore import Qt, QTimer

PURGE_AT_LEAST = 100  # cancelled timers in the heap before it is rebuilt without them


class ConsoleEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready_batch: deque[asyncio.Handle] = deque()
        self._batch_scheduled = False
        self._timers: list[asyncio.TimerHandle] = []
        self._cancelled_timers = 0
        self._wake = QTimer()
        self._wake.setSingleShot(True)
        self._wake.setTimerType(Qt.TimerType.PreciseTimer)
        self._wake.timeout.connect(self._run_due)

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        """Queue `callback(*args)` to run on the loop's next turn, after those queued before it."""
        handle = asyncio.Handle(callback, args, self, context=context)
        self._ready_batch.append(handle)
        if not self._batch_scheduled:
            self._batch_scheduled = True
            self._add_callback(asyncio.Handle(self._run_ready, (), self), 0)
        return handle

    def _run_ready(self) -> None:
        """Run the callbacks queued before this turn; those they queue run on the next one."""
        self._batch_scheduled = False
        ready = self._ready_batch
        for _ in range(len(ready)):
            handle = ready.popleft()
            if not handle.cancelled():
                handle._run()

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.TimerHandle:
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(
        self, when: float, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.TimerHandle:
        """Run `callback(*args)` at `when` on the loop's clock (`time()`)."""
        timer = asyncio.TimerHandle(when, callback, args, self, context=context)
        heapq.heappush(self._timers, timer)
        timer._scheduled = True
        if self._timers[0] is timer:
            self._arm()
        return timer

    @property
    def timers_held(self) -> int:
        """Delayed callbacks the loop holds, cancelled ones not yet dropped included (a health figure)."""
        return len(self._timers)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        """Called by `TimerHandle.cancel()` while the handle is in the heap."""
        self._cancelled_timers += 1
        if self._cancelled_timers >= PURGE_AT_LEAST and self._cancelled_timers * 2 > len(self._timers):
            kept = []
            for timer in self._timers:
                if timer.cancelled():
                    timer._scheduled = False
                else:
                    kept.append(timer)
            heapq.heapify(kept)
            self._timers, self._cancelled_timers = kept, 0

    def _arm(self) -> None:
        delay_s = self._timers[0].when() - self.time()
        self._wake.start(max(0, math.ceil(delay_s * 1000)))

    def _run_due(self) -> None:
        """The wake-up: run every timer that is due, in order of time, then sleep until the next one."""
        end = self.time() + self._clock_resolution
        due = []
        timers = self._timers
        while timers and timers[0].when() <= end:
            timer = heapq.heappop(timers)
            timer._scheduled = False
            if timer.cancelled():
                self._cancelled_timers -= 1
            else:
                due.append(timer)
        for timer in due:
            if not timer.cancelled():  # an earlier one of this turn may have cancelled it
                timer._run()
        if self._timers and not self._wake.isActive():
            self._arm()

    def close(self) -> None:
        wake = getattr(self, "_wake", None)  # absent when __init__ failed before it
        if wake is not None and not self.is_running():
            wake.stop()
            self._timers.clear()
        super().close()

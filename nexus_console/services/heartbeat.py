"""Heartbeat: proof that the asyncio loop is turning.

A task records `time.monotonic()` every `interval_s`. Anything that can tell time without the loop (a Qt-side
timer, a thread, a wall display's watchdog) compares `last_beat_age_s()` with its own clock: a loop that
stopped turning (a lost timer, a blocked callback) shows as a growing age even though the window still paints.
`max_gap_s` is the largest time seen between two beats; a gap over `warn_gap_s` is logged when the loop
comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 1.0
HEARTBEAT_WARN_GAP_S = 3.0


class Heartbeat:
    def __init__(
        self,
        interval_s: float = HEARTBEAT_INTERVAL_S,
        *,
        warn_gap_s: float = HEARTBEAT_WARN_GAP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self.warn_gap_s = warn_gap_s
        self._clock = clock
        self.started_at: float | None = None
        self.last_beat: float | None = None  # clock() of the newest beat
        self.max_gap_s = 0.0  # the longest time between two beats
        self.beats = 0
        self.stalls = 0  # gaps over warn_gap_s

    def last_beat_age_s(self, now: float | None = None) -> float | None:
        """Seconds since the newest beat (None before the first one)."""
        if self.last_beat is None:
            return None
        return (self._clock() if now is None else now) - self.last_beat

    def is_stalled(self, threshold_s: float | None = None, now: float | None = None) -> bool:
        """True when the loop has not beaten for `threshold_s` (default: `warn_gap_s`)."""
        age = self.last_beat_age_s(now)
        return age is not None and age > (self.warn_gap_s if threshold_s is None else threshold_s)

    def beat(self) -> None:
        now = self._clock()
        if self.last_beat is not None:
            gap = now - self.last_beat
            self.max_gap_s = max(self.max_gap_s, gap)
            if gap > self.warn_gap_s:
                self.stalls += 1
                log.warning(
                    "the event loop stalled: %.1f s between heartbeats (every %.1f s expected)",
                    gap,
                    self.interval_s,
                )
        else:
            self.started_at = now
        self.last_beat = now
        self.beats += 1

    async def run(self) -> None:
        """Beat every `interval_s` until cancelled."""
        while True:
            self.beat()
            await asyncio.sleep(self.interval_s)

    def describe(self, now: float | None = None) -> str:
        age = self.last_beat_age_s(now)
        age_text = "no beat yet" if age is None else f"last beat {age:.1f} s ago"
        return f"{age_text}, {self.beats} beats, longest gap {self.max_gap_s:.2f} s, {self.stalls} stalls"

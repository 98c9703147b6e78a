"""Keeps Python's cyclic garbage collector off the GUI thread's critical path.

A full (oldest-generation) collection walks every tracked object: with tens of thousands of alerts in the
queue that is 80-110 ms on the GUI thread, several times a minute while a storm grows the queue (measured by
the alert_storm_max_stall_ms benchmark). CPython 3.11 has no incremental collector, so the steward:

- every `freeze_every_s` (seconds), collects the young generations (cheap) and freezes what survived
  (`gc.freeze()`): the long-lived state (alerts, caches, Qt wrappers) leaves the collector's reach, and the
  automatic full collections that remain walk only what is newer;
- every `sweep_every_s` (hours), unfreezes and runs one full collection, so cyclic garbage that was frozen
  while still referenced (a closed dialog's signal closures, say) is reclaimed: one stall of that size per
  sweep instead of one every few seconds under load.

Reference counting frees acyclic garbage at once whatever the generation; only cycles wait for a sweep.
Qt-free.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FREEZE_EVERY_S = 5.0  # a young collection and a freeze cost well under a millisecond
SWEEP_EVERY_S = 6 * 3600.0


class GcSteward:
    def __init__(
        self,
        freeze_every_s: float = FREEZE_EVERY_S,
        sweep_every_s: float = SWEEP_EVERY_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.freeze_every_s = freeze_every_s
        self.sweep_every_s = sweep_every_s
        self._clock = clock
        self._last_sweep = clock()
        self.freezes = 0
        self.sweeps = 0

    def step(self) -> None:
        """One round: a full sweep when one is due, else a young collection and a freeze."""
        now = self._clock()
        if now - self._last_sweep >= self.sweep_every_s:
            started = time.perf_counter()
            gc.unfreeze()
            collected = gc.collect()
            self._last_sweep = now
            self.sweeps += 1
            log.info(
                "full garbage collection: %d objects in %.0f ms",
                collected,
                (time.perf_counter() - started) * 1000,
            )
        else:
            gc.collect(1)
        gc.freeze()
        self.freezes += 1

    async def run(self) -> None:
        """Until cancelled: a step every `freeze_every_s`."""
        while True:
            await asyncio.sleep(self.freeze_every_s)
            self.step()

"""The uptime recording of a session: every fresh probe sweep becomes each service's observation, written into
the rollups (`UptimeStore`) in batches, and the report the Uptime pane asks for is published on a feed."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable

from nexus_console.domain.freshness import SourceState, SourceStatus
from nexus_console.domain.health import ProbeResult, ProbeSweep, ServiceState, service_state
from nexus_console.domain.uptime import BucketTally, UptimeRecorder
from nexus_console.domain.uptime_windows import ServiceUptime
from nexus_console.services.feeds import Feed
from nexus_console.services.polling import Poller
from nexus_console.services.tasks import TaskRunner
from nexus_console.services.uptime_store import UptimeStore

log = logging.getLogger(__name__)

UPTIME_FEED = "uptime"
FLUSH_EVERY_S = 10.0
PRUNE_EVERY_S = 3600.0


class UptimeRecording:
    """Records every new probe sweep into the store, for a session: `start(tasks)` runs it.

    Tallies are written in batches (every `flush_every_s`, before a report and on close): a failed write
    is logged and its tallies dropped rather than retried, since a write that timed out may still land, and
    time counted twice would be worse than time left unrecorded (which reads as no data, never up).
    """

    def __init__(
        self,
        store: UptimeStore,
        probes: Poller[ProbeSweep],
        *,
        stale_after_s: float,
        max_gap_s: float,
        clock: Callable[[], float] = time.time,
        flush_every_s: float = FLUSH_EVERY_S,
        prune_every_s: float = PRUNE_EVERY_S,
        report_days: int = 90,
    ) -> None:
        self.store = store
        self.recorder = UptimeRecorder(max_gap_s)
        self.feed: Feed[list[ServiceUptime]] = Feed(UPTIME_FEED)
        self._probes = probes
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._flush_every_s = flush_every_s
        self._prune_every_s = prune_every_s
        self._report_days = report_days
        self._pending: list[BucketTally] = []
        self._dirty = False  # an observation not yet written
        self._last_received_at = -math.inf
        self._next_prune_at = -math.inf
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self, tasks: TaskRunner) -> None:
        """Restore the last observations, then follow the probes poller and write on a timer."""
        if self._task is None and not self._closed:
            self._task = tasks.run(self._run(), name="uptime-recording")

    async def _run(self) -> None:
        try:
            for service, (at, state) in (await self.store.last_observations()).items():
                self.recorder.restore(service, at, ServiceState(state))
            self._unsubscribe = self._probes.subscribe(self._on_status)
            self._on_status(self._probes.status)
            while True:
                await asyncio.sleep(self._flush_every_s)
                await self._maintain()
        finally:
            await self._shutdown()

    def _on_status(self, status: SourceStatus[ProbeSweep]) -> None:
        """A sweep the poller just fetched is an observation; a cached one restored at start (CONNECTING)
        or the same one again with an error is not."""
        stamped = status.last_good
        if status.state is not SourceState.OK or stamped is None:
            return
        if stamped.received_at <= self._last_received_at:
            return
        self._last_received_at = stamped.received_at
        self.observe_sweep(stamped.value, stamped.received_at)

    def observe_sweep(self, sweep: ProbeSweep, at: float) -> None:
        """Each service's overall state in `sweep` (worst probe), observed at `at`."""
        by_service: dict[str, list[ProbeResult]] = defaultdict(list)
        for result in sweep.results:
            by_service[result.service].append(result)
        for service, results in by_service.items():
            state = service_state(results, at, self._stale_after_s)
            self._pending.extend(self.recorder.observe(service, at, state))
        self._dirty = True

    async def flush(self) -> None:
        """Write the pending tallies and the last observations."""
        if not self._dirty:
            return
        tallies, self._pending, self._dirty = self._pending, [], False
        last = {name: (at, state.value) for name, (at, state) in self.recorder.last_observations().items()}
        await self.store.record(tallies, last)

    async def _maintain(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.warning("uptime tallies could not be written; that time will show as no data", exc_info=True)
        now = self._clock()
        if now >= self._next_prune_at:
            self._next_prune_at = now + self._prune_every_s
            try:
                await self.store.prune(now)
            except Exception:
                log.warning("uptime rollups could not be pruned", exc_info=True)

    async def refresh(self) -> list[ServiceUptime]:
        """Write what is pending, then publish and return the newest report (the pane asks for it)."""
        if not self._closed:
            await self._maintain()
        report = await self.store.report(self._clock(), self._report_days)
        self.feed.publish(report)
        return report

    async def aclose(self) -> None:
        """Stop recording, write what is pending and close the store."""
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])
        await self._shutdown()

    async def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        try:
            await self.flush()
        except Exception:
            log.warning("uptime tallies could not be written at close", exc_info=True)
        finally:
            await self.store.aclose()

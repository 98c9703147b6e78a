"""The one retry loop of every long-running source: attempt, then success or failure, then wait.

`Poller.run` and `NexusAlertSource.run` (streaming and its polling fallback) both run on a `SourceLoop`, so
every source has the same rule: whatever an attempt raises is a failure that the source reports in words and
retries after a jittered backoff; only the cancellation of the source's own task ends the loop. The backoff
is reset only by `succeeded()`, which a source calls when an attempt *proved* the source works (a good,
parsed answer; a stream that delivered a valid event or stayed up a while), never on a bare connect.
`poke()` ends the current wait at once (a user's refresh, or a sibling source of the same host recovering).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from nexus_console.domain.backoff import Backoff

log = logging.getLogger(__name__)

Attempt = Callable[[], Awaitable[float]]  # returns how long to wait before the next attempt
OnFailure = Callable[[Exception], float]  # reports the failure; returns how long to wait


class SpuriousCancel(Exception):
    """An attempt raised CancelledError although nobody cancelled the source's task."""

    def __str__(self) -> str:
        return "an operation of the source was cancelled from elsewhere"


class SourceLoop:
    """Retry-with-backoff for one source. `run(attempt, on_failure)` loops until its task is cancelled."""

    def __init__(self, name: str, backoff: Backoff) -> None:
        self.name = name
        self.backoff = backoff
        self.attempts = 0
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """End the current wait (or the next one, when an attempt is running) at once."""
        self._wake.set()

    def succeeded(self) -> None:
        """The source proved itself: the next failure waits the base delay again."""
        self.backoff.reset()

    def failure_delay(self, cap_s: float | None = None) -> float:
        """Count one more failure; the jittered wait before the next attempt (at most `cap_s`)."""
        delay = self.backoff.next_delay()
        return delay if cap_s is None else min(delay, cap_s)

    async def wait(self, delay_s: float) -> None:
        """Sleep `delay_s`, or less when poked."""
        if delay_s <= 0 or self._wake.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s):
                await self._wake.wait()

    async def run(self, attempt: Attempt, on_failure: OnFailure) -> NoReturn:
        """Attempt, report, wait; forever. Exceptions of `attempt` go to `on_failure`; cancelling the task
        that runs this is the only way out."""
        while True:
            self._wake.clear()
            self.attempts += 1
            try:
                delay = await attempt()
            except asyncio.CancelledError:
                if _being_cancelled():
                    raise
                delay = self._report(on_failure, SpuriousCancel())
            except Exception as exc:
                delay = self._report(on_failure, exc)
            await self.wait(delay)

    def _report(self, on_failure: OnFailure, exc: Exception) -> float:
        try:
            return on_failure(exc)
        except Exception:  # a bug in the report must not end the source either
            log.exception("source %s: reporting a failure failed", self.name)
            return self.failure_delay()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0

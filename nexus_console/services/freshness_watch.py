"""FreshnessWatch: one log line when the session's sources stop being all fresh, one when they all are again.

The lines carry epoch times (the recovery benchmark reads them from a real console's log); each source's own
failure and return are logged at debug level with the time it was failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from nexus_console.domain.freshness import SourceState, SourceStatus
from nexus_console.services.polling import Poller

log = logging.getLogger(__name__)


class FreshnessWatch:
    def __init__(self, pollers: Sequence[Poller[Any]], *, clock: Callable[[], float] = time.time) -> None:
        self._pollers = list(pollers)
        self._clock = clock
        self._failing: dict[str, float] = {}  # source -> epoch of the first failure of its current run
        self._unsubscribe: list[Callable[[], None]] = []
        self.all_fresh = False
        self.all_fresh_at: float | None = None

    def start(self) -> None:
        for poller in self._pollers:
            self._unsubscribe.append(poller.subscribe(self._on_status))

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _on_status(self, status: SourceStatus[Any]) -> None:
        now = self._clock()
        if status.state is SourceState.ERROR and status.name not in self._failing:
            self._failing[status.name] = status.error_since or now
            log.debug("source %s failing since epoch %.3f: %s", status.name, now, status.error)
        elif status.state is SourceState.OK and status.name in self._failing:
            since = self._failing.pop(status.name)
            log.debug("source %s fresh again at epoch %.3f after %.1f s", status.name, now, now - since)
        everything_ok = all(p.status.state is SourceState.OK for p in self._pollers)
        if everything_ok and not self.all_fresh:
            self.all_fresh, self.all_fresh_at = True, now
            log.info("every source fresh at epoch %.3f (%d sources)", now, len(self._pollers))
        elif not everything_ok and self.all_fresh:
            self.all_fresh = False
            waiting = sorted(p.name for p in self._pollers if p.status.state is not SourceState.OK)
            log.info("sources not fresh at epoch %.3f: %s", now, ", ".join(waiting))

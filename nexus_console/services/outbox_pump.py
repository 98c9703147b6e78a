"""The loop that sends an outbox while the API answers, shared by the admin and incident runtimes.

Nothing is claimed while the API is unreachable: a cheap probe runs before each drain, so entries queued
offline stay unsent (and so editable and cancellable) until the API answers again. While offline the probe
backs off; a `wake()` (something was queued, or the user asked to retry) sends at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from nexus_console.domain.backoff import Backoff
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_sender import OutboxSender

log = logging.getLogger(__name__)


class OutboxPump:
    """Drains `outbox` through `sender` when woken, when a retry falls due, or every idle period."""

    def __init__(
        self,
        outbox: AsyncOutbox,
        sender: OutboxSender,
        reachable: Callable[[], Awaitable[bool]],
        *,
        idle_poll_s: float,
        offline_probe_max_s: float,
        on_change: Callable[[], None],
        name: str,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.offline = False
        self._reachable = reachable
        self._idle_poll_s = idle_poll_s
        self._offline_probe_max_s = offline_probe_max_s
        self._on_change = on_change
        self._name = name
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Send now."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled. Entries an earlier run left in `sending` are taken back first."""
        await self.outbox.call(self.outbox.outbox.recover)
        self._on_change()
        probe_backoff = Backoff(0.5, self._offline_probe_max_s)
        while True:
            self._wake.clear()
            due = await self.outbox.next_due_at()
            if due is not None and due <= time.time():
                # Probe first: an entry claimed while the API is down counts as sent (it may have been)
                # and can no longer be edited or cancelled.
                if await self._reachable():
                    self._set_offline(False)
                    report = await self.sender.drain()
                    self._set_offline(report.offline)
                else:
                    self._set_offline(True)
            if self.offline:
                wait_s = probe_backoff.next_delay()
            else:
                probe_backoff.reset()
                due = await self.outbox.next_due_at()
                wait_s = (
                    self._idle_poll_s if due is None else min(self._idle_poll_s, max(0.0, due - time.time()))
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()

    def _set_offline(self, offline: bool) -> None:
        if offline != self.offline:
            self.offline = offline
            log.info(
                "%s: API %s", self._name, "unreachable: entries wait in the queue" if offline else "reachable"
            )
            self._on_change()

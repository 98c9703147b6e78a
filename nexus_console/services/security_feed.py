"""The security event streams of the Nexus API (`GET /security/events/{stream}`, cursor paging) for a
session: each poll reads every stream from where the last one stopped, runs the events through the
detection rules (`domain.detection`) and into the Security pane's digest, and puts the detections of the
last hour into the alert queue as the `security` source. The first poll reads the server's default
window (the last day), so the rules and the charts start with history.

One poller (`security`), so the pane, the staleness banner and the backoff work as for every source. The
rules and the digest run on a worker thread, a page at a time: a day of events is a second of Python.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.detection import DetectionEngine
from nexus_console.domain.detection_alerts import SECURITY_SOURCE, HeldDetections, detection_alert
from nexus_console.domain.detection_rules import STREAMS, DetectionRule
from nexus_console.domain.detectors import Detection
from nexus_console.domain.security_digest import SecurityDigest, SecuritySnapshot, event_time
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.services.api_client import NexusClient
from nexus_console.services.polling import Poller, PollerRegistry

SECURITY_POLLER = "security"
DIGEST_STREAMS = ("login", "api_access", "waf_block")  # what the Security pane counts
PAGE_LIMIT = 1000  # a page's rules and counting hold the interpreter lock ~10 ms: the window keeps painting
MAX_PAGES_PER_POLL = 200  # a long absence catches up over a few polls instead of one long one


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    interval_s: float = 10.0  # a detection is in the alert queue within two of them
    timeout_s: float = 30.0


class SecurityFeed:
    name = SECURITY_SOURCE  # acks of its alerts are kept by the queue, as for local rules

    def __init__(
        self,
        api: NexusClient,
        queue: AlertQueue,
        rules: Sequence[DetectionRule],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.queue = queue
        self.clock = clock
        self.engine = DetectionEngine(rules)
        # only the streams the pane counts or a rule reads (privileged access has no packaged rule)
        self.streams = [s for s in STREAMS if s in DIGEST_STREAMS or s in self.engine.streams()]
        self.digest = SecurityDigest()
        self.held = HeldDetections()
        self.cursors: dict[str, str] = {}
        queue.add_source(self)

    async def poll(self) -> SecuritySnapshot:
        read = 0
        found: list[Detection] = []
        for stream in self.streams:
            for _ in range(MAX_PAGES_PER_POLL):
                events, more = await self._page(stream)
                read += len(events)
                found.extend(await asyncio.to_thread(self._process, stream, events))
                if not more:
                    break
        self.held.add(found)
        held = self.held.current(self.clock())
        self.queue.submit_snapshot(SECURITY_SOURCE, [detection_alert(d) for d in held])
        view = await asyncio.to_thread(self.digest.view)
        return SecuritySnapshot(view, tuple(self.engine.states()), tuple(held), read)

    def _process(self, stream: str, events: list[dict[str, Any]]) -> list[Detection]:
        """On a worker thread, one page at a time (never two at once: `poll` awaits each)."""
        for event in events:
            event["at"] = event_time(str(event["at"]))
        self.digest.add(stream, events)
        return self.engine.feed(stream, events)

    async def _page(self, stream: str) -> tuple[list[dict[str, Any]], bool]:
        """One page of a stream from its cursor (its events' `at` still RFC 3339), and whether more wait."""
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if stream in self.cursors:
            params["after"] = self.cursors[stream]
        body, _headers = await self.api.get_json(f"/security/events/{stream}", params)
        events = list(body["events"])
        if body.get("next"):
            self.cursors[stream] = str(body["next"])
        return events, bool(body.get("more")) and bool(events)

    def detection(self, fingerprint: str) -> Detection | None:
        """The held detection behind a `security` alert (for Investigate: its full evidence)."""
        return self.held.get(fingerprint)


def add_security_poller(
    registry: PollerRegistry, feed: SecurityFeed, settings: SecuritySettings, *, host: str | None = None
) -> Poller[SecuritySnapshot]:
    return registry.add(
        Poller(SECURITY_POLLER, feed.poll, settings.interval_s, timeout_s=settings.timeout_s, host=host)
    )

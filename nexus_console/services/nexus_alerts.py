"""The Nexus API alert source: `GET /alerts`, the `GET /alerts/stream` SSE feed, acknowledge, silence,
unsilence, resolve.

`NexusAlertSource.run()` takes a snapshot, then follows the stream. After a disconnect it reconnects
with `Last-Event-ID`, so the server replays what was missed; replayed events it already has are skipped
(no duplicates), and a jump in the event sequence or a server whose sequence went backwards (its event
log was reset) triggers a fresh snapshot (no gaps). When the server has no stream (404, 405, 501 or not
`text/event-stream`) it polls `GET /alerts` instead and tries the stream again now and then.

It runs on the shared `SourceLoop`: whatever a snapshot, a poll or the stream raises is reported in
`last_error` and retried after a backoff; only cancellation ends `run()`. The backoff resets only when the
feed proved itself: a good, parsed snapshot while polling, or a stream connection that delivered a valid
event or stayed up `proof_after_s` (and did not misbehave). A stream that opens and then misbehaves (a line
or an event over its limit, a malformed event, an end before any event) backs off up to the backoff's cap;
a server that cannot be reached or answers an error is tried again within `poll_interval_s`, so the feed is
current soon after the server is back. A malformed event ends its connection; the next one starts from a
fresh snapshot (so the event is neither applied nor replayed, and no change is missed).

Every change goes to `sink(AlertDiff)`; alerts are keyed by fingerprint, so a row never doubles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

import httpx

from nexus_console.domain.alerts import Alert, AlertDiff, diff_snapshot
from nexus_console.domain.backoff import Backoff
from nexus_console.services.http import FetchError, describe_error
from nexus_console.services.http.errors import is_permission_denied
from nexus_console.services.nexus_alert_wire import (
    MALFORMED,
    SOURCE,
    alert_from_api,
    alert_from_event,
    malformed_text,
    parse_alert_page,
)
from nexus_console.services.polling import PERMISSION_RETRY_S
from nexus_console.services.source_loop import SourceLoop
from nexus_console.services.sse import (
    MAX_EVENT_BYTES,
    MAX_LINE_BYTES,
    SSELimitExceeded,
    SSEParser,
    aiter_sse,
)

__all__ = ["FeedMode", "NexusAlertSource", "StreamFailed", "StreamUnavailable", "alert_from_api"]

PAGE_LIMIT = 500
MAX_PAGES = 1000  # 500,000 alerts: a server whose cursor never ends is refused, not followed forever
_NO_STREAM_STATUSES = {404, 405, 406, 501}
log = logging.getLogger(__name__)

TokenProvider = Callable[[], Awaitable[str]]


class StreamUnavailable(Exception):
    """The server does not offer the alert stream."""


class StreamFailed(FetchError):
    """The stream opened and then misbehaved; str() is the human text."""


class FeedMode(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    POLLING = "polling"
    RETRYING = "retrying"


def _event_id(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


class NexusAlertSource:
    """Alerts of the Nexus API, kept current by the SSE stream (or by polling without one)."""

    name = SOURCE

    def __init__(
        self,
        client: httpx.AsyncClient,
        token_provider: TokenProvider,
        sink: Callable[[AlertDiff], object],
        *,
        base_url: str = "",
        poll_interval_s: float = 5.0,
        stream_retry_s: float = 60.0,
        read_timeout_s: float = 45.0,
        request_timeout_s: float = 10.0,
        proof_after_s: float = 30.0,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_event_bytes: int = MAX_EVENT_BYTES,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.token_provider = token_provider
        self.sink = sink
        self.base_url = base_url.rstrip("/")
        self.poll_interval_s = poll_interval_s
        self.stream_retry_s = stream_retry_s
        self.read_timeout_s = read_timeout_s
        self.request_timeout_s = request_timeout_s  # one request, or the stream's response head
        self.proof_after_s = proof_after_s
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self.backoff = backoff or Backoff(base_s=0.5, cap_s=15.0)
        self.clock = clock
        self.loop = SourceLoop("nexus alerts", self.backoff)
        self.mode = FeedMode.CONNECTING
        self.last_event_id: int | None = None
        self.last_error: str | None = None
        self.fallback_reason: str | None = None  # why it polls instead of streaming
        self.server_retry_s: float | None = None  # the stream's `retry:`: the least wait before reconnecting
        self.connects = 0  # stream connections opened
        self.events_applied = 0
        self.duplicates_skipped = 0
        self.malformed = 0  # events and listed alerts refused as malformed
        self.resyncs = 0  # snapshots taken (the first one included)
        self.connected = asyncio.Event()  # set while a stream is open
        self._known: dict[str, Alert] = {}
        self._poll_until: float | None = None  # polling (no stream) until this clock time

    @property
    def alerts(self) -> dict[str, Alert]:
        """The alerts this source currently reports (key -> alert)."""
        return dict(self._known)

    async def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {await self.token_provider()}"}
        headers.update(extra or {})
        return headers

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request within `request_timeout_s`; a 401 asks the token provider again once (it refreshes)."""
        extra = kwargs.pop("headers", None)
        for attempt in (1, 2):
            async with asyncio.timeout(self.request_timeout_s):
                response = await self.client.request(
                    method, f"{self.base_url}{path}", headers=await self._headers(extra), **kwargs
                )
            if response.status_code != 401 or attempt == 2:
                response.raise_for_status()
                return response
        raise AssertionError("unreachable")

    async def fetch_snapshot(self) -> tuple[list[Alert], int | None]:
        """Every alert (following `next_cursor`) and the newest event id when the listing began.

        Malformed alerts are left out and reported in `last_error`; a page of the wrong shape raises."""
        alerts: list[Alert] = []
        cursors: set[str] = set()
        cursor: str | None = None
        newest: int | None = None
        skipped, first_problem = 0, ""
        for page_number in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            response = await self._request("GET", "/alerts", params=params)
            if page_number == 0:
                newest = _event_id(response.headers.get("Last-Event-ID"))
            page = parse_alert_page(response)
            alerts.extend(page.alerts)
            skipped += page.skipped
            first_problem = first_problem or page.first_problem
            cursor = page.next_cursor
            if not cursor:
                break
            if cursor in cursors:
                raise FetchError(f"/alerts sent the next_cursor {cursor[:40]!r} twice; refused")
            cursors.add(cursor)
        else:
            raise FetchError(f"/alerts had more than {MAX_PAGES} pages; refused")
        if skipped:
            self.malformed += skipped
            self.last_error = f"{skipped} malformed alert(s) in /alerts left out (first: {first_problem})"
            log.warning("alert snapshot: %s", self.last_error)
        return alerts, newest

    async def resync(self) -> None:
        """Replace everything with a fresh snapshot and continue after its event id."""
        alerts, newest = await self.fetch_snapshot()
        self.resyncs += 1
        self._emit(diff_snapshot(self._known, alerts))
        self.last_event_id = newest

    def _emit(self, diff: AlertDiff) -> None:
        for key in diff.removals:
            self._known.pop(key, None)
        for alert in diff.upserts:
            self._known[alert.key] = alert
        if diff:
            self.sink(diff)

    async def run(self) -> None:
        """Follow the alerts until cancelled: stream, reconnect, or poll."""
        await self.loop.run(self._attempt, self._failed)

    async def _attempt(self) -> float:
        """One poll (no stream) or one stream connection; the wait before the next attempt."""
        if self._poll_until is not None and self.clock() < self._poll_until:
            return await self._poll()
        self._poll_until = None
        if self.last_event_id is None:
            await self.resync()
        elif self.connects:
            await self._check_server_sequence()
        try:
            proved = await self.stream_once()
        except StreamUnavailable as exc:
            self.fallback_reason = str(exc)
            self._poll_until = self.clock() + self.stream_retry_s
            self.mode = FeedMode.POLLING
            return 0.0
        if not proved:
            raise StreamFailed("the alert stream ended before sending an event")
        self.mode = FeedMode.RETRYING
        return max(self.loop.failure_delay(), self.server_retry_s or 0.0)

    async def _poll(self) -> float:
        """The stream is unavailable: read the whole list; a good answer resets the backoff."""
        self.mode = FeedMode.POLLING
        self.last_error = None
        await self.resync()
        self.loop.succeeded()
        return self.poll_interval_s

    def _failed(self, exc: Exception) -> float:
        self.connected.clear()
        self.last_error = describe_error(exc, timeout_s=self.request_timeout_s)
        polling = self._poll_until is not None
        self.mode = FeedMode.POLLING if polling else FeedMode.RETRYING
        log.info("alert feed: %s; retrying", self.last_error)
        # A stream that opened and misbehaved backs off to the cap (no reconnect storm); a server that is
        # down, hung or answering errors is tried again within a poll interval (current soon once back).
        cap = None if isinstance(exc, StreamFailed) else self.poll_interval_s
        delay = self.loop.failure_delay(cap)
        if is_permission_denied(exc):
            return max(delay, PERMISSION_RETRY_S)  # refused for the role: said in words, no retry storm
        if not polling and self.server_retry_s:
            delay = max(delay, min(self.server_retry_s, cap or self.backoff.cap_s))
        return delay

    async def _check_server_sequence(self) -> None:
        """After a reconnect: if the server's newest event id is behind ours, its log was reset."""
        response = await self._request("GET", "/alerts", params={"limit": 1})
        newest = _event_id(response.headers.get("Last-Event-ID"))
        if newest is not None and self.last_event_id is not None and newest < self.last_event_id:
            log.info("alert event sequence went back from %s to %s: resync", self.last_event_id, newest)
            await self.resync()

    async def stream_once(self) -> bool:
        """One stream connection, until the server closes it; whether the connection proved itself.
        Raises on errors (StreamUnavailable when the server has no stream)."""
        self.mode = FeedMode.CONNECTING
        extra = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Accept-Encoding": "identity"}
        if self.last_event_id is not None:
            extra["Last-Event-ID"] = str(self.last_event_id)
        request = self.client.build_request(
            "GET",
            f"{self.base_url}/alerts/stream",
            headers=await self._headers(extra),
            timeout=httpx.Timeout(self.request_timeout_s, read=self.read_timeout_s),
        )
        async with asyncio.timeout(self.request_timeout_s):
            response = await self.client.send(request, stream=True)
        try:
            if response.status_code in _NO_STREAM_STATUSES:
                raise StreamUnavailable(f"HTTP {response.status_code} from /alerts/stream")
            response.raise_for_status()
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise StreamUnavailable(f"/alerts/stream answered {content_type!r}")
            return await self._follow(response)
        finally:
            await response.aclose()

    async def _follow(self, response: httpx.Response) -> bool:
        self.connects += 1
        self.mode = FeedMode.STREAMING
        self.fallback_reason = None
        self.last_error = None
        self.connected.set()
        opened, applied_before = time.monotonic(), self.events_applied
        parser = SSEParser(
            max_line_bytes=self.max_line_bytes, max_event_bytes=self.max_event_bytes, what="the alert stream"
        )
        misbehaved = False
        try:
            async with contextlib.aclosing(aiter_sse(response, parser)) as events:
                async for event in events:
                    if event.event == "alert":
                        await self._on_event(_event_id(event.id), event.data)
        except StreamFailed:
            misbehaved = True
            raise
        except SSELimitExceeded as exc:
            misbehaved = True
            raise StreamFailed(str(exc)) from None
        except httpx.ReadTimeout:
            raise FetchError(f"the alert stream sent nothing for {self.read_timeout_s:g} s") from None
        finally:
            self.connected.clear()
            if parser.retry_ms is not None:
                self.server_retry_s = parser.retry_ms / 1000.0
            long_enough = time.monotonic() - opened >= self.proof_after_s
            proved = long_enough or (self.events_applied > applied_before and not misbehaved)
            if proved:
                self.loop.succeeded()
        return proved

    async def _on_event(self, event_id: int | None, data: str) -> None:
        last = self.last_event_id
        if event_id is not None and last is not None:
            if event_id <= last:
                self.duplicates_skipped += 1
                return
            if event_id > last + 1:
                log.info("alert events %s..%s missing: resync", last + 1, event_id - 1)
                await self.resync()
                if self.last_event_id is not None and event_id <= self.last_event_id:
                    return
        try:
            alert = alert_from_event(data)
        except MALFORMED as exc:
            self.malformed += 1
            self.last_event_id = None  # the next connection starts from a fresh snapshot, past this event
            which = f" {event_id}" if event_id is not None else ""
            raise StreamFailed(
                f"the alert stream sent a malformed event{which}: {malformed_text(exc)}"
            ) from None
        self._emit(AlertDiff((alert,)) if self._known.get(alert.key) != alert else AlertDiff())
        self.events_applied += 1
        if event_id is not None:
            self.last_event_id = event_id

    async def acknowledge(self, alert: Alert, *, comment: str = "", timeout_s: float | None = None) -> Alert:
        """POST /alerts/{id}/acknowledge; the server records the caller as the owner."""
        body: dict[str, Any] = {"comment": comment}
        if timeout_s is not None:
            body["ack_timeout_s"] = timeout_s
        return await self._action(alert, "acknowledge", body)

    async def resolve(self, alert: Alert, *, comment: str = "") -> Alert:
        return await self._action(alert, "resolve", {"comment": comment})

    async def silence(self, alert: Alert, *, duration_s: float, comment: str = "") -> Alert:
        """POST /alerts/{id}/silence: the alert is `silenced` until then, by the caller, with the comment."""
        return await self._action(alert, "silence", {"duration_s": duration_s, "comment": comment or None})

    async def unsilence(self, alert: Alert, *, comment: str = "") -> Alert:
        """POST /alerts/{id}/unsilence: the alert returns to the state it had before the silence."""
        return await self._action(alert, "unsilence", {"comment": comment or None})

    async def _action(self, alert: Alert, verb: str, body: dict[str, Any]) -> Alert:
        response = await self._request(
            "POST",
            f"/alerts/{alert.action_id}/{verb}",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        updated = alert_from_api(response.json())
        self._emit(AlertDiff((updated,)) if self._known.get(updated.key) != updated else AlertDiff())
        return updated

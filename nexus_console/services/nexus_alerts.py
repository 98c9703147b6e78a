"""The Nexus API alert source: `GET /alerts`, the `GET /alerts/stream` SSE feed, acknowledge, resolve.

`NexusAlertSource.run()` takes a snapshot, then follows the stream. After a disconnect it reconnects
with `Last-Event-ID`, so the server replays what was missed; replayed events it already has are skipped
(no duplicates), and a jump in the event sequence or a server whose sequence went backwards (its event
log was reset) triggers a fresh snapshot (no gaps). When the server has no stream (404, 405, 501 or not
`text/event-stream`) it polls `GET /alerts` instead and tries the stream again now and then.

Every change goes to `sink(AlertDiff)`; alerts are keyed by fingerprint, so a row never doubles.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity, diff_snapshot, parse_rfc3339
from nexus_console.domain.backoff import Backoff

SOURCE = "nexus"
PAGE_LIMIT = 500
_NO_STREAM_STATUSES = {404, 405, 406, 501}
log = logging.getLogger(__name__)

TokenProvider = Callable[[], Awaitable[str]]


class StreamUnavailable(Exception):
    """The server does not offer the alert stream."""


class FeedMode(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    POLLING = "polling"
    RETRYING = "retrying"


def alert_from_api(raw: Mapping[str, Any]) -> Alert:
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}

    def number(key: str) -> float | None:
        value = raw.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return Alert(
        fingerprint=str(raw["fingerprint"]),
        source=SOURCE,
        name=str(raw.get("rule") or labels.get("alertname", "")),
        severity=Severity.parse(raw.get("severity")),
        state=AlertState(raw.get("state", "firing")),
        service=str(raw.get("service") or ""),
        namespace=str(raw.get("namespace") or ""),
        labels=labels,
        summary=str(raw.get("summary") or ""),
        description=str(raw.get("description") or ""),
        runbook=str(raw.get("runbook_url") or ""),
        starts_at=parse_rfc3339(raw.get("starts_at")),
        updated_at=parse_rfc3339(raw.get("updated_at")),
        ends_at=parse_rfc3339(raw.get("ends_at")),
        ack_by=raw.get("ack_by"),
        ack_at=parse_rfc3339(raw.get("ack_at")),
        ack_expires_at=parse_rfc3339(raw.get("ack_expires_at")),
        source_id=str(raw.get("id", "")),
        value=number("value"),
        threshold=number("threshold"),
    )


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
        self.backoff = backoff or Backoff(base_s=0.5, cap_s=15.0)
        self.clock = clock
        self.mode = FeedMode.CONNECTING
        self.last_event_id: int | None = None
        self.last_error: str | None = None
        self.fallback_reason: str | None = None  # why it polls instead of streaming
        self.connects = 0  # stream connections opened
        self.events_applied = 0
        self.duplicates_skipped = 0
        self.resyncs = 0  # snapshots taken (the first one included)
        self.connected = asyncio.Event()  # set while a stream is open
        self._known: dict[str, Alert] = {}

    @property
    def alerts(self) -> dict[str, Alert]:
        """The alerts this source currently reports (key -> alert)."""
        return dict(self._known)

    async def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {await self.token_provider()}"}
        headers.update(extra or {})
        return headers

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a 401 asks the token provider again once (it refreshes)."""
        extra = kwargs.pop("headers", None)
        for attempt in (1, 2):
            response = await self.client.request(
                method, f"{self.base_url}{path}", headers=await self._headers(extra), **kwargs
            )
            if response.status_code != 401 or attempt == 2:
                response.raise_for_status()
                return response
        raise AssertionError("unreachable")

    async def fetch_snapshot(self) -> tuple[list[Alert], int | None]:
        """Every alert (following `next_cursor`) and the newest event id when the listing began."""
        alerts: list[Alert] = []
        cursor: str | None = None
        newest: int | None = None
        first = True
        while True:
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            response = await self._request("GET", "/alerts", params=params)
            if first:
                newest = _event_id(response.headers.get("Last-Event-ID"))
                first = False
            body = response.json()
            items = body.get("items", body) if isinstance(body, dict) else body
            alerts.extend(alert_from_api(raw) for raw in items)
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor:
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
        while True:
            try:
                if self.last_event_id is None:
                    await self.resync()
                elif self.connects:
                    await self._check_server_sequence()
                await self.stream_once()
                self.mode = FeedMode.RETRYING
                await asyncio.sleep(self.backoff.next_delay())
            except StreamUnavailable as exc:
                self.fallback_reason = str(exc)
                await self._poll_for(self.stream_retry_s)
            except (httpx.HTTPError, SSEError, ValueError, KeyError) as exc:
                self.connected.clear()
                self.mode = FeedMode.RETRYING
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.info("alert stream: %s; retrying", self.last_error)
                await asyncio.sleep(self.backoff.next_delay())

    async def _check_server_sequence(self) -> None:
        """After a reconnect: if the server's newest event id is behind ours, its log was reset."""
        response = await self._request("GET", "/alerts", params={"limit": 1})
        newest = _event_id(response.headers.get("Last-Event-ID"))
        if newest is not None and self.last_event_id is not None and newest < self.last_event_id:
            log.info("alert event sequence went back from %s to %s: resync", self.last_event_id, newest)
            await self.resync()

    async def stream_once(self) -> None:
        """One stream connection, until the server closes it. Raises on errors."""
        self.mode = FeedMode.CONNECTING
        extra = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            extra["Last-Event-ID"] = str(self.last_event_id)
        timeout = httpx.Timeout(10.0, read=self.read_timeout_s)
        async with aconnect_sse(
            self.client,
            "GET",
            f"{self.base_url}/alerts/stream",
            headers=await self._headers(extra),
            timeout=timeout,
        ) as source:
            response = source.response
            if response.status_code in _NO_STREAM_STATUSES:
                raise StreamUnavailable(f"HTTP {response.status_code} from /alerts/stream")
            response.raise_for_status()
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise StreamUnavailable(f"/alerts/stream answered {response.headers.get('content-type')!r}")
            self.connects += 1
            self.mode = FeedMode.STREAMING
            self.fallback_reason = None
            self.last_error = None
            self.connected.set()
            self.backoff.reset()
            try:
                async for event in source.aiter_sse():
                    if event.event != "alert":
                        continue
                    await self._on_event(_event_id(event.id), event.data)
            finally:
                self.connected.clear()

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
        alert = alert_from_api(json.loads(data))
        self._emit(AlertDiff((alert,)) if self._known.get(alert.key) != alert else AlertDiff())
        self.events_applied += 1
        if event_id is not None:
            self.last_event_id = event_id

    async def _poll_for(self, duration_s: float) -> None:
        """Poll the list for a while (the stream is unavailable), then let run() try the stream again."""
        self.mode = FeedMode.POLLING
        deadline = self.clock() + duration_s
        while True:
            try:
                await self.resync()
                self.backoff.reset()
                self.last_error = None
            except httpx.HTTPError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            if self.clock() >= deadline:
                return
            await asyncio.sleep(self.poll_interval_s)

    async def acknowledge(self, alert: Alert, *, comment: str = "", timeout_s: float | None = None) -> Alert:
        """POST /alerts/{id}/acknowledge; the server records the caller as the owner."""
        body: dict[str, Any] = {"comment": comment}
        if timeout_s is not None:
            body["ack_timeout_s"] = timeout_s
        return await self._action(alert, "acknowledge", body)

    async def resolve(self, alert: Alert, *, comment: str = "") -> Alert:
        return await self._action(alert, "resolve", {"comment": comment})

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

"""Unit tests of the Nexus alert feed's resume logic, with a scripted in-process server.

The real reference server is used by test_nexus_alert_stream.py; this fake only scripts the edge
cases a real server rarely shows on cue: replayed duplicates, a hole in the sequence, a reset event
log, and no stream at all.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import AlertDiff, AlertState
from nexus_console.domain.backoff import Backoff
from nexus_console.services.nexus_alerts import FeedMode, NexusAlertSource

pytestmark = pytest.mark.asyncio


def alert_json(alert_id: int, state: str = "firing", **extra: Any) -> dict[str, Any]:
    return {
        "id": alert_id,
        "fingerprint": f"fp{alert_id}",
        "source": "nexus",
        "rule": f"Rule{alert_id}",
        "severity": "high",
        "state": state,
        "service": "orders",
        "namespace": "commerce",
        "labels": {"alertname": f"Rule{alert_id}"},
        "summary": "",
        "description": "",
        "runbook_url": "",
        "value": 0.1,
        "threshold": 0.05,
        "starts_at": "2026-11-23T14:00:00Z",
        "updated_at": "2026-11-23T14:00:00Z",
        "ends_at": None,
        "ack_by": None,
        "ack_at": None,
        "ack_expires_at": None,
        "resolved_by": None,
        **extra,
    }


class ScriptedNexus:
    """Alerts plus an event log; each stream request sends the events after Last-Event-ID, then ends."""

    def __init__(self) -> None:
        self.alerts: dict[int, dict[str, Any]] = {}
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.stream_status = 200
        self.replay_extra = 0  # also resend this many events before the requested one
        self.hidden: set[int] = set()  # seqs left out of the stream (a hole)
        self.requests: list[httpx.Request] = []
        self.page_size = 500
        self.expired_tokens: set[str] = set()

    def change(self, alert: dict[str, Any]) -> None:
        self.alerts[alert["id"]] = alert
        self.events.append((self.latest + 1, alert))

    @property
    def latest(self) -> int:
        return self.events[-1][0] if self.events else 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if token in self.expired_tokens:
            return httpx.Response(401, json={"title": "token expired"})
        assert token.startswith("t0ken")
        if request.url.path == "/alerts":
            items = sorted(self.alerts.values(), key=lambda a: -a["id"])
            start = int(request.url.params.get("cursor", "0"))
            page = items[start : start + self.page_size]
            more = start + self.page_size < len(items)
            body = {"items": page, "next_cursor": str(start + self.page_size) if more else None}
            return httpx.Response(200, json=body, headers={"Last-Event-ID": str(self.latest)})
        if request.url.path == "/alerts/stream":
            if self.stream_status != 200:
                return httpx.Response(self.stream_status, json={"title": "no stream"})
            after = int(request.headers.get("Last-Event-ID", self.latest)) - self.replay_extra
            chunks = [
                f"id: {seq}\nevent: alert\ndata: {json.dumps(data)}\n\n"
                for seq, data in self.events
                if seq > after and seq not in self.hidden
            ]
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content="".join(chunks).encode()
            )
        if request.url.path.endswith("/acknowledge"):
            alert_id = int(request.url.path.split("/")[2])
            body = json.loads(request.content)
            acked = alert_json(alert_id, "acknowledged", ack_by="admin@nexus.test")
            self.change(acked)
            assert body == {"comment": "mine", "ack_timeout_s": 900}
            return httpx.Response(200, json=acked)
        return httpx.Response(404)


async def token() -> str:
    return "t0ken"


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.01)


class Feed:
    def __init__(self, server: ScriptedNexus, **kwargs: Any) -> None:
        self.store = AlertStore()
        self.diffs: list[AlertDiff] = []
        self.http = httpx.AsyncClient(
            transport=httpx.MockTransport(server.handler), base_url="http://nexus.test"
        )
        self.source = NexusAlertSource(
            self.http, token, self.sink, backoff=Backoff(base_s=0.01, cap_s=0.02), **kwargs
        )
        self.task: asyncio.Task[None] | None = None

    def sink(self, diff: AlertDiff) -> None:
        self.diffs.append(diff)
        self.store.apply(diff, now=0.0)

    def states(self) -> dict[int, str]:
        return {int(a.source_id): a.state.value for a in self.store}

    async def __aenter__(self) -> Feed:
        self.task = asyncio.create_task(self.source.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        await self.http.aclose()


async def test_replayed_events_are_skipped_so_nothing_is_applied_twice() -> None:
    server = ScriptedNexus()
    server.change(alert_json(1))
    server.replay_extra = 2
    async with Feed(server) as feed:
        await until(lambda: feed.source.connects >= 1, "first connection")
        server.change(alert_json(2))
        server.change(alert_json(1, "acknowledged"))
        await until(lambda: feed.source.last_event_id == 3 and feed.source.connects >= 3, "catch up")
        assert feed.states() == {1: "acknowledged", 2: "firing"}
        assert feed.source.events_applied == 2
        assert feed.source.duplicates_skipped >= 2
        assert feed.source.resyncs == 1
        stream_requests = [r for r in server.requests if r.url.path == "/alerts/stream"]
        assert stream_requests[0].headers["Last-Event-ID"] == "1"


async def test_a_hole_in_the_event_sequence_is_filled_by_a_fresh_snapshot() -> None:
    server = ScriptedNexus()
    async with Feed(server) as feed:
        await until(lambda: feed.source.connects >= 1, "first connection")
        server.change(alert_json(1))
        server.change(alert_json(2))  # seq 2 never reaches the stream
        server.change(alert_json(3))
        server.hidden = {2}
        await until(lambda: feed.source.last_event_id == 3, "catch up")
        assert feed.states() == {1: "firing", 2: "firing", 3: "firing"}
        assert feed.source.resyncs == 2


async def test_a_server_whose_event_log_was_reset_is_read_again_from_scratch() -> None:
    server = ScriptedNexus()
    for alert_id in (1, 2, 3):
        server.change(alert_json(alert_id))
    async with Feed(server) as feed:
        await until(lambda: feed.source.connects >= 1, "first connection")
        fresh = ScriptedNexus()  # the server lost its database: seq starts again at 1
        fresh.change(alert_json(7))
        server.alerts, server.events = fresh.alerts, fresh.events
        await until(lambda: feed.states() == {7: "firing"}, "the new server's alerts only")
        assert feed.source.last_event_id == 1


async def test_without_a_stream_the_feed_polls_the_list() -> None:
    server = ScriptedNexus()
    server.stream_status = 404
    server.change(alert_json(1))
    async with Feed(server, poll_interval_s=0.02, stream_retry_s=0.2) as feed:
        await until(lambda: feed.source.mode is FeedMode.POLLING, "polling mode")
        server.change(alert_json(2))
        server.alerts.pop(1)
        await until(lambda: feed.states() == {2: "firing"}, "the polled change")
        assert feed.source.fallback_reason == "HTTP 404 from /alerts/stream"
        server.stream_status = 200
        await until(lambda: feed.source.connects > 0, "the stream tried again and used")
        assert feed.source.fallback_reason is None
        server.change(alert_json(3))
        await until(lambda: 3 in feed.states(), "an event over the stream again")


async def test_acknowledge_posts_with_an_idempotency_key_and_updates_at_once() -> None:
    server = ScriptedNexus()
    server.change(alert_json(5))
    async with Feed(server) as feed:
        await until(lambda: feed.source.connects >= 1, "first connection")
        (alert,) = list(feed.store)
        updated = await feed.source.acknowledge(alert, comment="mine", timeout_s=900)
        assert updated.state is AlertState.ACKNOWLEDGED and updated.ack_by == "admin@nexus.test"
        assert feed.states() == {5: "acknowledged"}
        (post,) = [r for r in server.requests if r.method == "POST"]
        assert post.url.path == "/alerts/5/acknowledge"
        assert len(post.headers["Idempotency-Key"]) == 36
        await until(lambda: feed.source.last_event_id == 2, "the ack's own event")
        assert len(feed.store) == 1


async def test_the_snapshot_follows_every_page() -> None:
    server = ScriptedNexus()
    server.page_size = 2
    for alert_id in range(1, 8):
        server.change(alert_json(alert_id))
    async with Feed(server) as feed:
        await until(lambda: feed.source.connects >= 1, "first connection")
        assert sorted(feed.states()) == [1, 2, 3, 4, 5, 6, 7]
        snapshot_pages = [
            r for r in server.requests if r.url.path == "/alerts" and r.url.params["limit"] == "500"
        ]
        assert [r.url.params.get("cursor") for r in snapshot_pages] == [None, "2", "4", "6"]


async def test_a_401_asks_the_token_provider_again_once() -> None:
    server = ScriptedNexus()
    server.change(alert_json(1))
    server.expired_tokens = {"t0ken-1"}
    issued: list[str] = []

    async def rotating_token() -> str:
        issued.append(f"t0ken-{len(issued) + 1}")
        return issued[-1]

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(server.handler), base_url="http://nexus.test"
    ) as http:
        source = NexusAlertSource(http, rotating_token, lambda diff: None)
        alerts, newest = await source.fetch_snapshot()
    assert [a.source_id for a in alerts] == ["1"] and newest == 1
    assert issued == ["t0ken-1", "t0ken-2"]

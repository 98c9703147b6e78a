"""The Nexus alert feed against a hostile server (real sockets, tests/support/hostile_server.py): every bad
answer is reported and retried, requests keep coming, and good alerts still reach the sink afterwards.

Bounds stated by the requirement: a `data:` line that never ends costs < 30 MB of memory (the line limit is
1 MiB); a stream that sends one malformed event and ends makes <= 10 connections in 20 s at the default
backoff (0.5 s base, 15 s cap: 0.5 + 1 + 2 + 4 + 8 s of waits is 6 connections even with no jitter) — run
here at a tenth of the time scale (0.05 s base, 1.5 s cap, 2 s).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest

from nexus_console.domain.alerts import AlertDiff
from nexus_console.domain.backoff import Backoff
from nexus_console.services.nexus_alerts import FeedMode, NexusAlertSource
from tests.alerts.test_nexus_alert_feed_unit import alert_json, token
from tests.support.hostile_server import (
    Answer,
    HostileServer,
    body,
    json_answer,
    redirect,
    sse,
    sse_endless_line,
    status,
)

pytestmark = pytest.mark.asyncio

STREAM = "/alerts/stream"


def page(*ids: int, newest: int = 1) -> Answer:
    return json_answer(
        {"items": [alert_json(i) for i in ids], "next_cursor": None}, headers={"Last-Event-ID": str(newest)}
    )


def event(seq: int, data: Any) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return f"id: {seq}\nevent: alert\ndata: {text}\n\n"


class Sink:
    def __init__(self) -> None:
        self.ids: set[int] = set()

    def __call__(self, diff: AlertDiff) -> None:
        for alert in diff.upserts:
            self.ids.add(int(alert.source_id))


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.01)


class Running:
    """A NexusAlertSource running against the hostile server; records every error text it showed."""

    def __init__(self, server: HostileServer, **kwargs: Any) -> None:
        self.server = server
        self.sink = Sink()
        self.http = httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=5.0)
        kwargs.setdefault("backoff", Backoff(base_s=0.05, cap_s=0.2))
        self.source = NexusAlertSource(self.http, token, self.sink, **kwargs)
        self.errors: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def _watch_errors(self) -> None:
        while True:
            error = self.source.last_error
            if error and (not self.errors or self.errors[-1] != error):
                self.errors.append(error)
            await asyncio.sleep(0.002)

    def saw(self, text: str) -> bool:
        return any(text in error for error in self.errors)

    async def more_requests(self, path: str, n: int = 2, timeout_s: float = 5.0) -> None:
        start = self.server.count(path)
        await until(lambda: self.server.count(path) >= start + n, f"{n} more requests to {path}", timeout_s)

    async def __aenter__(self) -> Running:
        self.feed = asyncio.create_task(self.source.run())
        self._tasks = [self.feed, asyncio.create_task(self._watch_errors())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert not self.feed.done(), "the feed ended by itself"
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


async def test_one_invalid_json_answer_while_polling_does_not_end_the_feed() -> None:
    """The reproduction of the report, in process: no stream, the second `GET /alerts` is not JSON."""
    calls = 0
    healed = asyncio.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.path == STREAM:
            return httpx.Response(404, json={"title": "no stream"})
        calls += 1
        if calls == 1:
            return httpx.Response(200, json={"items": [alert_json(1)], "next_cursor": None})
        if not healed.is_set():
            return httpx.Response(200, content=b"{not json", headers={"content-type": "application/json"})
        return httpx.Response(200, json={"items": [alert_json(1), alert_json(2)], "next_cursor": None})

    sink = Sink()
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://nexus.test"
    ) as http:
        source = NexusAlertSource(
            http, token, sink, poll_interval_s=0.02, backoff=Backoff(base_s=0.01, cap_s=0.02)
        )
        feed = asyncio.create_task(source.run())
        try:
            await until(lambda: "invalid JSON" in (source.last_error or ""), "the bad answer reported")
            await until(lambda: calls >= 4, "polling goes on after the bad answer")
            assert not feed.done(), "the feed ended on one bad answer"
            assert source.mode is FeedMode.POLLING
            assert source.last_error == (
                "invalid JSON from /alerts: Expecting property name enclosed in double quotes at position 1"
            )
            healed.set()
            await until(lambda: 2 in sink.ids, "a good answer after the bad one reaches the sink")
            assert source.last_error is None
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)


async def test_polling_survives_every_bad_answer_then_delivers_a_good_one(
    server: HostileServer,
) -> None:
    server.answer(STREAM, status(404))
    server.answer("/alerts", page(1))
    async with Running(server, poll_interval_s=0.05) as feed:
        await until(lambda: feed.sink.ids == {1}, "the first snapshot")
        bad_answers = [
            (body("{not json"), "invalid JSON from /alerts"),
            (json_answer("a string"), "/alerts answered a string instead of a list of alerts"),
            (json_answer({"items": 5}), "/alerts answered an object without an items list"),
            (json_answer({"items": [], "next_cursor": 7}), "next_cursor that is a number"),
            (status(500), "HTTP 500 from /alerts"),
            (status(503), "HTTP 503 from /alerts"),
            (redirect(server.url("/elsewhere")), "HTTP 302 from /alerts"),
            (json_answer({"items": [{"id": 9}, alert_json(2)]}), "1 malformed alert(s) in /alerts left out"),
        ]
        for answer, expected in bad_answers:
            server.answer("/alerts", answer)
            await feed.more_requests("/alerts", 2)
            await until(lambda expected=expected: feed.saw(expected), f"reported: {expected}")  # type: ignore[misc]
            assert feed.source.mode is FeedMode.POLLING
        assert 2 in feed.sink.ids, "the good alert of a partly malformed page still counts"
        assert feed.source.malformed >= 1
        server.answer("/alerts", page(1, 3))
        await until(lambda: 3 in feed.sink.ids, "a good alert after the bad answers")
        await until(lambda: feed.source.last_error is None, "the error clears")


async def test_the_stream_survives_garbage_errors_and_redirects(
    server: HostileServer,
) -> None:
    server.answer("/alerts", page(1, newest=1))
    server.answer(STREAM, sse(["this line has no colon\n\n", ": a comment\n\n", event(2, "{not json")]))
    async with Running(server, poll_interval_s=0.1) as feed:
        await until(lambda: feed.saw("the alert stream sent a malformed event 2: invalid JSON"), "garbage")
        await feed.more_requests(STREAM, 2)
        assert feed.sink.ids == {1}
        server.answer(STREAM, sse([event(2, {"fingerprint": "x", "state": "on fire"})]))
        await until(lambda: feed.saw("is not a valid AlertState"), "an event of the wrong shape")
        await feed.more_requests(STREAM, 2)
        server.answer(STREAM, sse([event(2, [1, 2])]))
        await until(lambda: feed.saw("an alert is an object, not list"), "an event that is no object")
        server.answer(STREAM, status(500))
        await until(lambda: feed.saw("HTTP 500 from /alerts/stream"), "a 5xx stream")
        await feed.more_requests(STREAM, 2)
        server.answer(STREAM, redirect(server.url("/elsewhere"), status=307))
        await until(lambda: feed.saw("HTTP 307 from /alerts/stream"), "a redirected stream")
        await feed.more_requests(STREAM, 2)
        server.answer(STREAM, sse([event(2, alert_json(2))], then_hang=True))
        await until(lambda: 2 in feed.sink.ids, "a good event after all that")
        assert feed.source.mode is FeedMode.STREAMING
        assert feed.source.last_event_id == 2


async def test_a_line_that_never_ends_costs_bounded_memory_and_is_reported(server: HostileServer) -> None:
    server.answer("/alerts", page(1))
    server.answer(STREAM, sse_endless_line())
    process = psutil.Process()
    gc.collect()
    baseline = peak = process.memory_info().rss
    async with Running(server, backoff=Backoff(base_s=0.05, cap_s=0.3)) as feed:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.02)
        growth_mb = (peak - baseline) / 1e6
        assert growth_mb < 30, f"RSS grew by {growth_mb:.0f} MB while the server sent an endless line"
        assert feed.saw("the alert stream sent a line over 1 MiB"), feed.errors
        assert feed.source.connects >= 2, "it reconnects after refusing the line"


async def test_an_event_over_the_event_limit_ends_the_connection(server: HostileServer) -> None:
    many_lines = "".join(f"data: {'x' * 1000}\n" for _ in range(80)) + "\n"
    server.answer("/alerts", page(1))
    server.answer(STREAM, sse([many_lines], then_hang=True))
    async with Running(server, max_event_bytes=64 * 1024, max_line_bytes=4096) as feed:
        await until(lambda: feed.saw("the alert stream sent an event over 64 KiB"), "the event limit")
        await feed.more_requests(STREAM, 1)


async def test_a_malformed_event_does_not_start_a_reconnect_storm(server: HostileServer) -> None:
    missing_fingerprint = {k: v for k, v in alert_json(2).items() if k != "fingerprint"}
    server.answer("/alerts", page(1))
    server.answer(STREAM, sse([event(2, missing_fingerprint)]))  # then the stream ends
    backoff = Backoff(base_s=0.05, cap_s=1.5, random_fraction=lambda: 1.0)
    async with Running(server, backoff=backoff) as feed:
        await until(lambda: server.count(STREAM) >= 1, "the first connection")
        started = server.count(STREAM), server.count("/alerts")
        await asyncio.sleep(2.0)
        connects = server.count(STREAM) - started[0]
        lists = server.count("/alerts") - started[1]
        assert connects <= 10, f"{connects} stream connections in 2 s"
        assert lists <= 12, f"{lists} GET /alerts in 2 s"
        assert feed.saw("the alert stream sent a malformed event 2: missing 'fingerprint'")


async def test_only_a_connection_that_proved_itself_resets_the_backoff(server: HostileServer) -> None:
    comments = [b": a\n\n", b": b\n\n", b": c\n\n"]
    quiet = Answer(200, "text/event-stream", lambda: comments, chunked=True, delay_s=0.2)
    server.answer("/alerts", page(1))
    server.answer(STREAM, quiet)  # stays up ~0.6 s, sends no event, ends
    backoff = Backoff(base_s=0.01, cap_s=0.05)
    async with Running(server, backoff=backoff, proof_after_s=30.0) as feed:
        await feed.more_requests(STREAM, 3, timeout_s=10)
        assert backoff.failures >= 2, "up 0.6 s without an event is no proof"
    backoff = Backoff(base_s=0.01, cap_s=0.05)
    async with Running(server, backoff=backoff, proof_after_s=0.3) as feed:
        await feed.more_requests(STREAM, 3, timeout_s=10)
        assert backoff.failures <= 1, "up longer than proof_after_s is proof"
    seq = itertools.count(2)

    def one_new_event() -> list[bytes]:  # each connection: the next event, then the end of the stream
        n = next(seq)
        return [event(n, alert_json(n)).encode()]

    server.answer(STREAM, Answer(200, "text/event-stream", one_new_event, chunked=True))
    backoff = Backoff(base_s=0.01, cap_s=0.05)
    async with Running(server, backoff=backoff) as feed:
        await until(lambda: len(feed.sink.ids) >= 4, "valid events over several connections")
        assert backoff.failures <= 1, "a valid event is proof"

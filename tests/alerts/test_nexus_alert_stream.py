"""The Nexus alert feed against the real reference server: SSE, restart in mid-stream, ack, resolve."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from nexus_console.domain.alerts import AlertDiff, AlertState
from nexus_console.domain.backoff import Backoff
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.services.nexus_alerts import FeedMode, NexusAlertSource
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

T = TypeVar("T")
FAULTED_SERVICE = "puabo-nuki-order-processor"


async def eventually(probe: Callable[[], Awaitable[T | None] | T | None], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.2)


def login_provider(http: httpx.AsyncClient) -> Callable[[], Awaitable[str]]:
    """Logs in with the demo admin; logs in again when asked after a 401 or a server restart."""

    async def token() -> str:
        response = await http.post(
            "/auth/login", json={"email": "admin@nexus.test", "password": "nexus-demo"}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    return token


async def server_snapshot(http: httpx.AsyncClient, token: str) -> tuple[dict[int, dict[str, Any]], int]:
    response = await http.get("/alerts", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return {item["id"]: item for item in response.json()["items"]}, int(response.headers["Last-Event-ID"])


async def test_the_feed_survives_a_server_restart_mid_stream_with_no_duplicate_and_no_missed_change(
    refserver_factory: Callable[..., RefServer],
) -> None:
    server = refserver_factory(
        "--scenario", "none", "--clock-factor", "60", "--enable-fault-control", "--scale", "0.02"
    )
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=10.0) as http:
        token_provider = login_provider(http)
        queue = AlertQueue()
        diffs: list[AlertDiff] = []

        def sink(diff: AlertDiff) -> None:
            diffs.append(diff)
            queue.apply(diff)

        source = NexusAlertSource(http, token_provider, sink, backoff=Backoff(base_s=0.3, cap_s=2.0))
        queue.add_source(source)
        feed = asyncio.create_task(source.run())
        try:
            await eventually(lambda: source.mode is FeedMode.STREAMING, 20, "the stream to open")
            first_seq = source.last_event_id
            assert first_seq is not None
            fault = {"scope": FAULTED_SERVICE, "kind": "error_rate", "value": 0.5}
            (await http.post("/_control/faults", json=fault)).raise_for_status()

            def firing() -> list[Any]:
                return [a for a in queue.store if a.source == "nexus" and a.state is AlertState.FIRING]

            alerts = await eventually(firing, 30, "alerts raised by the fault to arrive over the stream")
            await queue.acknowledge(
                alerts[0], owner="admin@nexus.test", comment="before restart", timeout_s=3600
            )
            acked_before = alerts[0].key
            await eventually(
                lambda: (
                    (a := queue.store.get(acked_before)) is not None and a.state is AlertState.ACKNOWLEDGED
                ),
                10,
                "the ack made through the source",
            )

            seq_before_restart = source.last_event_id
            assert seq_before_restart is not None
            server.restart()
            # A change made by someone else right after the restart, while the console reconnects.
            token = await token_provider()
            other = next(a for a in firing() if a.key != acked_before) if len(firing()) > 1 else None
            if other is not None:
                response = await http.post(
                    f"/alerts/{other.source_id}/acknowledge",
                    json={"comment": "by another operator", "ack_timeout_s": 3600},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
                )
                response.raise_for_status()
            (
                await http.post("/_control/faults", json={**fault, "scope": "puabo-nuki-product-catalog"})
            ).raise_for_status()

            await eventually(lambda: source.connects >= 2, 30, "the stream to reconnect")

            async def caught_up() -> tuple[dict[int, dict[str, Any]], int] | None:
                items, latest = await server_snapshot(http, token)
                raised_after_restart = any(
                    i["service"] == "puabo-nuki-product-catalog" for i in items.values()
                )
                if raised_after_restart and source.last_event_id == latest:
                    return items, latest
                return None

            items, latest = await eventually(caught_up, 30, "the console to catch up with the server")
            assert latest > seq_before_restart
            mine = {int(a.source_id): a for a in queue.store if a.source == "nexus"}
            assert set(mine) == set(items), "every server alert once, none extra"
            for alert_id, item in items.items():
                assert mine[alert_id].state.value == item["state"], f"alert {alert_id}"
                assert mine[alert_id].ack_by == item["ack_by"]
            if other is not None:
                assert mine[int(other.source_id)].state is AlertState.ACKNOWLEDGED
            assert source.events_applied == latest - first_seq, "each event applied exactly once"
            assert source.resyncs == 1, "the reconnect resumed with Last-Event-ID instead of a new snapshot"
            keys = [a.key for a in queue.store]
            assert len(keys) == len(set(keys))
            print(
                f"\nSSE: {source.events_applied} events over {source.connects} connections, "
                f"{source.duplicates_skipped} replayed duplicates skipped"
            )
        finally:
            feed.cancel()
            with pytest.raises(asyncio.CancelledError):
                await feed


async def test_without_the_stream_the_feed_polls_the_real_server_and_still_sees_changes(
    refserver_factory: Callable[..., RefServer],
) -> None:
    server = refserver_factory(
        "--scenario",
        "none",
        "--clock-factor",
        "60",
        "--enable-fault-control",
        "--scale",
        "0.02",
        "--without-alert-stream",
    )
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=10.0) as http:
        queue = AlertQueue()
        source = NexusAlertSource(
            http,
            login_provider(http),
            queue.apply,
            poll_interval_s=0.5,
            backoff=Backoff(base_s=0.3, cap_s=2.0),
        )
        queue.add_source(source)
        feed = asyncio.create_task(source.run())
        try:
            await eventually(lambda: source.mode is FeedMode.POLLING, 20, "the feed to fall back to polling")
            assert source.fallback_reason and "404" in source.fallback_reason
            fault = {"scope": FAULTED_SERVICE, "kind": "error_rate", "value": 0.5}
            (await http.post("/_control/faults", json=fault)).raise_for_status()
            firing = await eventually(
                lambda: [
                    a for a in queue.store if a.service == FAULTED_SERVICE and a.state is AlertState.FIRING
                ],
                30,
                "alerts raised by the fault to arrive by polling",
            )
            assert all(a.source == "nexus" for a in firing)
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)

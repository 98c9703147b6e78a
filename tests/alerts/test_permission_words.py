"""A 403 in words: the account's role cannot read a source, the sentence names a role that can, and the
console stops asking every few seconds."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.freshness import SourceState, stale_text
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.services.nexus_alerts import NexusAlertSource
from nexus_console.services.polling import Poller
from tests.support.refserver import RefServer


async def finance_token(http: httpx.AsyncClient) -> str:
    response = await http.post("/auth/login", json={"email": "finance@nexus.test", "password": "nexus-demo"})
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.mark.asyncio
async def test_a_role_that_cannot_read_alerts_is_told_which_role_can_and_the_feed_stops_retrying(
    refserver_session: RefServer,
) -> None:
    requests: list[str] = []

    async def count(request: httpx.Request) -> None:
        requests.append(request.url.path)

    async with httpx.AsyncClient(
        base_url=refserver_session.base_url, trust_env=False, timeout=10.0, event_hooks={"request": [count]}
    ) as http:
        token = await finance_token(http)

        async def token_provider() -> str:
            return token

        source = NexusAlertSource(http, token_provider, AlertQueue().apply, backoff=Backoff(0.1, 0.5))
        feed = asyncio.create_task(source.run())
        try:
            for _ in range(100):
                if source.last_error:
                    break
                await asyncio.sleep(0.05)
            assert source.last_error == "You need the 'viewer' role for reading /alerts (HTTP 403)"
            asked = len(requests)
            await asyncio.sleep(2.0)  # four backoff caps: a retry loop would have asked again by now
            assert len(requests) == asked, requests
        finally:
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)


@pytest.mark.asyncio
async def test_a_source_refused_for_the_role_never_loaded_and_says_so_not_stale() -> None:
    async def refused() -> None:
        request = httpx.Request("GET", "http://127.0.0.1:9/monitoring/database/health")
        response = httpx.Response(403, json={"required_role": "admin"}, request=request)
        raise httpx.HTTPStatusError("403", request=request, response=response)

    poller: Poller[None] = Poller("db_health", refused, 0.2, timeout_s=1.0, backoff=Backoff(0.05, 0.1))
    task = asyncio.create_task(poller.run())
    try:
        for _ in range(100):
            if poller.status.state is SourceState.ERROR:
                break
            await asyncio.sleep(0.02)
        text = stale_text(poller.status, 0.0)
        assert (
            text
            == "not loaded — You need the 'admin' role for reading /monitoring/database/health (HTTP 403)"
        )
        assert poller.status.next_attempt_at is not None
        assert poller.status.next_attempt_at - poller.status.error_since >= 600  # type: ignore[operator]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

"""The poller under real faults from the reference server: timeouts, 500s, garbage bodies, a hanging
connection, and the server killed and restarted. The last good value is kept throughout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.freshness import SourceState
from nexus_console.services.auth import Credentials
from nexus_console.services.polling import Poller, PollerRegistry
from tests.console.api_support import DEMO_PASSWORD, ApiStack, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import add_fault, clear_faults, wait_until
from tests.support.refserver import RefServer

PATH = "/monitoring/api/health"


@pytest.fixture
def faulty_server(refserver_session: RefServer) -> Iterator[RefServer]:
    clear_faults(refserver_session.base_url)
    yield refserver_session
    clear_faults(refserver_session.base_url)


def health_poller(stack: ApiStack, timeout_s: float = 1.0) -> Poller[Any]:
    async def fetch() -> Any:
        body, _headers = await stack.api.get_json(PATH)
        return body

    return Poller(
        "api_health",
        fetch,
        0.2,
        timeout_s=timeout_s,
        backoff=Backoff(base_s=0.05, cap_s=0.2),
    )


@pytest.mark.parametrize(
    ("kind", "value", "expected_error"),
    [
        ("latency_ms", 4000, "timeout after 1.0 s"),
        ("error_rate", 1.0, "HTTP 500 from /monitoring/api/health: injected error in api"),
        ("garbage_body", None, "invalid JSON from /monitoring/api/health"),
        ("hang", None, "timeout after 1.0 s"),
    ],
)
def test_a_fault_turns_the_source_stale_with_its_reason_then_it_recovers(
    qloop: QLoop, faulty_server: RefServer, kind: str, value: float | None, expected_error: str
) -> None:
    base_url = faulty_server.base_url

    async def scenario() -> None:
        async with api_stack(base_url) as stack:
            await stack.auth.login(Credentials("viewer@nexus.test", DEMO_PASSWORD))
            registry = PollerRegistry()
            poller = registry.add(health_poller(stack))
            registry.start()
            try:
                await wait_until(lambda: poller.status.state is SourceState.OK)
                good = poller.status.last_good
                await asyncio.to_thread(add_fault, base_url, "api", kind, value)
                # On a loaded machine an early attempt may time out instead; wait for the fault's own error.
                await wait_until(
                    lambda: (
                        poller.status.state is SourceState.ERROR
                        and (poller.status.error or "").startswith(expected_error)
                    ),
                    timeout_s=10,
                )
                failed = poller.status
                assert failed.last_good == good, "the last good value is kept, never blanked"
                assert failed.is_stale(time.time())
                assert failed.next_attempt_at is not None
                await asyncio.to_thread(clear_faults, base_url)
                await wait_until(lambda: poller.status.state is SourceState.OK, timeout_s=10)
                assert poller.status.last_good is not None and poller.status.last_good != good
                assert poller.status.error is None
            finally:
                await registry.aclose()

    qloop.run(scenario())


def test_server_killed_and_restarted_goes_stale_then_recovers(qloop: QLoop, refserver_factory: Any) -> None:
    server: RefServer = refserver_factory("--seed", "7", "--scale", "0.02", "--scenario", "none")
    errors: list[str] = []

    async def scenario() -> None:
        async with api_stack(server.base_url) as stack:
            await stack.auth.login(Credentials("viewer@nexus.test", DEMO_PASSWORD, remember=True))
            registry = PollerRegistry()
            poller = registry.add(health_poller(stack, timeout_s=2.0))
            poller.subscribe(lambda status: status.error and errors.append(status.error))
            registry.start()
            try:
                await wait_until(lambda: poller.status.state is SourceState.OK)
                await asyncio.to_thread(server.kill)
                await wait_until(lambda: poller.status.state is SourceState.ERROR, timeout_s=10)
                assert poller.status.last_good is not None
                await asyncio.to_thread(
                    server.start
                )  # same port; a 401 there goes through the recovery steps
                await wait_until(lambda: poller.status.state is SourceState.OK, timeout_s=30)
            finally:
                await registry.aclose()

    qloop.run(scenario(), timeout_s=90)
    assert any(error.startswith("cannot connect to 127.0.0.1:") for error in errors), errors

"""Pollers against a failing and a hostile server (real sockets, tests/support/hostile_server.py): the loop
survives everything its fetch raises, a source that comes back is fresh within one interval, a recovering
source wakes the failing sources of its host, and a hung estate is reported within the probe timeout.

Time bounds are the requirement plus slack for a loaded 2-core CI machine: "fresh within one interval" is
asserted as interval + 1 s, "a hung probe is reported within its timeout" as probe timeout + sweep interval
+ 1.5 s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Collection, Iterator
from typing import Any

import httpx
import pytest

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.freshness import SourceState
from nexus_console.domain.health import PROBES, Probe, ProbeOutcome
from nexus_console.domain.service_catalog import ServiceCatalog, ServiceInfo
from nexus_console.services.api_client import NexusClient
from nexus_console.services.health_sources import PROBES as PROBES_SOURCE
from nexus_console.services.health_sources import HealthSources, HealthSourceSettings
from nexus_console.services.polling import Poller, PollerRegistry
from nexus_console.services.probe_sweep import sweep_estate
from nexus_console.services.source_loop import SourceLoop
from tests.support.hostile_server import HANG, HostileServer, body, json_answer, status

pytestmark = pytest.mark.asyncio

HEALTH_UP = {"status": "up", "service": "x", "version": "1.0", "uptime_s": 3, "checks": {}}
PATHS = {
    Probe.HEALTH: "health",
    Probe.LIVE: "health/live",
    Probe.READY: "health/ready",
    Probe.METRICS: "metrics",
}


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


async def until(condition: Any, what: str, timeout_s: float) -> float:
    """Wait for condition(); the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def document_poller(http: httpx.AsyncClient, path: str, interval_s: float, **kwargs: Any) -> Poller[Any]:
    async def fetch() -> Any:
        response = await http.get(path)
        response.raise_for_status()
        return response.json()

    return Poller(path.strip("/"), fetch, interval_s, timeout_s=1.0, **kwargs)


async def test_a_poller_back_from_a_dead_server_is_fresh_within_one_interval(server: HostileServer) -> None:
    server.answer("/doc", status(503))
    # The documents' backoff (1 s base, 10 s retry max) at its worst jitter: 1, 2, 4, 8 s between attempts.
    backoff = Backoff(1.0, 10.0, random_fraction=lambda: 1.0)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=2.0) as http:
        registry = PollerRegistry()
        poller = registry.add(document_poller(http, "/doc", 1.0, backoff=backoff))
        registry.start()
        try:
            await until(lambda: server.count("/doc") >= 3, "three failed polls", 10)
            assert poller.status.state is SourceState.ERROR
            assert poller.status.error == "HTTP 503 from /doc"
            assert poller.status.next_attempt_at is not None
            assert poller.status.next_attempt_at - time.time() <= 1.0 + 0.1, (
                "a failing poller waits <= interval"
            )
            await asyncio.sleep(0.5)
            server.answer("/doc", json_answer({"ok": True}))
            took = await until(lambda: poller.status.state is SourceState.OK, "fresh again", 5)
            assert took <= 1.0 + 1.0, f"fresh {took:.1f} s after the server came back (interval 1 s)"
            assert not poller.status.is_stale(time.time())
        finally:
            await registry.aclose()


def patient() -> Backoff:
    return Backoff(20.0, 30.0, random_fraction=lambda: 1.0)


async def test_a_recovering_source_wakes_the_failing_sources_of_its_host(server: HostileServer) -> None:
    server.answer("/quick", status(503))
    server.answer("/slow", status(503))
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=2.0) as http:
        registry = PollerRegistry()
        quick = registry.add(document_poller(http, "/quick", 0.5, host="api"))
        # Deep in its backoff: 20 s to its next attempt after a failure.
        slow = registry.add(document_poller(http, "/slow", 60.0, host="api", backoff=patient()))
        other_host = registry.add(document_poller(http, "/other", 60.0, host="elsewhere", backoff=patient()))
        registry.start()
        try:
            await until(lambda: slow.status.state is SourceState.ERROR, "the slow source failing", 5)
            await until(lambda: other_host.status.state is SourceState.ERROR, "the other host failing", 5)
            server.answer("/quick", json_answer({"ok": 1}))
            server.answer("/slow", json_answer({"ok": 2}))
            await until(lambda: quick.status.state is SourceState.OK, "the quick source back", 3)
            took = await until(lambda: slow.status.state is SourceState.OK, "the slow one woken", 3)
            assert took < 2.0
            assert server.count("/other") == 1, "a source of another host is not woken"
        finally:
            await registry.aclose()


async def test_nothing_a_fetch_raises_ends_the_poller_only_cancellation_does() -> None:
    answers: list[Any] = [
        RuntimeError("boom"),
        RecursionError("deep"),
        asyncio.CancelledError(),  # from an inner operation, not a cancel of the poller's task
        {"generated_at": "bad"},  # the source_time function raises on it
        {"generated_at": 1.0},
    ]

    async def fetch() -> Any:
        answer = answers.pop(0) if answers else {"generated_at": 2.0}
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def source_time(value: Any) -> float:
        return float(value["generated_at"])

    poller = Poller("doc", fetch, 0.05, timeout_s=1.0, source_time=source_time, backoff=Backoff(0.01, 0.02))
    errors: list[str] = []
    poller.subscribe(lambda s: s.error and errors.append(s.error))
    task = asyncio.create_task(poller.run())
    try:
        await until(lambda: poller.status.state is SourceState.OK and not answers, "every answer", 5)
        assert errors == [
            "RuntimeError: boom",
            "RecursionError: deep",
            "SpuriousCancel: an operation of the source was cancelled from elsewhere",
            "ValueError: could not convert string to float: 'bad'",
        ]
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_loop_passes_cancellation_through_even_in_a_wait() -> None:
    loop = SourceLoop("test", Backoff(10.0, 10.0))

    async def failing() -> float:
        raise OSError("down")

    task = asyncio.create_task(loop.run(failing, lambda exc: 10.0))
    await until(lambda: loop.attempts >= 1, "one attempt", 2)
    loop.poke()
    await until(lambda: loop.attempts >= 2, "a poke ends the wait", 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def catalog_on(server: HostileServer, count: int) -> list[dict[str, Any]]:
    items = []
    for i in range(count):
        urls = {f"{p.value}_url": server.url(f"/svc/s{i:02d}/{path}") for p, path in PATHS.items()}
        info = {"name": f"s{i:02d}", "namespace": "ns", "port": None, "tier": "t", "description": ""}
        items.append(info | urls)
    return items


def answer_estate(server: HostileServer, items: list[dict[str, Any]], hang: Collection[str] = ()) -> None:
    for item in items:
        for probe, path in PATHS.items():
            url_path = f"/svc/{item['name']}/{path}"
            if item["name"] in hang:
                server.answer(url_path, HANG)
            elif probe is Probe.METRICS:
                server.answer(url_path, body("# HELP x\n", content_type="text/plain"))
            else:
                server.answer(url_path, json_answer(HEALTH_UP))


async def test_a_hung_estate_turns_the_probes_source_to_timeout_within_the_probe_timeout(
    server: HostileServer,
) -> None:
    items = catalog_on(server, 44)
    server.answer("/monitoring/services", json_answer({"generated_at": time.time(), "items": items}))
    answer_estate(server, items)
    settings = HealthSourceSettings(
        services_interval_s=60.0,
        probes_interval_s=1.0,
        probe_timeout_s=1.0,
        metrics_interval_s=60.0,
        documents_interval_s=60.0,
        documents_timeout_s=2.0,
    )
    executor = concurrent.futures.ThreadPoolExecutor(2)
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        registry = PollerRegistry()
        health = HealthSources(registry, NexusClient(server.base_url, http), http, executor, settings)
        registry.start()
        try:
            probes = health.probes
            await until(lambda: probes.status.state is SourceState.OK, "a first sweep", 10)
            answer_estate(server, items, hang={item["name"] for item in items})  # SIGSTOP, in effect
            took = await until(lambda: probes.status.state is SourceState.ERROR, "probes reported hung", 8)
            assert took <= 1.0 + 1.0 + 1.5, f"the hang was reported after {took:.1f} s"
            assert probes.status.error == "all 176 probes failed: timeout after 1.0 s"
            assert probes.status.is_stale(time.time())
            assert registry.get(PROBES_SOURCE) is probes
        finally:
            await registry.aclose()
            executor.shutdown(wait=True)


async def test_one_hung_service_behind_a_shared_port_times_out_alone(server: HostileServer) -> None:
    items = catalog_on(server, 44)
    answer_estate(server, items, hang={"s07"})
    catalog = ServiceCatalog(None, tuple(ServiceInfo.from_json(item) for item in items))
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        started = time.monotonic()
        sweep = await sweep_estate(http, catalog, limit=16, timeout_s=1.0)
        took = time.monotonic() - started
    cells = sweep.by_cell()
    assert [r.service for r in sweep.results[:4]] == ["s00"] * 4, "results in service order"
    assert {cells[("s07", p)].outcome for p in PROBES} == {ProbeOutcome.TIMEOUT}
    assert cells[("s07", Probe.HEALTH)].detail == "timeout after 1.0 s"
    others = {r.outcome for r in sweep.results if r.service != "s07"}
    assert others == {ProbeOutcome.UP}, "the host answers: its other services are probed as usual"
    assert took < 1.0 + 2.0, f"the sweep took {took:.1f} s"

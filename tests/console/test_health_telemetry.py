"""Unit tests of the Health sources' fetching, with an in-process transport (the integration tests in
test_health_pane.py run the same code against the real reference server)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from nexus_console.domain.health import Probe, ProbeOutcome
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.services.http import FetchError
from nexus_console.services.probe_sweep import sweep_estate
from nexus_console.services.telemetry import (
    MetricsCollector,
    MetricsRound,
    fetch_api_health,
    parse_generated_at,
)


def make_catalog(names: list[str]) -> ServiceCatalog:
    return ServiceCatalog.from_json(
        {
            "items": [
                {
                    "name": n,
                    "namespace": "ns",
                    "health_url": f"http://svc.test/{n}/health",
                    "live_url": f"http://svc.test/{n}/health/live",
                    "ready_url": f"http://svc.test/{n}/health/ready",
                    "metrics_url": f"http://svc.test/{n}/metrics",
                }
                for n in names
            ]
        }
    )


def client(handler: Callable[[httpx.Request], Any]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


HEALTH_UP = {"status": "up", "service": "x", "version": "1.0", "uptime_s": 3, "checks": {}}


def test_a_sweep_has_one_result_per_service_and_probe_with_specific_reasons() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        name, *rest = request.url.path.strip("/").split("/")
        path = "/".join(rest)
        if name == "slow":
            await asyncio.sleep(5)
        if name == "broken" and path == "health":
            return httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"})
        if name == "broken" and path == "health/ready":
            return httpx.Response(500)
        if path == "metrics":
            return httpx.Response(200, text="# HELP x\n", headers={"content-type": "text/plain"})
        if path == "health":
            return httpx.Response(200, json=HEALTH_UP)
        return httpx.Response(200, json={"status": "up"})

    async def scenario() -> Any:
        async with client(handler) as http:
            return await sweep_estate(http, make_catalog(["ok", "slow", "broken"]), limit=4, timeout_s=0.3)

    result = run(scenario())
    cells = result.by_cell()
    assert len(cells) == 12
    assert cells[("ok", Probe.HEALTH)].outcome is ProbeOutcome.UP
    assert cells[("ok", Probe.HEALTH)].report.version == "1.0"
    assert cells[("slow", Probe.LIVE)].outcome is ProbeOutcome.TIMEOUT
    assert cells[("slow", Probe.LIVE)].detail == "timeout after 0.3 s"
    assert cells[("broken", Probe.HEALTH)].outcome is ProbeOutcome.ERROR
    assert "invalid health JSON" in cells[("broken", Probe.HEALTH)].detail
    assert cells[("broken", Probe.READY)].detail == "HTTP 500"


def test_the_sweep_fails_as_a_whole_only_when_every_probe_failed_to_connect() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    async def scenario() -> Any:
        async with client(handler) as http:
            return await sweep_estate(http, make_catalog(["a", "b"]), timeout_s=0.5)

    with pytest.raises(FetchError, match="all 8 probes failed: cannot connect"):
        run(scenario())


def test_the_concurrency_limit_is_respected() -> None:
    active = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200, json=HEALTH_UP)

    async def scenario() -> None:
        async with client(handler) as http:
            await sweep_estate(http, make_catalog([f"s{i}" for i in range(20)]), limit=5, timeout_s=1)

    run(scenario())
    assert peak == 5


class Service:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "r", ["endpoint", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "l",
            ["endpoint"],
            buckets=(0.1, 0.5, 1.0),
            registry=self.registry,
        )

    def text(self) -> bytes:
        return generate_latest(self.registry)


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True)


def test_metrics_rounds_derive_rates_between_scrapes_and_record_gaps(
    executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    service = Service()
    now = [100.0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/garbage"):
            return httpx.Response(200, content=b"\x00nonsense{", headers={"content-type": "text/plain"})
        return httpx.Response(
            200, content=service.text(), headers={"content-type": "text/plain; version=0.0.4"}
        )

    async def scenario() -> tuple[MetricsRound, MetricsRound, MetricsCollector]:
        async with client(handler) as http:
            collector = MetricsCollector(http, executor, clock=lambda: now[0])
            catalog = make_catalog(["good", "garbage"])
            service.requests.labels("/a", "GET", "200").inc(10)
            first = await collector.scrape(catalog)
            for _ in range(20):
                service.requests.labels("/a", "GET", "200").inc()
                service.latency.labels("/a").observe(0.3)
            service.requests.labels("/a", "GET", "503").inc(4)
            now[0] = 102.0
            second = await collector.scrape(catalog)
            return first, second, collector

    first, second, collector = run(scenario())
    assert math.isnan(first.samples["good"].rps)
    sample = second.samples["good"]
    assert sample.rps == pytest.approx(12.0)
    assert sample.rps_5xx == pytest.approx(2.0)
    assert 100 < sample.p50_ms < 500
    assert "invalid metrics text" in second.errors["garbage"]
    ring = collector.history.ring("garbage")
    assert len(ring) == 2 and math.isnan(ring.column("rps")[-1])
    assert collector.history.ring("good").column("rps")[-1] == pytest.approx(12.0)
    # The round survives the cache without its (large) history.
    restored = MetricsRound.from_json(json.loads(json.dumps(second.to_json())))
    assert restored.samples["good"].rps == pytest.approx(12.0)
    assert math.isnan(restored.samples["good"].cpu_pct)
    assert restored.history is None


def test_a_wrong_content_type_on_metrics_is_a_per_service_error(
    executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"oops": 1})

    async def scenario() -> MetricsRound:
        async with client(handler) as http:
            return await MetricsCollector(http, executor).scrape(make_catalog(["a"]))

    assert "unexpected content type 'application/json'" in run(scenario()).errors["a"]


class FakeApi:
    def __init__(self, body: Any) -> None:
        self.body = body

    async def get_json(self, path: str, params: Any = None) -> tuple[Any, httpx.Headers]:
        return self.body, httpx.Headers()


def test_a_health_document_of_the_wrong_shape_fails_the_source_with_the_reason() -> None:
    with pytest.raises(FetchError, match="unexpected body from /monitoring/api/health"):
        run(fetch_api_health(FakeApi({"latency_ms": "fast"})))
    body = {"generated_at": "2026-11-23T14:37:48.158Z", "latency_ms": {"p95": 10}}
    assert run(fetch_api_health(FakeApi(body))) == body
    assert parse_generated_at(body) == pytest.approx(1795445868.158)


def test_rates_use_a_trailing_window_so_a_scrape_between_two_updates_does_not_read_zero(
    executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    service = Service()
    now = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=service.text(), headers={"content-type": "text/plain"})

    async def scenario() -> list[float]:
        rates = []
        async with client(handler) as http:
            collector = MetricsCollector(http, executor, rate_window_s=4.0, clock=lambda: now[0])
            catalog = make_catalog(["svc"])
            # The service updates its counters every 2 s; the console scrapes every second.
            for second in range(12):
                now[0] = float(second)
                if second % 2 == 0:
                    service.requests.labels("/a", "GET", "200").inc(20)
                round_ = await collector.scrape(catalog)
                rates.append(round_.samples["svc"].rps)
            assert all(len(kept) <= 6 for kept in collector._previous.values())
        return rates

    rates = run(scenario())
    steady = rates[5:]
    assert all(r == pytest.approx(10.0, rel=0.3) for r in steady), rates
    assert 0.0 not in steady

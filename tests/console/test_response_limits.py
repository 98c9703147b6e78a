"""Limits on what the network sends, over real sockets against the hostile server: a 50 MB body is refused
with a sentence that says so, and the test process's RSS stays bounded while the server keeps answering 50 MB
bodies (with a Content-Length, chunked without one, and through the lean GET pool); a body just under its
limit is accepted; too many items are refused; nothing of a refused body is cached."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import gzip
import time
from collections.abc import Awaitable, Callable

import httpx
import psutil
import pytest

from nexus_console.domain.health import Probe, ProbeOutcome
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.services.alertmanager import AlertmanagerClient
from nexus_console.services.api_client import NexusClient
from nexus_console.services.http import (
    BodyTooLarge,
    FetchError,
    ResponseLimits,
    TooManyItems,
    build_estate_client,
    build_http_client,
    describe_error,
    get_directly,
)
from nexus_console.services.http.limits import MiB
from nexus_console.services.profiles import TlsSettings
from nexus_console.services.prometheus import PrometheusClient
from nexus_console.services.telemetry import MetricsCollector, probe_once
from tests.support.hostile_server import Answer, HostileServer, body, huge_json, json_answer, sse
from tests.support.qloop import QLoop

RSS_BOUND_MB = 30  # RSS growth allowed while 50 MB bodies keep arriving (the API limit is 8 MiB)
HAMMER_S = 3.0


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MiB


async def rss_growth_while(attempt: Callable[[], Awaitable[None]], seconds: float = HAMMER_S) -> float:
    """Run `attempt` over and over for `seconds` (after one warm-up); the largest RSS growth seen, in MB."""
    await attempt()
    gc.collect()
    start = rss_mb()
    peak = start
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await attempt()
        peak = max(peak, rss_mb())
    return peak - start


def catalog_of(server: HostileServer, *names: str) -> ServiceCatalog:
    return ServiceCatalog.from_json(
        {
            "items": [
                {
                    "name": name,
                    "namespace": "ns",
                    "health_url": server.url(f"/{name}/health"),
                    "live_url": server.url(f"/{name}/health/live"),
                    "ready_url": server.url(f"/{name}/health/ready"),
                    "metrics_url": server.url(f"/{name}/metrics"),
                }
                for name in names
            ]
        }
    )


def json_of_size(size: int) -> bytes:
    """A valid JSON document (one string in a list) of exactly `size` bytes."""
    return b'["' + b"x" * (size - 4) + b'"]'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_api_client_refuses_a_50_mb_body_and_memory_stays_bounded(chunked: bool) -> None:
    async def scenario() -> float:
        with HostileServer() as server:
            server.answer("/monitoring/services", huge_json(50, chunked=chunked))
            server.answer("/alerts", huge_json(50, chunked=chunked))
            async with build_http_client(TlsSettings()) as http:
                api = NexusClient(server.base_url, http)

                async def attempt() -> None:
                    with pytest.raises(BodyTooLarge) as refused:
                        await api.get_json("/monitoring/services")
                    assert (
                        str(refused.value) == "the API sent more than 8 MiB for /monitoring/services; refused"
                    )
                    assert describe_error(refused.value) == str(refused.value)

                growth = await rss_growth_while(attempt)
                assert server.count("/monitoring/services") >= 3
                with pytest.raises(
                    BodyTooLarge, match=r"^the API sent more than 16 MiB for /alerts; refused$"
                ):
                    await api.get_json("/alerts", {"limit": 500})  # an alert page has a limit of its own
                assert api._getter.cached_bytes == 0, "a refused body is never cached"
                return growth

    growth = asyncio.run(scenario())
    assert growth < RSS_BOUND_MB, f"RSS grew {growth:.0f} MB while refusing 50 MB bodies"


def test_a_body_just_under_the_limit_is_accepted_and_one_byte_more_is_refused() -> None:
    limits = ResponseLimits(1 * MiB, max_items=10)

    async def scenario() -> None:
        with HostileServer() as server:
            server.answer("/exact", body(json_of_size(1 * MiB)))
            server.answer("/over", Answer(chunks=lambda: [json_of_size(1 * MiB + 1)], chunked=True))
            async with build_http_client(TlsSettings()) as http:
                api = NexusClient(server.base_url, http, limits=limits)
                value, _ = await api.get_json("/exact")
                assert len(value[0]) == 1 * MiB - 4
                with pytest.raises(BodyTooLarge, match=r"^the API sent more than 1 MiB for /over; refused$"):
                    await api.get_json("/over")
                # the default limit (8 MiB) takes a 7.9 MB document, parsed off the loop
                server.answer("/big", huge_json(7.9, chunked=True))
                big, _ = await NexusClient(server.base_url, http).get_json("/big")
                assert big[-1] == "end"

    asyncio.run(scenario())


def test_too_many_items_are_refused_in_words() -> None:
    async def scenario() -> None:
        with HostileServer() as server:
            server.answer("/monitoring/services", json_answer({"items": [{"n": i} for i in range(10_001)]}))
            server.answer("/ok", json_answer({"items": [{"n": i} for i in range(10_000)]}))
            many_small = b"[" + b",".join([b"0"] * 400_000) + b"]"  # 800 KB: parsed in steps, stops early
            server.answer("/flat", body(many_small))
            async with build_http_client(TlsSettings()) as http:
                api = NexusClient(server.base_url, http)
                with pytest.raises(TooManyItems) as refused:
                    await api.get_json("/monitoring/services")
                assert str(refused.value) == (
                    "the API sent more than 10,000 items in one list for /monitoring/services; refused"
                )
                assert len((await api.get_json("/ok"))[0]["items"]) == 10_000
                with pytest.raises(TooManyItems, match="more than 10,000 items in one list for /flat"):
                    await api.get_json("/flat")

    asyncio.run(scenario())


def test_a_refused_body_leaves_the_etag_cache_as_it_was() -> None:
    async def scenario() -> None:
        with HostileServer() as server:
            server.answer("/doc", json_answer({"v": 1}, headers={"ETag": '"v1"'}))
            async with build_http_client(TlsSettings()) as http:
                api = NexusClient(server.base_url, http)
                assert (await api.get_json("/doc"))[0] == {"v": 1}
                cached = api._getter.cached_bytes
                huge = dataclasses.replace(huge_json(20, chunked=True), headers={"ETag": '"v2"'})
                server.answer("/doc", huge)
                with pytest.raises(BodyTooLarge):
                    await api.get_json("/doc")
                assert api._getter.cached_bytes == cached

    asyncio.run(scenario())


def test_metrics_through_the_lean_pool_refuse_50_mb_and_memory_stays_bounded() -> None:
    metrics_text = dataclasses.replace(huge_json(50), content_type="text/plain; version=0.0.4")
    chunked_text = dataclasses.replace(huge_json(50, chunked=True), content_type="text/plain; version=0.0.4")

    async def scenario() -> float:
        with (
            HostileServer() as server,
            concurrent.futures.ThreadPoolExecutor(2) as executor,
        ):
            server.answer("/a/metrics", metrics_text)
            server.answer("/b/metrics", chunked_text)
            catalog = catalog_of(server, "a", "b")
            async with build_estate_client(TlsSettings(), timeout_s=10.0) as http:
                collector = MetricsCollector(http, executor, timeout_s=10.0)

                async def attempt() -> None:
                    round_ = await collector.scrape(catalog)
                    assert round_.errors == {
                        "a": "service a sent more than 2 MiB for /a/metrics; refused",
                        "b": "service b sent more than 2 MiB for /b/metrics; refused",
                    }

                return await rss_growth_while(attempt)

    growth = asyncio.run(scenario())
    assert growth < RSS_BOUND_MB, f"RSS grew {growth:.0f} MB while refusing 50 MB scrapes"


def test_the_lean_pool_bounds_probes_metrics_lines_and_compressed_bodies() -> None:
    lines = b"".join(b"m_%d 1\n" % i for i in range(50_001))
    bomb = gzip.compress(b"0" * (40 * MiB))  # 40 KB on the wire

    async def scenario() -> None:
        with HostileServer() as server, concurrent.futures.ThreadPoolExecutor(1) as executor:
            server.answer("/a/metrics", body(lines, content_type="text/plain"))
            server.answer("/bomb", Answer(chunks=lambda: [bomb], headers={"Content-Encoding": "gzip"}))
            async with build_estate_client(TlsSettings()) as http:
                round_ = await MetricsCollector(http, executor).scrape(catalog_of(server, "a"))
                assert (
                    round_.errors["a"]
                    == "service a sent more than 50,000 lines of metrics for /a/metrics; refused"
                )
                with pytest.raises(
                    BodyTooLarge, match=r"^the server at 127\.0\.0\.1:\d+ sent more than 16 MiB"
                ):
                    await get_directly(http, server.url("/bomb"))
                service = catalog_of(server, "a").services[0]
                server.answer("/a/health", huge_json(3, chunked=True))
                result, transport_failed = await probe_once(http, service, Probe.HEALTH, timeout_s=5.0)
                assert (result.outcome, result.detail) == (
                    ProbeOutcome.ERROR,
                    "service a sent more than 2 MiB for /a/health; refused",
                )
                assert not transport_failed, "the service answered: it is not cut off"
                just_under = body(b"x" * (2 * MiB), content_type="text/plain")
                server.answer("/a/metrics", just_under)
                round_ = await MetricsCollector(http, executor).scrape(catalog_of(server, "a"))
                assert "refused" not in round_.errors.get("a", "")

    asyncio.run(scenario())


def test_the_transport_backstop_bounds_plain_httpx_calls_but_not_event_streams() -> None:
    async def scenario() -> None:
        with HostileServer() as server:
            server.answer("/auth/me", huge_json(50, chunked=True))
            server.answer("/auth/login", huge_json(50))
            server.answer("/stream", sse([f"data: {'x' * 1000}\n\n" for _ in range(100)]))
            async with build_http_client(TlsSettings(), timeout_s=10.0) as http:
                for path in ("/auth/me", "/auth/login"):
                    with pytest.raises(httpx.HTTPError) as refused:  # what callers of httpx already handle
                        await http.get(server.url(path))
                    assert isinstance(refused.value, FetchError)
                    assert str(refused.value).endswith(f"sent more than 16 MiB for {path}; refused")
                stream = await http.get(server.url("/stream"))
                assert stream.text.count("data: ") == 100

    asyncio.run(scenario())


def test_alertmanager_and_prometheus_refuse_oversized_and_overfull_answers() -> None:
    async def scenario() -> None:
        with HostileServer() as server:
            server.answer("/am/api/v2/alerts", huge_json(50, chunked=True))
            server.answer("/am/api/v2/silences", json_answer([{"id": str(i)} for i in range(20_001)]))
            server.answer("/prom/api/v1/rules", huge_json(50))
            async with build_estate_client(TlsSettings(), timeout_s=10.0) as http:
                alertmanager = AlertmanagerClient("am1", server.url("/am"), http)
                with pytest.raises(BodyTooLarge) as refused:
                    await alertmanager.alerts()
                assert (
                    str(refused.value)
                    == "Alertmanager am1 sent more than 16 MiB for /am/api/v2/alerts; refused"
                )
                with pytest.raises(TooManyItems, match="Alertmanager am1 sent more than 20,000 items"):
                    await alertmanager.silences()
                with pytest.raises(
                    BodyTooLarge, match=r"^Prometheus sent more than 16 MiB for /prom/api/v1/rules; refused$"
                ):
                    await PrometheusClient(server.url("/prom"), http).alerting_rules()

    asyncio.run(scenario())


def test_an_announced_chunk_over_the_limit_is_refused_without_reading_it() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        # announces a 1 GiB chunk, then sends a trickle: the refusal must not wait for (or buffer) it
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n40000000\r\n" + b"x" * 1000)
        await writer.drain()
        await asyncio.sleep(5)

    async def scenario() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with build_estate_client(TlsSettings(), timeout_s=3.0) as http:
                with pytest.raises(BodyTooLarge, match="sent more than 16 MiB for /x; refused"):
                    await get_directly(http, f"http://127.0.0.1:{port}/x")
        finally:
            server.close()

    asyncio.run(scenario())


def test_a_refused_connection_is_closed_and_emptied_on_the_consoles_qasync_loop(qloop: QLoop) -> None:
    """qasync installs no async-generator hooks: a response stream abandoned at a refusal must be closed
    by us, in order, or httpcore's close fails half done and the connection leaks with its buffer."""

    def readers_of(port: int) -> list[tuple[int, bool]]:
        """(bytes buffered, closing) of every stream reader connected to `port` (this test's server)."""
        found = []
        for reader in gc.get_objects():
            if isinstance(reader, asyncio.StreamReader) and reader._transport is not None:
                peer = reader._transport.get_extra_info("peername")
                if peer and peer[1] == port:
                    found.append((len(reader._buffer), reader._transport.is_closing()))
        return found

    async def scenario() -> list[tuple[int, bool]]:
        with HostileServer() as server:
            server.answer("/monitoring/services", huge_json(50, chunked=True))
            server.answer("/auth/me", huge_json(50, chunked=True))
            async with build_http_client(TlsSettings()) as http:
                api = NexusClient(server.base_url, http)
                for _ in range(3):
                    with pytest.raises(BodyTooLarge):
                        await api.get_json("/monitoring/services")
                    with pytest.raises(BodyTooLarge):  # through the transport's backstop
                        await http.get(server.url("/auth/me"))
                await asyncio.sleep(0.1)
                return readers_of(int(server.base_url.rsplit(":", 1)[1]))

    gc.disable()  # what an abandoned connection holds must be gone without a garbage collection
    try:
        readers = qloop.run(scenario(), timeout_s=30)
    finally:
        gc.enable()
    assert readers and all(closing and buffered == 0 for buffered, closing in readers), readers

"""The probe sweep of the Health pane, bounded in time when a host hangs.

A host that accepts connections and never answers (a process stopped with SIGSTOP, a wedged proxy) would
make every one of its probes wait the full per-probe timeout, `limit` at a time: 176 probes through 16 slots
is eleven rounds, 22 s at 2 s each, while the pane kept showing the previous sweep as fresh. Here a host
counts as hung when one of its probes timed out and nothing else from that host answered since that probe
was sent; its probes still waiting for a slot are then reported as timeouts at once, without being sent. So
a hung host is reported within one probe timeout (hosts are probed breadth first: every service's first
probe before anyone's second), and when every probe failed that way the sweep fails as a whole
(`FetchError`: "all 176 probes failed: timeout after 2.0 s"), which turns the `probes` source to error.

A slow endpoint on a host whose other endpoints answer (one service hanging behind a shared port) is not a
hung host: its own probes time out one by one, the others are probed as usual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from nexus_console.domain.health import PROBES, Probe, ProbeOutcome, ProbeResult, ProbeSweep
from nexus_console.domain.service_catalog import ServiceCatalog, ServiceInfo
from nexus_console.services.http import FetchError
from nexus_console.services.telemetry import probe_once


def origin(url: str) -> str:
    """`host:port` of a URL (the unit that hangs as a whole)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


async def sweep_estate(
    http: httpx.AsyncClient,
    catalog: ServiceCatalog,
    *,
    limit: int = 16,
    timeout_s: float = 2.0,
    clock: Callable[[], float] = time.time,
    probes: tuple[Probe, ...] = PROBES,
) -> ProbeSweep:
    """Every probe of every service, at most `limit` at a time; a hung host's waiting probes are not sent.

    Results come in service order (each service's probes in `probes` order).
    """
    started = clock()
    semaphore = asyncio.Semaphore(limit)
    last_answer: dict[str, float] = {}  # host -> monotonic time of its newest answer in this sweep
    hung: dict[str, str] = {}  # host -> the reason its remaining probes are not sent

    async def one(service: ServiceInfo, probe: Probe) -> tuple[ProbeResult, bool]:
        host = origin(service.url(probe))
        async with semaphore:
            if host in hung:
                outcome = ProbeOutcome.TIMEOUT
                skipped = ProbeResult(service.name, probe, outcome, clock(), None, None, hung[host])
                return skipped, True
            sent = time.monotonic()
            result, transport_failed = await probe_once(
                http, service, probe, timeout_s=timeout_s, clock=clock
            )
            if result.outcome is ProbeOutcome.TIMEOUT:
                if last_answer.get(host, -1.0) < sent:
                    hung.setdefault(host, f"timeout after {timeout_s:.1f} s ({host} answers nothing)")
            elif not transport_failed:
                last_answer[host] = time.monotonic()
            return result, transport_failed

    services = catalog.services
    # Breadth first: every service's first probe, then every service's second, ...
    order = [(s, p) for p in range(len(probes)) for s in range(len(services))]
    outcomes = await asyncio.gather(*(one(services[s], probes[p]) for s, p in order))
    by_position = dict(zip(order, outcomes, strict=True))
    ranked = [by_position[(s, p)] for s in range(len(services)) for p in range(len(probes))]
    results = tuple(result for result, _ in ranked)
    if ranked and all(transport_failed for _, transport_failed in ranked):
        raise FetchError(f"all {len(ranked)} probes failed: {results[0].detail}")
    return ProbeSweep(started, clock(), results)

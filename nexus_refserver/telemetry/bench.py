"""A throughput probe for benchmarks: how many service /metrics scrapes per second a server answers."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

import httpx

from nexus_refserver.telemetry.catalog import CATALOG


async def refserver_metrics_rps(
    base_url: str,
    *,
    duration_s: float = 3.0,
    concurrency: int = 8,
    services: Sequence[str] | None = None,
) -> float:
    """Scrape `/svc/{name}/metrics` round-robin over `services` (all 44 by default) with `concurrency`
    clients for `duration_s`, and return successful (200) scrapes per second. Raises if none succeeded."""
    names = itertools.cycle(services or [spec.name for spec in CATALOG])
    deadline = time.monotonic() + duration_s
    ok = 0
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok, failures
        while time.monotonic() < deadline:
            try:
                response = await client.get(f"/svc/{next(names)}/metrics")
            except httpx.HTTPError:
                failures += 1
                continue
            if response.status_code == 200:
                ok += 1
            else:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=10.0, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    if ok == 0:
        raise RuntimeError(f"no successful /metrics scrape in {elapsed:.1f} s ({failures} failures)")
    return ok / elapsed

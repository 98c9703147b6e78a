"""Small helpers for the console tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx


async def wait_until(
    predicate: Callable[[], bool], timeout_s: float = 10.0, interval_s: float = 0.02
) -> None:
    """Await inside a qloop coroutine until predicate() is true; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)


def add_fault(base_url: str, scope: str, kind: str, value: float | None = None, **extra: float) -> str:
    """Inject a fault through the reference server's fault-control endpoint; returns its id."""
    body: dict[str, object] = {"scope": scope, "kind": kind, **extra}
    if value is not None:
        body["value"] = value
    response = httpx.post(f"{base_url}/_control/faults", json=body, timeout=10, trust_env=False)
    response.raise_for_status()
    return str(response.json()["id"])


def clear_faults(base_url: str) -> None:
    httpx.delete(f"{base_url}/_control/faults", timeout=10, trust_env=False).raise_for_status()

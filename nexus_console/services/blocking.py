"""Run a blocking call (SQLite, a database driver) on an owned executor without blocking the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(
    executor: concurrent.futures.Executor, fn: Callable[..., T], *args: Any, timeout_s: float
) -> T:
    """`fn(*args)` on `executor`, awaited with a deadline.

    asyncio.timeout rather than wait_for: on Python 3.11, wait_for swallows a cancellation that lands just as
    the call completes (CPython gh-86296), and a loop awaiting it then never ends at shutdown.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        return await loop.run_in_executor(executor, fn, *args)

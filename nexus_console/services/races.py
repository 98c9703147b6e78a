"""Two small races the console's lifecycle needs: the first of several awaitables, and a step an event cuts
short (a quit during start-up)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


class Interrupted(Exception):
    """The event was set before the step finished; the step was cancelled."""


async def first_of(*aws: Awaitable[Any]) -> None:
    """Wait until one of `aws` finishes; cancel (and await) the others."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def unless_set(event: asyncio.Event, step: Awaitable[T]) -> T:
    """The result of `step`, or `Interrupted` once `event` is set first (the step is then cancelled)."""
    task = asyncio.ensure_future(step)
    waiting = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((task, waiting), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, waiting, return_exceptions=True)
    if task.cancelled():
        raise Interrupted
    return task.result()

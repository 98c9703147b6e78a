"""A fresh qasync loop per test, driven with run_until_complete (robust for Qt + asyncio tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import qasync

T = TypeVar("T")


class QLoop:
    """A fresh qasync loop; `run(coro, timeout_s)` drives a coroutine to completion with a deadline.
    `QLoop.current` is the loop of the test that runs now (None outside the qloop fixture)."""

    current: qasync.QEventLoop | None = None

    def __init__(self, loop: qasync.QEventLoop) -> None:
        self.loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout_s))

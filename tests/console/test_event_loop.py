"""The console's loop (qasync with batched ready callbacks and one timer for the delayed ones) keeps
asyncio's promises: ready callbacks in the order they were queued, callbacks queued by a running batch on
the next turn, delayed ones in order of their time, cancelled ones never run, and a heap of cancelled
timeouts (every request has one) does not grow without end."""

from __future__ import annotations

import asyncio

from nexus_console.workers.event_loop import PURGE_AT_LEAST, ConsoleEventLoop
from tests.console.conftest import QLoop


def test_ready_callbacks_run_in_the_order_they_were_queued(qloop: QLoop) -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, ConsoleEventLoop)
        ran: list[str] = []
        done = loop.create_future()
        for name in "abcde":
            loop.call_soon(ran.append, name)
        loop.call_soon(done.set_result, None)
        await done
        return ran

    assert qloop.run(scenario(), timeout_s=10) == list("abcde")


def test_a_callback_queued_by_a_running_batch_runs_after_the_batch(qloop: QLoop) -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        ran: list[str] = []
        done = loop.create_future()

        def first() -> None:
            ran.append("first")
            loop.call_soon(ran.append, "queued by first")
            loop.call_soon(done.set_result, None)

        loop.call_soon(first)
        loop.call_soon(ran.append, "second")
        await done
        return ran

    assert qloop.run(scenario(), timeout_s=10) == ["first", "second", "queued by first"]


def test_delayed_callbacks_run_in_order_of_their_time_and_cancelled_ones_never(qloop: QLoop) -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        ran: list[str] = []
        done = loop.create_future()
        loop.call_later(0.06, ran.append, "third")
        loop.call_later(0.02, ran.append, "first")
        cancelled = loop.call_later(0.03, ran.append, "cancelled")
        loop.call_at(loop.time() + 0.04, ran.append, "second")
        loop.call_later(0.08, done.set_result, None)
        cancelled.cancel()
        await done
        return ran

    assert qloop.run(scenario(), timeout_s=10) == ["first", "second", "third"]


def test_sleeps_and_timeouts_keep_their_asyncio_meaning(qloop: QLoop) -> None:
    async def scenario() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(0.05)
        slept = loop.time() - started
        try:
            await asyncio.wait_for(asyncio.sleep(10), 0.05)
        except TimeoutError:
            return True, slept
        return False, slept

    timed_out, slept = qloop.run(scenario(), timeout_s=10)
    assert timed_out and slept >= 0.05


def test_cancelled_timeouts_do_not_pile_up_in_the_loop(qloop: QLoop) -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, ConsoleEventLoop)
        for _ in range(20 * PURGE_AT_LEAST):  # requests that answered long before their timeout
            async with asyncio.timeout(300):
                await asyncio.sleep(0)
        return loop.timers_held

    assert qloop.run(scenario(), timeout_s=20) <= 2 * PURGE_AT_LEAST

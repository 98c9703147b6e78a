"""The poller and its registry, driven by in-process fetch functions (the faults against the real server
are in test_poller_faults.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.freshness import SourceState, SourceStatus
from nexus_console.services.polling import Poller, PollerRegistry, gather_limited
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until


def no_wait_backoff() -> Backoff:
    return Backoff(base_s=0.01, cap_s=0.02, random_fraction=lambda: 1.0)


def test_success_is_stamped_with_the_source_time(qloop: QLoop) -> None:
    async def fetch() -> dict[str, Any]:
        return {"generated_at": 1234.5, "n": 1}

    poller = Poller("doc", fetch, 5.0, timeout_s=1.0, source_time=lambda body: body["generated_at"])
    status = qloop.run(poller.poll_once())
    assert status.state is SourceState.OK
    assert status.last_good is not None
    assert status.last_good.value["n"] == 1
    assert status.last_good.source_time == 1234.5
    assert abs(status.last_good.received_at - time.time()) < 5
    assert status.last_good.interval_s == 5.0


def test_failure_keeps_the_last_good_value_and_names_the_reason(qloop: QLoop) -> None:
    answers: list[Any] = [{"n": 1}, RuntimeError("boom"), asyncio.sleep(10)]

    async def fetch() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if asyncio.iscoroutine(answer):
            return await answer
        return answer

    poller = Poller("doc", fetch, 5.0, timeout_s=0.2, backoff=no_wait_backoff())
    qloop.run(poller.poll_once())
    first_error = qloop.run(poller.poll_once())
    assert first_error.state is SourceState.ERROR
    assert first_error.error == "RuntimeError: boom"
    assert first_error.last_good is not None and first_error.last_good.value == {"n": 1}
    second_error = qloop.run(poller.poll_once())
    assert second_error.error == "timeout after 0.2 s"
    assert second_error.error_since == first_error.error_since, "stale since the first failure of the run"
    assert second_error.last_good == first_error.last_good


def test_run_retries_with_backoff_and_recovers(qloop: QLoop) -> None:
    calls: list[float] = []

    async def fetch() -> int:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise ConnectionError("refused")
        return len(calls)

    poller = Poller("flaky", fetch, 30.0, timeout_s=1.0, backoff=no_wait_backoff())
    seen: list[SourceStatus[int]] = []
    poller.subscribe(seen.append)

    async def scenario() -> None:
        task = asyncio.ensure_future(poller.run())
        try:
            await wait_until(lambda: poller.status.state is SourceState.OK, timeout_s=5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    qloop.run(scenario())
    assert [s.state for s in seen] == [SourceState.ERROR] * 3 + [SourceState.OK]
    assert poller.status.last_good is not None and poller.status.last_good.value == 4
    assert poller.backoff.failures == 0


def test_poke_skips_the_wait(qloop: QLoop) -> None:
    count = 0

    async def fetch() -> int:
        nonlocal count
        count += 1
        return count

    poller = Poller("slow", fetch, 3600.0, timeout_s=1.0)

    async def scenario() -> None:
        task = asyncio.ensure_future(poller.run())
        try:
            await wait_until(lambda: count == 1)
            poller.poke()
            await wait_until(lambda: count == 2, timeout_s=2)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    qloop.run(scenario())


def test_registry_runs_one_poller_per_source_and_cancels_on_close(qloop: QLoop) -> None:
    created = 0
    started = asyncio.Event()

    async def fetch() -> int:
        started.set()
        return 1

    def factory() -> Poller[int]:
        nonlocal created
        created += 1
        return Poller("services", fetch, 0.05, timeout_s=1.0)

    async def scenario() -> None:
        registry = PollerRegistry()
        registry.add(factory())
        with pytest.raises(ValueError, match="already registered"):
            registry.add(Poller("services", fetch, 0.05, timeout_s=1.0))
        registry.start()
        await asyncio.wait_for(started.wait(), 5)
        late = registry.add(Poller("late", fetch, 0.05, timeout_s=1.0))
        await wait_until(lambda: late.status.state is SourceState.OK)
        assert registry.running()
        await registry.aclose()
        assert not registry.running()
        with pytest.raises(RuntimeError):
            registry.add(Poller("after-close", fetch, 0.05, timeout_s=1.0))

    qloop.run(scenario())
    assert created == 1


def test_fan_out_respects_the_concurrency_limit_and_keeps_order(qloop: QLoop) -> None:
    in_flight = 0
    peak = 0

    def call(i: int) -> Any:
        async def one() -> int:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            if i == 7:
                raise ValueError("seven")
            return i

        return one

    results = qloop.run(gather_limited([call(i) for i in range(30)], limit=4))
    assert peak == 4
    assert results[:7] == list(range(7))
    assert isinstance(results[7], ValueError)
    assert results[8:] == list(range(8, 30))


def test_a_timeout_given_as_a_function_is_read_at_each_attempt(qloop: QLoop) -> None:
    """The probes' timeout grows with the catalogue: the poller asks for it before every fetch."""
    allowed = [0.1]

    async def fetch() -> str:
        await asyncio.sleep(0.3)
        return "swept"

    poller = Poller("probes", fetch, 5.0, timeout_s=lambda: allowed[0], backoff=no_wait_backoff())
    first = qloop.run(poller.poll_once())
    assert first.state is SourceState.ERROR and first.error == "timeout after 0.1 s"
    allowed[0] = 1.0  # a bigger estate arrived
    assert qloop.run(poller.poll_once()).state is SourceState.OK


def test_a_large_estate_gets_more_probes_in_flight_up_to_the_pools_size() -> None:
    from nexus_console.services.health_sources import probe_concurrency

    assert probe_concurrency(44, 16) == 16  # the seed's estate: as configured
    assert probe_concurrency(1_000, 16) == 63  # 4,000 probes at 50 ms: ~3 s a sweep, inside the interval
    assert probe_concurrency(10_000, 16) == 64
    assert probe_concurrency(44, 32) == 32

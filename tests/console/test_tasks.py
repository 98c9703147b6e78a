"""TaskRunner: results and errors reach their callbacks, nothing is dropped, shutdown cancels the rest."""

from __future__ import annotations

import asyncio

import pytest

from nexus_console.services.api_client import PermissionDenied
from nexus_console.services.tasks import TaskRunner
from tests.console.conftest import QLoop


def test_results_errors_and_unhandled_errors_go_where_they_belong(qloop: QLoop) -> None:
    unhandled: list[BaseException] = []
    runner = TaskRunner(on_unhandled=unhandled.append)
    results: list[int] = []
    errors: list[BaseException] = []

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def denied() -> int:
        raise PermissionDenied("/analytics/revenue", "finance")

    async def scenario() -> None:
        await runner.run(answer(), on_done=results.append)
        with pytest.raises(PermissionDenied):
            await runner.run(denied(), on_error=errors.append)
        with pytest.raises(PermissionDenied):
            await runner.run(denied())
        await asyncio.sleep(0)

    qloop.run(scenario())
    assert results == [42]
    assert [type(e) for e in errors] == [PermissionDenied]
    assert len(unhandled) == 1 and "You need the 'finance' role" in str(unhandled[0])
    assert runner.pending() == 0


def test_shutdown_cancels_what_is_still_running_and_refuses_new_work(qloop: QLoop) -> None:
    runner = TaskRunner()
    finished: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("cleaned up")

    async def scenario() -> None:
        task = runner.run(forever())
        await asyncio.sleep(0)
        assert runner.pending() == 1
        await runner.aclose()
        assert task.cancelled()
        with pytest.raises(RuntimeError):
            runner.run(forever())

    qloop.run(scenario())
    assert finished == ["cleaned up"]

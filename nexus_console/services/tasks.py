"""TaskRunner: starts coroutines as tasks, keeps a reference to each, and cancels them on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class TaskRunner:
    def __init__(self, on_unhandled: Callable[[BaseException], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_unhandled = on_unhandled
        self._closed = False

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        name: str | None = None,
    ) -> asyncio.Task[T]:
        """on_done gets the result, on_error the exception; errors without on_error go to on_unhandled."""
        if self._closed:
            coro.close()
            raise RuntimeError("the task runner is closed")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)

        def finished(done: asyncio.Task[T]) -> None:
            self._tasks.discard(done)
            if done.cancelled():
                return
            error = done.exception()
            try:
                if error is None:
                    if on_done is not None:
                        on_done(done.result())
                elif on_error is not None:
                    on_error(error)
                else:
                    self._unhandled(error)
            except Exception as callback_error:
                self._unhandled(callback_error)

        task.add_done_callback(finished)
        return task

    def pending(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _unhandled(self, error: BaseException) -> None:
        log.error("background task failed", exc_info=error)
        if self._on_unhandled is not None:
            self._on_unhandled(error)

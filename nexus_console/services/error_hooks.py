"""ExceptionHooks: uncaught errors (Qt slots through sys.excepthook, asyncio callbacks through the loop's
exception handler) go to the log and to a report callback (the status bar)."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

log = logging.getLogger("nexus_console")


class ExceptionHooks:
    def __init__(self, report: Callable[[str], None], loop: asyncio.AbstractEventLoop) -> None:
        self.report = report
        self.loop = loop
        self._previous_hook = sys.excepthook

    def install(self) -> None:
        sys.excepthook = self.excepthook
        self.loop.set_exception_handler(self.loop_exception_handler)

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook
        self.loop.set_exception_handler(None)

    def excepthook(self, kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        log.error("uncaught error:\n%s", "".join(traceback.format_exception(kind, error, tb)))
        self.report(f"Unexpected error: {error}")

    def loop_exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        message = context.get("message", "asyncio error")
        log.error("asyncio: %s", message, exc_info=error)
        self.report(f"Unexpected error: {error or message}")

"""Run the whole console in-process on the demo (its reference server a subprocess, offscreen Qt), wait
until every source has answered, run a measurement inside it, and quit: what the runtime benchmarks
(max_stall_ms, idle_cpu_percent, admin_max_stall_ms) share."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

DATA_DEADLINE_S = 90.0
QUIT_DEADLINE_S = 30.0


def with_demo_console(measure: Callable[[Any], Awaitable[None]]) -> Any:
    """`measure(console)` once the demo console has data; returns the console (closed) for its figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtWidgets import QApplication

    from nexus_console.app import ConsoleApp
    from nexus_console.domain.freshness import SourceState
    from nexus_console.launch_options import parse_args
    from nexus_console.workers.event_loop import ConsoleEventLoop

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    console = ConsoleApp(parse_args(["--demo"]), app)

    async def run_it() -> None:
        run = asyncio.ensure_future(console.run())
        deadline = time.monotonic() + DATA_DEADLINE_S
        while not (
            console.window is not None
            and (statuses := console.session.statuses())
            and all(s.state is SourceState.OK for s in statuses.values())
        ):
            if time.monotonic() > deadline or run.done():
                raise RuntimeError("the demo console did not get data")
            await asyncio.sleep(0.1)
        await measure(console)
        console.request_quit()
        # A quit that never finishes (a task that swallowed its cancellation) fails the run in words
        # instead of leaving an idle loop running for ever.
        done, _ = await asyncio.wait([run], timeout=QUIT_DEADLINE_S)
        if not done:
            if console.demo_server is not None and console.demo_server.proc is not None:
                console.demo_server.proc.kill()
            raise RuntimeError(f"the demo console did not quit within {QUIT_DEADLINE_S:.0f} s")

    try:
        with loop:
            loop.run_until_complete(run_it())
    finally:
        asyncio.set_event_loop(None)
        gc.collect()  # the closed loop and its timers go here, on the GUI thread
    return console

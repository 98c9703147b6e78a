"""What the console costs while it only watches: a wall display runs for weeks.

- idle_cpu_percent: CPU time of the console process (every thread; not the demo server, a separate
  process) in percent of one core, over 60 s of showing the Health pane on the demo scenario with data
  arriving at the default intervals (metrics every second, probes every 5 s), after every source answered
  once. The baseline is the same console for the same time with its window minimized-equivalent: the
  Health pane hidden behind another pane (its clocks stop), so the row shows what the pane itself costs.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from typing import Any

IDLE_RUN_S = 60.0
QUIT_DEADLINE_S = 30.0


def _measure(pane: str) -> float:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtWidgets import QApplication

    from nexus_console.app import ConsoleApp
    from nexus_console.domain.freshness import SourceState
    from nexus_console.launch_options import parse_args

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    console = ConsoleApp(parse_args(["--demo"]), app)
    used: list[float] = []

    async def measure() -> None:
        run = asyncio.ensure_future(console.run())
        deadline = time.monotonic() + 90
        while not (
            console.window is not None
            and (statuses := console.session.statuses())
            and all(s.state is SourceState.OK for s in statuses.values())
        ):
            if time.monotonic() > deadline or run.done():
                raise RuntimeError("the demo console did not get data")
            await asyncio.sleep(0.1)
        assert console.window is not None
        console.window.resize(1600, 1000)
        console.window.show_pane(pane)
        await asyncio.sleep(5)  # the pane's first full draw is not idle
        started, cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(IDLE_RUN_S)
        used.append((time.process_time() - cpu) / (time.monotonic() - started) * 100)
        console.request_quit()
        done, _ = await asyncio.wait([run], timeout=QUIT_DEADLINE_S)
        if not done:
            raise RuntimeError(f"the demo console did not quit within {QUIT_DEADLINE_S:.0f} s")

    try:
        with loop:
            loop.run_until_complete(measure())
    finally:
        asyncio.set_event_loop(None)
        gc.collect()
    return used[0]


def run() -> list[dict[str, Any]]:
    load_before = os.getloadavg()[0]
    health = _measure("Health")
    hidden = _measure("Status")
    return [
        {
            "name": "idle_cpu_percent",
            "value": round(health, 1),
            "unit": "% of a core",
            "target": "<= 5",
            "baseline": {"name": "idle_cpu_health_hidden_percent", "value": round(hidden, 1)},
            "note": f"console process CPU over {IDLE_RUN_S:.0f} s showing Health (Services tab, 1600×1000, "
            "offscreen) on the demo scenario at the default intervals; baseline: the same with the Status "
            f"pane shown instead; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, "
            f"on {os.cpu_count()} cores",
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

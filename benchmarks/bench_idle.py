"""What the console costs while it only watches: a wall display runs for weeks.

- idle_cpu_percent: CPU time of the console process (every thread; not the demo server, a separate
  process) in percent of one core, over 60 s of showing the Health pane on the demo scenario with data
  arriving at the default intervals (metrics every second, probes every 5 s), after every source answered
  once. The baseline is the same console for the same time with its window minimized-equivalent: the
  Health pane hidden behind another pane (its clocks stop), so the row shows what the pane itself costs.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_runtime import isolated_dirs
from benchmarks.demo_console import with_demo_console

IDLE_RUN_S = 60.0


def _measure(pane: str) -> float:
    """Percent of one core the console process used over IDLE_RUN_S showing `pane`."""
    used: list[float] = []

    async def measure(console: Any) -> None:
        console.window.resize(1600, 1000)
        console.window.show_pane(pane)
        await asyncio.sleep(5)  # the pane's first full draw is not idle
        started, cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(IDLE_RUN_S)
        used.append((time.process_time() - cpu) / (time.monotonic() - started) * 100)

    with_demo_console(measure)
    return used[0]


def run() -> list[dict[str, Any]]:
    load_before = os.getloadavg()[0]
    # a fresh demo server and console cache: nothing another run left (a storm's alerts) is measured
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp, isolated_dirs(Path(tmp)):
        health = _measure("Health")
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp, isolated_dirs(Path(tmp)):
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

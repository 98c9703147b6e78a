"""The alert queue live against the reference server's alert stream: the whole console in-process (offscreen),
showing the Alerts pane, while the server raises alerts with `--alert-storm`.

- alert_sse_p99_ms: 500 alerts raised on the server (50 a second for 10 s); for each, the time from the
  server writing it (its `starts_at`, the same machine's clock) until its row is in the Alerts pane's table
  model (the model's batch_applied signal), over the SSE stream; 99th percentile. The baseline row is the
  median.
- alert_storm_max_stall_ms: the longest GUI stall (lateness of a 5 ms QTimer) while the server raises 1,000
  alerts a second for 30 s and the console takes them into a shown, sorted Alerts table. The note says how
  many arrived and how late the last one was.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.bench_runtime import isolated_dirs
from benchmarks.demo_console import with_demo_console
from benchmarks.stall_meter import StallTimer

SSE_STORM = (50, 10)  # rate a second, seconds: 500 alerts
LOAD_STORM = (1_000, 30)
STORM_DELAY_S = 25  # after the server is ready: the console has signed in and streams by then
STORM_RULE = "alert_storm"


@contextmanager
def _server_with_storm(rate: int, seconds: int) -> Iterator[None]:
    """The demo console's server raises the storm (DemoServer.for_console is what `--demo` calls)."""
    from nexus_console.services.demo_server import DemoServer, DemoStack

    original = DemoServer.for_console

    def with_storm(data_dir: Any) -> DemoServer:
        storm = f"{rate}:{seconds}@{STORM_DELAY_S}"
        return DemoServer(data_dir, extra_args=("--alert-storm", storm), stack=DemoStack.from_environment())

    DemoServer.for_console = staticmethod(with_storm)  # type: ignore[method-assign]
    try:
        # a fresh server and console each time: a storm's alerts stay firing in the server's database
        with tempfile.TemporaryDirectory(prefix="bench-alert-stream-") as tmp, isolated_dirs(Path(tmp)):
            yield
    finally:
        DemoServer.for_console = original  # type: ignore[method-assign]


def _watch_arrivals(console: Any, on_storm_alert: Callable[[float], None]) -> None:
    """Call `on_storm_alert(latency_s)` for each storm alert as it enters the Alerts table model."""
    pane = console.window.show_pane("Alerts")
    model = pane.model

    def applied(batch: Any) -> None:
        now = time.time()
        for key in batch.inserted:
            alert = model.alert_for_key(key)
            if alert is not None and alert.name == STORM_RULE and alert.starts_at is not None:
                on_storm_alert(now - alert.starts_at)

    model.batch_applied.connect(applied)


async def _until(count: Callable[[], int], total: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while count() < total and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def _sse_rows() -> list[dict[str, Any]]:
    rate, seconds = SSE_STORM
    total = rate * seconds
    latencies: list[float] = []

    async def measure(console: Any) -> None:
        console.window.resize(1600, 1000)
        _watch_arrivals(console, latencies.append)
        await _until(lambda: len(latencies), total, STORM_DELAY_S + seconds + 60)

    with _server_with_storm(rate, seconds):
        with_demo_console(measure)
    if len(latencies) < total:
        raise RuntimeError(f"only {len(latencies)} of {total} storm alerts reached the model")
    ordered = sorted(ms * 1000 for ms in latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return [
        {
            "name": "alert_sse_p99_ms",
            "value": round(p99, 1),
            "unit": "ms",
            "target": "<= 250",
            "baseline": {"name": "alert_sse_median_ms", "value": round(statistics.median(ordered), 1)},
            "note": f"{total} alerts raised by the server ({rate}/s for {seconds} s) to their rows in the "
            f"Alerts table model over SSE; worst {ordered[-1]:.0f} ms; baseline: the median; load average "
            f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
        }
    ]


def _storm_rows() -> list[dict[str, Any]]:
    rate, seconds = LOAD_STORM
    total = rate * seconds
    latencies: list[float] = []
    meter = StallTimer()

    async def measure(console: Any) -> None:
        console.window.resize(1600, 1000)
        _watch_arrivals(console, latencies.append)
        await _until(lambda: len(latencies), 1, STORM_DELAY_S + 30)
        with meter.running():
            await _until(lambda: len(latencies), total, seconds + 60)

    load_before = os.getloadavg()[0]
    with _server_with_storm(rate, seconds):
        with_demo_console(measure)
    return [
        {
            "name": "alert_storm_max_stall_ms",
            "value": round(meter.max_gap_ms, 1),
            "unit": "ms",
            "target": "<= 50",
            "note": f"server raising {rate:,} alerts/s for {seconds} s, Alerts pane shown (1600×1000, sorted "
            f"by severity); {len(latencies):,} of {total:,} reached the model, the last "
            f"{latencies[-1] if latencies else float('nan'):.2f} s after the server wrote it; "
            f"{meter.describe()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on "
            f"{os.cpu_count()} cores",
        }
    ]


def run() -> list[dict[str, Any]]:
    return [*_sse_rows(), *_storm_rows()]


if __name__ == "__main__":
    for row in run():
        print(row)

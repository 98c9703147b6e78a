"""Uptime history at the scale of a large estate, offscreen at 1366×768.

- uptime_90d_1000_services_ms: the Uptime pane opened on 1,000 services (20 namespaces) × 90 days of rollups
  (day rows, and hour rows for the last 8 days, as a console leaves them): `UptimeStore.report(now)` on its
  worker thread, the report published on the recording's feed, the pane's model filled (namespace totals
  included) and the table repainted; median of 5, max in the note. Baseline uptime_report_query_1000_ms: the
  store's `report(now)` alone (the SQLite reads and the tallies), same data, same run.
- uptime_store_mb_per_service_year: a year of hourly tallies for 50 services recorded through
  `UptimeStore.record`, then pruned to the retention (day rows for two years, hour rows for 8 days, minute
  rows for 2 h) and vacuumed; the file's size divided by 50. Baseline
  uptime_store_unpruned_mb_per_service_year: the same year before pruning (every hour row kept).
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

SERVICES = 1000
NAMESPACES = 20
RUNS = 5
SIZE = (1366, 768)
NOW = 1_773_238_800  # 2026-03-11 14:20 UTC


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


async def _fill(path: Path) -> None:
    from nexus_console.services.uptime_store import UptimeStore
    from tests.support.uptime_history import ninety_six_days

    store = UptimeStore(path)
    try:
        for batch in ninety_six_days(SERVICES, NOW, random.Random(5)):
            await store.record(batch, {batch[0].service: (float(NOW), "up")})
    finally:
        await store.aclose()


def measure_open(path: Path) -> dict[str, Any]:
    from nexus_console.views.uptime.pane import UptimePane
    from nexus_console.workers.session import SessionSettings
    from tests.support.session import window_session

    app = _app()
    loop = asyncio.new_event_loop()
    opens, queries = [], []
    with window_session("analyst", settings=SessionSettings(uptime_path=path)) as session:
        pane = UptimePane(session)
        pane.clock = lambda: float(NOW)
        pane.namespace_of = {f"svc-{i:04d}": f"namespace-{i % NAMESPACES:02d}" for i in range(SERVICES)}
        pane.resize(*SIZE)
        pane.show()
        app.processEvents()
        store = session.uptime.store
        for _ in range(RUNS):
            started = time.perf_counter()
            loop.run_until_complete(store.report(NOW))
            queries.append((time.perf_counter() - started) * 1000)
        for _ in range(RUNS):
            session.uptime.feed.publish([])
            while pane.model.rowCount():
                app.processEvents()
            started = time.perf_counter()
            reports = loop.run_until_complete(store.report(NOW))
            session.uptime.feed.publish(reports)
            while pane.model.rowCount() < SERVICES:
                app.processEvents()
            pane.table.viewport().repaint()
            app.processEvents()
            opens.append((time.perf_counter() - started) * 1000)
        rows = pane.model.rowCount()
        pane.shutdown()
        pane.deleteLater()
    loop.close()
    return {"opens": opens, "queries": queries, "rows": rows}


async def _year(path: Path) -> tuple[int, int]:
    from nexus_console.services.uptime_store import UptimeStore
    from tests.support.uptime_history import hourly_year

    store = UptimeStore(path)
    try:
        for batch in hourly_year(50, NOW, random.Random(3)):
            await store.record(batch, {item.service: (float(item.start + 3600), "up") for item in batch})
        before = path.stat().st_size
        await store.prune(NOW)
    finally:
        await store.aclose()
    return before, path.stat().st_size


def run() -> list[dict]:
    import nexus_console.views.uptime.pane  # noqa: F401 - imported before the freeze

    _app()
    with tempfile.TemporaryDirectory(prefix="bench-uptime-") as folder:
        report_path, year_path = Path(folder) / "report.sqlite3", Path(folder) / "year.sqlite3"
        asyncio.run(_fill(report_path))
        gc.collect()
        gc.freeze()  # as the console does once its window is up
        try:
            opened = measure_open(report_path)
        finally:
            gc.unfreeze()
        before, after = asyncio.run(_year(year_path))
    load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    opens, queries = opened["opens"], opened["queries"]
    return [
        {
            "name": "uptime_90d_1000_services_ms",
            "value": round(statistics.median(opens), 1),
            "unit": "ms",
            "target": "<= 300",
            "baseline": {
                "name": "uptime_report_query_1000_ms",
                "value": round(statistics.median(queries), 1),
            },
            "note": f"report on the store's thread + model ({opened['rows']:,} rows with {NAMESPACES} "
            f"namespace totals) + repaint at {SIZE[0]}×{SIZE[1]} offscreen; median of {RUNS}, "
            f"max {max(opens):.1f} "
            f"(query alone max {max(queries):.1f}); {load}",
        },
        {
            "name": "uptime_store_mb_per_service_year",
            "value": round(after / 50 / 1e6, 4),
            "unit": "MB",
            "target": "<= 0.05",
            "baseline": {
                "name": "uptime_store_unpruned_mb_per_service_year",
                "value": round(before / 50 / 1e6, 4),
            },
            "note": "a year of hourly tallies for 50 services, pruned to the retention (days 2 years, hours "
            "8 days, minutes 2 h) and incrementally vacuumed; SQLite file size / 50",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

"""Scale benchmarks: the console's Health paths at 1,000 services (the reference server's `--services N`).

- scale_poll_cycle_over_limit_1000: the reference server started with `--services 1000` (a subprocess on
  127.0.0.1) and 50 ms injected into every service endpoint; the console's probe sweep (`sweep_estate`:
  request, status, JSON classification) of all four probes of the 1,000 services (4,000 requests) through the
  console's estate client (`build_estate_client`, 64 connections in 16 shards, as app.py builds it), at
  most 64 in flight as in `poll_cycle_over_limit`, one sweep every 10 s through a `Poller`. The value is the
  median sweep over the slowest endpoint (the 50 ms every answer waits). Baseline: the same probes one after
  the other (timed over the first 200 and scaled to 4,000: the whole serial cycle would take ~4 minutes).
  The note also gives the sweep as the running console does it (`probe_concurrency` for 1,000 services:
  63 in flight), and the CPU both processes spend per sweep.
- scale_matrix_filter_ms_1000: the Health matrix (`HealthMatrixModel`, `HealthMatrixView`) holding the
  same 1,000 services with their real probe results (re-stamped as just received: by then they are older
  than three intervals and would all be drawn stale) and metrics (two scrapes of every /metrics through
  `MetricsCollector`), its filter box (`MatrixFilterBox`, the box the Health pane shows beside "problems
  only") above it, 900 px tall as on a 1080p screen; typing `puabo-nuki` one key at a time into the box and
  erasing it again (20 keystrokes): each keystroke's key event, the rows hidden and shown, and the events
  processed until the matrix has painted once (a keystroke that changes no row needs no repaint: its time is
  the key event and the filter). The median of the 20, from a collected heap. Baseline: the textbook Qt build
  (QStandardItemModel with the same texts, a QSortFilterProxyModel filtering the name column, the
  default delegate) shown and typed into the same way.
- scale_overview_fps_200: `chart_fps` at 200 services: the all-services overview (`OverviewChart`) in a
  1600×1000 window, offscreen, 200 services × 3 series × 3,600 points; each frame appends one sample per
  service to the ring buffers, rebuilds every series and repaints synchronously (the chart lays 200 services
  out in 8 columns of 150 bins, 44 in 4 of 300). Baseline: the same at 44 services in the same run; three
  runs of 2 s each, taken in turns, and the median of each.
- scale_refserver_start_s_1000: informational; the reference server's start (process start to its
  listening line, data already generated) with `--services 1000`; baseline the seed's 44.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
import psutil

from benchmarks.bench_charts import KINDS as OVERVIEW_KINDS
from benchmarks.bench_charts import SAMPLES, _record_round
from benchmarks.paint_counter import PaintCounter
from nexus_console.domain.health import PROBES, ProbeOutcome, ProbeSweep
from nexus_console.domain.overview_series import overview_series
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.services.demo_server import DEMO_PASSWORD, DemoServer
from nexus_console.services.health_sources import HealthSourceSettings, probe_concurrency
from nexus_console.services.http import build_estate_client, get_directly
from nexus_console.services.polling import Poller
from nexus_console.services.probe_sweep import sweep_estate
from nexus_console.services.profiles import TlsSettings
from nexus_console.services.telemetry import MetricsCollector, MetricsRound

SERVICES = 1000
LATENCY_MS = 50.0
INTERVAL_S = 10.0
FAN_OUT_LIMIT = 64  # as poll_cycle_over_limit
CYCLES = 5  # the first opens the connections and is not counted
DEFAULT_CYCLES = 2  # with the console's default probe_concurrency
SERIAL_SAMPLE = 200
SERVER_ARGS = ("--seed", "11", "--scale", "0.002", "--enable-fault-control")
STARTS = 3
TYPED = "puabo-nuki"
MATRIX_HEIGHT = 900
OVERVIEW_SERVICES = 200
OVERVIEW_BASELINE_SERVICES = 44
WINDOW = (1600, 1000)
MEASURE_S = 2.0
OVERVIEW_ROUNDS = 3


# ---- the reference server and the probe sweep ------------------------------------------------------


def _server(base: Path, services: int | None) -> DemoServer:
    extra = (*SERVER_ARGS, "--services", str(services)) if services else SERVER_ARGS
    return DemoServer(base / "server", scenario="none", extra_args=extra)


async def _start_seconds(base: Path, services: int | None) -> float:
    server = _server(base, services)
    started = time.perf_counter()
    await server.start()
    elapsed = time.perf_counter() - started
    await server.stop()
    return elapsed


async def _login(client: Any, base_url: str) -> dict[str, str]:
    response = await client.post(
        f"{base_url}/auth/login", json={"email": "admin@nexus.test", "password": DEMO_PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _timed_sweeps(
    client: Any, catalog: ServiceCatalog, limit: int, cycles: int, server: psutil.Process
) -> tuple[list[float], list[float], list[float], ProbeSweep]:
    """`cycles` sweeps, one every INTERVAL_S: seconds, console CPU s and server CPU s per sweep; the last."""

    async def fan_out() -> ProbeSweep:
        return await sweep_estate(client, catalog, limit=limit, timeout_s=10.0, probes=PROBES)

    poller = Poller("probes", fan_out, INTERVAL_S, timeout_s=120.0)
    seconds, console_cpu, server_cpu = [], [], []
    for _ in range(cycles):
        began = time.perf_counter()
        cpu, served = time.process_time(), server.cpu_times()
        await poller.poll_once()
        seconds.append(time.perf_counter() - began)
        console_cpu.append(time.process_time() - cpu)
        after = server.cpu_times()
        server_cpu.append(after.user + after.system - served.user - served.system)
        await asyncio.sleep(max(0.0, INTERVAL_S - (time.perf_counter() - began)))
    last = poller.status.last_good
    assert last is not None, f"no sweep succeeded: {poller.status.error}"
    return seconds, console_cpu, server_cpu, last.value


async def _estate_rows(base: Path) -> tuple[list[dict[str, Any]], ServiceCatalog, ProbeSweep, MetricsRound]:
    await _start_seconds(base, None)  # generates the platform data once; the starts below reuse it
    start_44 = [await _start_seconds(base, None) for _ in range(STARTS)]
    start_n = [await _start_seconds(base, SERVICES) for _ in range(STARTS - 1)]
    server = _server(base, SERVICES)
    started = time.perf_counter()
    base_url = await server.start()
    start_n.append(time.perf_counter() - started)
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)
    try:
        async with build_estate_client(TlsSettings(), max_connections=64, shards=16) as client:
            auth = await _login(client, base_url)
            catalog = ServiceCatalog.from_json(
                (await client.get(f"{base_url}/monitoring/services", headers=auth)).json()
            )
            assert len(catalog.services) == SERVICES, len(catalog.services)
            fault = await client.post(
                f"{base_url}/_control/faults", json={"scope": "*", "kind": "latency_ms", "value": LATENCY_MS}
            )
            fault.raise_for_status()
            seconds, console_cpu, server_cpu, sweep = await _timed_sweeps(
                client, catalog, FAN_OUT_LIMIT, CYCLES, process
            )
            results = sweep.results
            assert len(results) == SERVICES * len(PROBES)
            not_up = [r for r in results if r.outcome is not ProbeOutcome.UP]
            assert not not_up, f"{len(not_up)} probes not up, e.g. {not_up[0]}"
            assert all((r.latency_ms or 0) >= LATENCY_MS for r in results), "the latency was injected"
            slowest_ms = max(r.latency_ms or 0.0 for r in results)
            default_limit = probe_concurrency(SERVICES, HealthSourceSettings().probe_concurrency)
            default_seconds, _, default_server_cpu, _ = await _timed_sweeps(
                client, catalog, default_limit, DEFAULT_CYCLES, process
            )
            serial_started = time.perf_counter()
            probes = [(service, probe) for service in catalog.services for probe in PROBES][:SERIAL_SAMPLE]
            for service, probe in probes:
                await get_directly(client, service.url(probe))
            serial_s = (time.perf_counter() - serial_started) * len(results) / len(probes)
            await client.delete(f"{base_url}/_control/faults")
            metrics = await _scrape_twice(client, catalog)
    finally:
        await server.stop()
    measured = seconds[1:]  # the first sweep opens the connections
    sweep_s = statistics.median(measured)
    limit_s = LATENCY_MS / 1000
    settings = HealthSourceSettings()
    rounds = -(-SERVICES // default_limit) + 1
    poller_timeout_s = settings.documents_timeout_s + rounds * settings.probe_timeout_s
    server_cpu_s = statistics.median(server_cpu[1:])
    rows = [
        {
            "name": f"scale_poll_cycle_over_limit_{SERVICES}",
            "value": round(sweep_s / limit_s, 2),
            "unit": "x",
            "target": "<= 1.3",
            "baseline": {
                "name": f"scale_poll_cycle_serial_over_limit_{SERVICES}",
                "value": round(serial_s / limit_s, 1),
            },
            "note": f"{SERVICES} services × {len(PROBES)} probes ({len(results)} requests) every "
            f"{INTERVAL_S:.0f} s, {LATENCY_MS:.0f} ms injected, {FAN_OUT_LIMIT} in flight: median of "
            f"{len(measured)} sweeps {sweep_s:.2f} s (spread {min(measured):.2f}-{max(measured):.2f} s; "
            f"slowest single answer {slowest_ms:.0f} ms); CPU per sweep: console "
            f"{statistics.median(console_cpu[1:]):.2f} s, reference server {server_cpu_s:.2f} s "
            f"on {os.cpu_count()} cores. As the console runs it ({default_limit} in flight at {SERVICES} "
            "services): "
            f"{statistics.median(default_seconds):.1f} s per sweep (server CPU "
            f"{statistics.median(default_server_cpu):.2f} s), against the {INTERVAL_S:.0f} s interval and "
            "the "
            f"probes poller's {poller_timeout_s:.0f} s timeout (sized for the catalogue). "
            f"Serial baseline: {SERIAL_SAMPLE} probes one by one, scaled to {len(results)}",
        },
        {
            "name": f"scale_refserver_start_s_{SERVICES}",
            "value": round(statistics.median(start_n), 2),
            "unit": "s",
            "target": "informational",
            "baseline": {
                "name": "scale_refserver_start_s_44",
                "value": round(statistics.median(start_44), 2),
            },
            "note": f"process start to the listening line, data already generated; median of {STARTS} "
            f"({', '.join(f'{s:.2f}' for s in start_n)} s; the seed's 44: "
            f"{', '.join(f'{s:.2f}' for s in start_44)} s)",
        },
    ]
    return rows, catalog, sweep, metrics


async def _scrape_twice(client: Any, catalog: ServiceCatalog) -> MetricsRound:
    """Two scrapes of every service's /metrics, a second apart, through the console's collector: rates."""
    settings = HealthSourceSettings()
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        collector = MetricsCollector(
            client, executor, limit=settings.scrape_concurrency, timeout_s=settings.scrape_timeout_s
        )
        await collector.scrape(catalog)
        await asyncio.sleep(1.0)
        return await collector.scrape(catalog)


# ---- the Health matrix and its filter box ----------------------------------------------------------


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _keystrokes() -> list[Any]:
    from PySide6.QtCore import Qt

    return [*TYPED, *([Qt.Key.Key_Backspace] * len(TYPED))]


def _type_into(
    box: Any, view: Any, app: Any, rows_shown: Callable[[], object]
) -> tuple[list[float], int, int]:
    """Each keystroke to the matrix painted (when the rows shown changed): ms each, how many the event loop
    painted by itself, how many changed the rows shown."""
    from PySide6.QtTest import QTest

    painted = PaintCounter(view)
    app.processEvents()
    gc.collect()  # start from a clean heap: the estate part left its garbage behind
    times, by_events, changes = [], 0, 0
    for key in _keystrokes():
        shown = rows_shown()
        started = time.perf_counter()
        if isinstance(key, str):
            QTest.keyClicks(box, key)
        else:
            QTest.keyClick(box, key)
        typed = time.perf_counter() - started
        changed = rows_shown() != shown  # not timed: only the benchmark asks
        started = time.perf_counter()
        by_events += painted.settle(app, turns=3, force=changed)
        times.append((typed + time.perf_counter() - started) * 1000)
        changes += changed
    assert box.text() == "", box.text()
    return times, by_events, changes


def _framed(box: Any, view: Any, width: int) -> Any:
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    frame = QWidget()
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(box)
    layout.addWidget(view, 1)
    frame.resize(width, MATRIX_HEIGHT)
    frame.show()
    return frame


def _matrix_times(
    catalog: ServiceCatalog, sweep: ProbeSweep, metrics: MetricsRound
) -> tuple[list[float], int, int, list[float], dict[str, int]]:
    from nexus_console.models.health_matrix import HealthMatrixModel
    from nexus_console.views.health.matrix_view import HealthMatrixView, MatrixFilterBox

    app = _app()
    model = HealthMatrixModel(probe_interval_s=INTERVAL_S)
    model.set_catalog(catalog)
    model.set_sweep(sweep)
    model.set_metrics(metrics.samples, metrics.errors)
    view = HealthMatrixView(model)
    box = MatrixFilterBox(view)
    frame = _framed(box, view, view.preferred_width() + 8)
    app.processEvents()
    shown = {}
    for text in (TYPED[:1], TYPED):
        view.set_text_filter(text)
        shown[text] = len(view.visible_services())
    view.set_text_filter("")
    app.processEvents()
    times, by_events, changes = _type_into(box, view, app, view.visible_services)
    repaints = []
    for _ in range(20):
        started = time.perf_counter()
        view.viewport().repaint()
        repaints.append((time.perf_counter() - started) * 1000)
    frame.close()
    frame.deleteLater()
    app.processEvents()
    return times, by_events, changes, repaints, shown


def _qt_baseline_times(model_texts: list[list[str]], width: int) -> list[float]:
    from PySide6.QtCore import QSortFilterProxyModel, Qt
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QLineEdit, QTableView

    from nexus_console.models.health_cells import HEADERS

    app = _app()
    model = QStandardItemModel(0, len(HEADERS))
    model.setHorizontalHeaderLabels(list(HEADERS))
    for texts in model_texts:
        model.appendRow([QStandardItem(text) for text in texts])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setFilterKeyColumn(0)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView()
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(19)
    view.setModel(proxy)
    box = QLineEdit()
    box.textChanged.connect(proxy.setFilterFixedString)
    frame = _framed(box, view, width)
    app.processEvents()
    times, _, _ = _type_into(box, view, app, proxy.rowCount)
    frame.close()
    frame.deleteLater()
    app.processEvents()
    return times


def _as_just_received(sweep: ProbeSweep) -> ProbeSweep:
    """The sweep as if it had just finished: by now it is older than three probe intervals, and the matrix
    would show every probe cell stale (veiled and hatched), which a console polling its estate does not."""
    shift = time.time() - sweep.finished_at
    results = tuple(dataclasses.replace(r, checked_at=r.checked_at + shift) for r in sweep.results)
    return ProbeSweep(sweep.started_at + shift, sweep.finished_at + shift, results)


def _matrix_rows(catalog: ServiceCatalog, sweep: ProbeSweep, metrics: MetricsRound) -> list[dict[str, Any]]:
    from PySide6.QtCore import Qt

    from nexus_console.models.health_cells import HEADERS
    from nexus_console.models.health_matrix import HealthMatrixModel
    from nexus_console.views.health.matrix_view import HealthMatrixView

    sweep = _as_just_received(sweep)
    times, by_events, changes, repaints, shown = _matrix_times(catalog, sweep, metrics)
    # the baseline shows the same texts: one row per service, the cells as the matrix words them
    model = HealthMatrixModel(probe_interval_s=INTERVAL_S)
    model.set_catalog(catalog)
    model.set_sweep(sweep)
    model.set_metrics(metrics.samples, metrics.errors)
    texts = [
        [str(model.index(row, column).data(Qt.ItemDataRole.DisplayRole)) for column in range(len(HEADERS))]
        for row in range(model.rowCount())
        if model.service_at(row) is not None
    ]
    width = HealthMatrixView(model).preferred_width() + 8
    baseline = _qt_baseline_times(texts, width)
    ours_ms, baseline_ms = statistics.median(times), statistics.median(baseline)
    ordered = sorted(times)
    return [
        {
            "name": f"scale_matrix_filter_ms_{SERVICES}",
            "value": round(ours_ms, 1),
            "unit": "ms",
            "target": "<= 16",
            "baseline": {"name": f"scale_matrix_filter_qt_ms_{SERVICES}", "value": round(baseline_ms, 1)},
            "note": f"typing {TYPED!r} into the matrix's filter box and erasing it ({len(times)} keystrokes) "
            f"over {SERVICES} services ({shown[TYPED[:1]]} match {TYPED[:1]!r}, {shown[TYPED]} match "
            f"{TYPED!r}), each keystroke to the repainted {width}×{MATRIX_HEIGHT} matrix: median "
            f"{ours_ms:.1f} ms, p90 {ordered[int(len(ordered) * 0.9)]:.1f}, max {ordered[-1]:.1f} "
            f"({changes} changed the rows shown, {by_events} painted by the event loop); a repaint of the "
            "unchanged matrix "
            f"alone {statistics.median(repaints):.1f} ms. Baseline: QStandardItemModel + "
            "QSortFilterProxyModel on the name column, default delegate, same texts and size",
        }
    ]


# ---- the all-services overview ---------------------------------------------------------------------


class _Overview:
    """One overview chart shown with an hour of history, redrawn frame after frame as `chart_fps` does."""

    def __init__(self, names: list[str]) -> None:
        from nexus_console.domain.prom_metrics import MetricsHistory
        from nexus_console.views.overview_chart import OverviewChart

        self.app = _app()
        self.names = names
        self.rng = np.random.default_rng(1)
        self.history = MetricsHistory()
        self.base = self.rng.uniform(5, 200, len(names))
        self.now = time.time() - SAMPLES
        for _ in range(SAMPLES):
            self.now += 1.0
            _record_round(self.history, self.rng, self.base, names, self.now)
        self.history.finish_round()
        self.chart = OverviewChart()
        self.chart.resize(*WINDOW)
        self.chart.show()
        self.chart.set_services(names)
        self.app.processEvents()

    def fps(self, seconds: float) -> float:
        gc.collect()
        frames = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            self.now += 1.0
            _record_round(self.history, self.rng, self.base, self.names, self.now)
            series, times = overview_series(self.history, self.names, OVERVIEW_KINDS)
            self.chart.set_data(series, times)
            self.chart.plot_widget.repaint()
            self.app.processEvents()
            frames += 1
        return frames / (time.perf_counter() - started)

    def close(self) -> None:
        self.chart.close()
        self.chart.deleteLater()
        self.app.processEvents()


def _overview_rows(catalog: ServiceCatalog) -> list[dict[str, Any]]:
    names = [service.name for service in catalog.services]
    step = len(names) / OVERVIEW_SERVICES  # spread over every namespace, as an estate of 200 would be
    chosen = [names[math.floor(i * step)] for i in range(OVERVIEW_SERVICES)]
    big, small = _Overview(chosen), _Overview(chosen[:OVERVIEW_BASELINE_SERVICES])
    columns = big.chart.grid_columns
    # Taken in turns, so that a moment of contention on a shared machine does not fall on one size only.
    rates: tuple[list[float], list[float]] = ([], [])
    for _ in range(OVERVIEW_ROUNDS):
        rates[0].append(big.fps(MEASURE_S))
        rates[1].append(small.fps(MEASURE_S))
    big.close()
    small.close()
    fps, baseline = statistics.median(rates[0]), statistics.median(rates[1])
    return [
        {
            "name": f"scale_overview_fps_{OVERVIEW_SERVICES}",
            "value": round(fps, 1),
            "unit": "fps",
            "target": ">= 30",
            "baseline": {
                "name": f"scale_overview_fps_{OVERVIEW_BASELINE_SERVICES}",
                "value": round(baseline, 1),
            },
            "note": f"overview, {OVERVIEW_SERVICES} services × 3 series × {SAMPLES:,} points ({columns} "
            f"columns), {WINDOW[0]}×{WINDOW[1]} offscreen, sync repaint, each frame one new sample per "
            f"service and every series rebuilt; median of {OVERVIEW_ROUNDS} runs of {MEASURE_S:.0f} s "
            f"({', '.join(f'{r:.1f}' for r in rates[0])}) taken in turns with the same at "
            f"{OVERVIEW_BASELINE_SERVICES} services (chart_fps; {', '.join(f'{r:.1f}' for r in rates[1])})",
        }
    ]


def _calibration_ms() -> float:
    """A fixed pure-Python loop, the best of three: how fast this (shared, 2-core) machine runs right now."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def run() -> list[dict[str, Any]]:
    before = _calibration_ms()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        estate_rows, catalog, sweep, metrics = asyncio.run(_estate_rows(Path(tmp)))
    matrix_rows = _matrix_rows(catalog, sweep, metrics)
    overview_rows = _overview_rows(catalog)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    after = _calibration_ms()
    for row in (*estate_rows, *matrix_rows, *overview_rows):
        row["note"] += (
            f"; load average at the end {load}; a 1M-step Python loop took {before:.0f} ms before the run "
            f"and {after:.0f} ms after"
        )
    return [estate_rows[0], *matrix_rows, *overview_rows, estate_rows[1]]


if __name__ == "__main__":
    for row in run():
        print(row)

"""Chart benchmarks for the Health pane's "all services" overview.

- chart_fps: redraws per second of the overview (44 services × 3 series × 3,600 points) in a 1600×1000
  window, offscreen: each frame appends one sample per service to the ring buffers, rebuilds every series
  (decimated to display resolution), and repaints synchronously.
- chart_vs_matplotlib: the same data and size drawn with matplotlib's Qt canvas (44 axes × 3 lines), in
  the same run; the ratio of frame rates.
- rss_mb_1h: resident memory of a fresh process after one hour of simulated 1 s samples for every service
  fed through the metrics history and the overview chart (informational; also reports the growth between
  10 minutes and 1 hour, which fixed-size buffers keep near zero).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np

from nexus_console.domain.overview_series import overview_series

SERVICES = 44
SAMPLES = 3600
KINDS = ("rps", "p95_ms", "rps_5xx")
NAMES = [f"svc-{i:02d}" for i in range(SERVICES)]
WINDOW = (1600, 1000)
MEASURE_S = 3.0


def _app() -> object:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def _synthetic_history(rng: np.random.Generator) -> object:
    from nexus_console.domain.prom_metrics import MetricsHistory

    history = MetricsHistory()
    start = time.time() - SAMPLES
    base = rng.uniform(5, 200, SERVICES)
    for step in range(SAMPLES):
        _record_round(history, rng, base, NAMES, start + step)
    history.finish_round()
    return history, base


def _record_round(
    history: object, rng: np.random.Generator, base: np.ndarray, names: list[str], at: float
) -> None:
    """One second of samples for every service in `names` (`base` their request rates)."""
    from nexus_console.domain.prom_metrics import MetricsSample

    noise = rng.normal(1.0, 0.1, (len(names), 3))
    for i, name in enumerate(names):
        rps = base[i] * noise[i, 0]
        history.record(  # type: ignore[attr-defined]
            name,
            MetricsSample(
                at, rps, rps * 0.02, rps * 0.01 * noise[i, 2], 20.0, 150 * noise[i, 1], 300.0, 10.0, 80.0
            ),
        )


def measure_overview_fps(measure_s: float = MEASURE_S) -> float:
    from nexus_console.views.overview_chart import OverviewChart

    app = _app()
    rng = np.random.default_rng(1)
    history, base = _synthetic_history(rng)
    names = NAMES
    chart = OverviewChart()
    chart.resize(*WINDOW)
    chart.show()
    chart.set_services(names)
    app.processEvents()  # type: ignore[attr-defined]
    frames = 0
    now = time.time()
    started = time.perf_counter()
    while time.perf_counter() - started < measure_s:
        now += 1.0
        _record_round(history, rng, base, names, now)
        series, times = overview_series(history, names, KINDS)  # type: ignore[arg-type]
        chart.set_data(series, times)
        chart.plot_widget.repaint()
        app.processEvents()  # type: ignore[attr-defined]
        frames += 1
    elapsed = time.perf_counter() - started
    chart.close()
    chart.deleteLater()
    app.processEvents()  # type: ignore[attr-defined]
    return frames / elapsed


def measure_matplotlib_fps(measure_s: float = MEASURE_S) -> float:
    import matplotlib

    matplotlib.use("QtAgg")
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure

    app = _app()
    rng = np.random.default_rng(1)
    figure = Figure(figsize=(16, 10), dpi=100)
    canvas = FigureCanvasQTAgg(figure)
    canvas.resize(*WINDOW)
    canvas.show()
    x = np.arange(SAMPLES, dtype=np.float64)
    lines = []
    axes = figure.subplots(11, 4)
    for ax in axes.flat:
        ax.set_xlim(0, SAMPLES)
        ax.set_ylim(0, 1.2)
        ax.tick_params(labelsize=5)
        for colour in ("#4fa3ff", "#ffb347", "#ff5e5e"):
            (line,) = ax.plot(x, rng.uniform(0, 1, SAMPLES), color=colour, linewidth=1)
            lines.append(line)
    canvas.draw()
    app.processEvents()  # type: ignore[attr-defined]
    data = rng.uniform(0, 1, (len(lines), SAMPLES))
    frames = 0
    started = time.perf_counter()
    # At least a few frames: one matplotlib frame can take most of the measuring window.
    while time.perf_counter() - started < measure_s or frames < 3:
        data = np.roll(data, -1, axis=1)
        data[:, -1] = rng.uniform(0, 1, len(lines))
        for line, y in zip(lines, data, strict=True):
            line.set_ydata(y)
        canvas.draw()
        canvas.repaint()
        app.processEvents()  # type: ignore[attr-defined]
        frames += 1
    elapsed = time.perf_counter() - started
    canvas.close()
    canvas.deleteLater()
    app.processEvents()  # type: ignore[attr-defined]
    return frames / elapsed


_RSS_CHILD = r"""
import json, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np, psutil
from benchmarks.bench_charts import KINDS, NAMES, SERVICES, SAMPLES, _app, _record_round
from nexus_console.domain.overview_series import overview_series
from nexus_console.domain.prom_metrics import MetricsHistory
from nexus_console.views.overview_chart import OverviewChart
app = _app()
rng = np.random.default_rng(2)
history = MetricsHistory()
base = rng.uniform(5, 200, SERVICES)
names = NAMES
chart = OverviewChart()
chart.resize(1600, 1000)
chart.show()
chart.set_services(names)
start = time.time() - SAMPLES
rss = {}
for step in range(SAMPLES):
    _record_round(history, rng, base, names, start + step)
    if step % 30 == 0:  # redraw as the pane would (it redraws on new data only)
        series, times = overview_series(history, names, KINDS)
        chart.set_data(series, times)
        chart.plot_widget.repaint()
        app.processEvents()
    if step in (599, SAMPLES - 1):
        rss[step + 1] = psutil.Process().memory_info().rss / 1e6
print(json.dumps({"rss_10min": rss[600], "rss_1h": rss[SAMPLES], "history_mb": history.nbytes / 1e6}))
"""


def measure_rss() -> dict[str, float]:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD], cwd=root, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    fps = measure_overview_fps()
    matplotlib_fps = measure_matplotlib_fps()
    rss = measure_rss()
    growth = rss["rss_1h"] - rss["rss_10min"]
    return [
        {
            "name": "chart_fps",
            "value": round(fps, 1),
            "unit": "fps",
            "target": ">= 30",
            "note": "overview, 44 services × 3 series × 3,600 points, 1600×1000 offscreen, sync repaint",
        },
        {
            "name": "chart_vs_matplotlib",
            "value": round(fps / matplotlib_fps, 1),
            "unit": "x",
            "target": ">= 10",
            "baseline": {"name": "matplotlib_fps", "value": round(matplotlib_fps, 2)},
            "note": "value is the fps ratio; matplotlib QtAgg, 44 axes × 3 lines, same data size",
        },
        {
            "name": "rss_mb_1h",
            "value": round(rss["rss_1h"], 1),
            "unit": "MB",
            "target": "informational",
            "note": f"growth 10 min → 1 h: {growth:+.1f} MB; ring buffers {rss['history_mb']:.1f} MB",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

"""One service in detail: request-rate and latency charts over the last hour from its ring buffer, with the
seed's SLA lines and the incidents that affect the service (`views.health.incident_marks`), and its health
JSON (status, version, uptime, checks)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.health import HealthReport, ProbeResult
from nexus_console.domain.health_documents import SCALE_P95_MS, SLA_P95_MS
from nexus_console.domain.prom_metrics import MetricsHistory
from nexus_console.models.health_cells import format_short_age
from nexus_console.models.health_tables import Column, RecordTableModel
from nexus_console.views.charts import LiveChart
from nexus_console.views.health.incident_marks import IncidentMarks
from nexus_console.views.table_view import row_table

# The charts always hold the last hour (3,600 samples); the window only zooms the x-axis.
WINDOWS = (("last 5 min", 300.0), ("last 15 min", 900.0), ("last hour", 3600.0))
HEADER_STYLE = "QLabel { color: #e6e6e6; font-size: 10pt; padding: 2px 4px; }"


def format_uptime(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "—"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


def _value(v: float, unit: str = "", digits: int = 1) -> str:
    return "—" if v is None or math.isnan(v) else f"{v:.{digits}f}{unit}"


class ServiceDetail(QWidget):
    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("serviceDetail")
        self.service: str | None = None
        self._drawn_revision = -1
        self.header = QLabel("Select a service in the matrix", self)
        self.header.setObjectName("serviceHeader")
        self.header.setStyleSheet(HEADER_STYLE)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)

        self.rate_chart = LiveChart("Request rate", y_label="req/s")
        self.rate_chart.add_series("rps", "all", "#4fa3ff")
        self.rate_chart.add_series("rps_4xx", "4xx", "#e0c040")
        self.rate_chart.add_series("rps_5xx", "5xx", "#ff5e5e")
        self.latency_chart = LiveChart("Latency", y_label="ms")
        self.latency_chart.add_series("p50_ms", "p50", "#6fd08c")
        self.latency_chart.add_series("p95_ms", "p95", "#ffb347")
        self.latency_chart.add_series("p99_ms", "p99", "#ff6b9e")
        self.latency_chart.add_threshold(SLA_P95_MS.limit, "SLA p95 200 ms", "#d0b040")
        self.latency_chart.add_threshold(SCALE_P95_MS.limit, "p95 500 ms: scale out / SLA p99", "#ff5e5e")
        # Bands and marks of the incidents that affect the service; `incidents.activated` on a click.
        self.incidents = IncidentMarks(self.charts(), clock=clock, parent=self)

        self.checks_model = RecordTableModel(
            [
                Column("check", lambda r: r["name"]),
                Column("status", lambda r: r.get("status"), alarm=lambda s: s != "up"),
                Column(
                    "latency", lambda r: r.get("latency_ms"), lambda v: f"{float(v):.0f} ms", numeric=True
                ),
            ],
            self,
        )
        self.checks_table = row_table(self.checks_model, "healthChecks", self, row_height=18, compact=True)
        self.checks_table.setColumnWidth(0, 160)

        charts = QSplitter(Qt.Orientation.Vertical, self)
        charts.addWidget(self.rate_chart)
        charts.addWidget(self.latency_chart)
        charts.addWidget(self.checks_table)
        charts.setStretchFactor(0, 3)
        charts.setStretchFactor(1, 3)
        charts.setStretchFactor(2, 1)
        self.window_choice = QComboBox(self)
        self.window_choice.setObjectName("chartWindow")
        for label, seconds in WINDOWS:
            self.window_choice.addItem(label, seconds)
        self.window_choice.setCurrentIndex(len(WINDOWS) - 1)  # the last hour
        self.window_choice.currentIndexChanged.connect(self._on_window_changed)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.header, 1)
        top.addWidget(self.window_choice)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(charts, 1)

    def _on_window_changed(self, _index: int) -> None:
        seconds = float(self.window_choice.currentData())
        for chart in self.charts():
            chart.window_s = seconds
        self._drawn_revision = -1  # redraw (and re-range) at the next tick

    def charts(self) -> list[LiveChart]:
        return [self.rate_chart, self.latency_chart]

    def show_service(self, service: str | None) -> None:
        if service != self.service:
            self.service = service
            self._drawn_revision = -1  # redraw at the next tick
        self.incidents.show_service(service)

    def show_time(self, at: float, now: float) -> bool:
        """Widen the charts' window (5 min, 15 min, hour) just enough for `at` to be in view, never narrow
        it. False, the window unchanged, when the charts hold no data that old, or `at` is in the future."""
        span = self.rate_chart.time_span()
        if span is None or not span[0] <= at <= now:
            return False
        current = self.window_choice.currentIndex()
        for index, (_label, seconds) in enumerate(WINDOWS):
            if now - at <= seconds:
                if index > current:
                    self.window_choice.setCurrentIndex(index)
                    for chart in self.charts():
                        chart.set_time_window(now)
                return True
        return False

    def redraw(self, history: MetricsHistory | None, now: float, stale_text: str | None) -> bool:
        """Push the selected service's ring buffer into the charts when it changed. True if redrawn."""
        for chart in self.charts():
            chart.set_stale(stale_text)
        if history is None or self.service is None:
            return False
        ring = history.ring(self.service)
        self._caption(ring.latest(), now)  # the age moves on even when no new data came (a stale chart)
        if history.revision == self._drawn_revision:
            return False
        self._drawn_revision = history.revision
        times = ring.times()
        for chart in self.charts():
            for key in chart.series_keys():
                chart.set_series_data(key, times, ring.column(key))
            chart.set_time_window(now)
        self.incidents.extend_active(now)
        return True

    def _caption(self, latest: Any, now: float) -> None:
        if latest is not None:
            age = format_short_age(now - latest["time"])
            self.rate_chart.set_caption(
                f"Request rate · {_value(latest['rps'])} req/s · 4xx {_value(latest['rps_4xx'], digits=2)}"
                f" · 5xx {_value(latest['rps_5xx'], digits=2)} · {age} ago"
            )
            self.latency_chart.set_caption(
                f"Latency · p50 {_value(latest['p50_ms'], ' ms', 0)}"
                f" · p95 {_value(latest['p95_ms'], ' ms', 0)}"
                f" · p99 {_value(latest['p99_ms'], ' ms', 0)} · {age} ago · SLA p50<50 p95<200 p99<500 ms"
            )

    def show_health(self, result: ProbeResult | None, now: float, stale: bool) -> None:
        if self.service is None:
            self.header.setText("Select a service in the matrix")
            self.checks_model.set_records([])
            return
        if result is None:
            self.header.setText(f"{self.service} — no health answer yet")
            self.checks_model.set_records([], stale=stale)
            return
        report: HealthReport | None = result.report
        age = format_short_age(now - result.checked_at)
        parts = [f"{self.service}", f"{result.label}"]
        if report is not None:
            parts += [f"version {report.version or '?'}", f"uptime {format_uptime(report.uptime_s)}"]
        parts.append(f"checked {format_clock(result.checked_at)} ({age} ago)")
        if result.detail:
            parts.append(result.detail)
        if stale:
            parts.append("STALE")
        self.header.setText(" · ".join(parts))
        checks = []
        if report is not None:
            checks = [{"name": name, **dict(check)} for name, check in sorted(report.checks.items())]
        self.checks_model.set_records(checks, stale=stale)

"""API health, database health and sync quality: headline figures with their age, charts with the seed's
thresholds, and tables. Each view keeps its own fixed-size history of the documents it has received."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QSplitter, QTableView, QVBoxLayout, QWidget

from nexus_console.domain.freshness import SourceStatus, stale_text
from nexus_console.domain.health_documents import (
    API_ERROR_RATE,
    API_P95_MS,
    DB_CPU_PCT,
    DB_REPLICATION_LAG_S,
    SYNC_DETECTION_FAILURE,
    ApiHealth,
    DatabaseHealth,
    SyncQuality,
    Threshold,
)
from nexus_console.domain.ringbuffer import TimeSeriesRing
from nexus_console.models.health_cells import format_short_age
from nexus_console.models.health_tables import Column, RecordTableModel
from nexus_console.views.charts import LiveChart
from nexus_console.views.pane import StaleBanner
from nexus_console.views.table_view import row_table

HISTORY_SAMPLES = 720  # one hour at the 5 s poll interval
KPI_STYLE = "QLabel { color: #e6e6e6; font-size: 10pt; padding: 3px 4px; }"
SERIES_COLOURS = ("#4fa3ff", "#ffb347", "#6fd08c", "#ff6b9e", "#b48cff", "#40d0d0")


def _num(value: float, digits: int = 1, unit: str = "") -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}{unit}"


def _pct(ratio: float, digits: int = 2) -> str:
    return "—" if ratio is None or math.isnan(ratio) else f"{ratio * 100:.{digits}f} %"


def _flag(threshold: Threshold, value: float) -> str:
    return " ⚠" if threshold.breached(value) else ""


def make_table(model: RecordTableModel, name: str, stretch_column: int | None = None) -> QTableView:
    """A compact dark table; `stretch_column` takes the spare width (default: the last column)."""
    return row_table(
        model,
        name,
        row_height=18,
        compact=True,
        resize_mode=QHeaderView.ResizeMode.ResizeToContents,
        stretch_column=stretch_column,
    )


class DocumentView(QWidget):
    """Common frame: a stale banner, a headline label, then the view's charts and tables."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = StaleBanner(self)
        self.kpis = QLabel("waiting for the first answer…", self)
        self.kpis.setStyleSheet(KPI_STYLE)
        self.kpis.setTextFormat(Qt.TextFormat.PlainText)
        self.kpis.setWordWrap(True)
        self.body = QSplitter(Qt.Orientation.Vertical, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.banner)
        layout.addWidget(self.kpis)
        layout.addWidget(self.body, 1)
        self.status: SourceStatus[Any] | None = None
        self._ingested_at: float | None = None
        self._dirty = True

    def charts(self) -> list[LiveChart]:
        return []

    def ingest(self, status: SourceStatus[Any], now: float) -> None:
        """A new status of this view's source: record a new document once, refresh the texts."""
        self.status = status
        stamped = status.last_good
        if stamped is not None and stamped.received_at != self._ingested_at:
            self._ingested_at = stamped.received_at
            try:
                self.record(stamped.value, stamped.source_time)
            except (ValueError, KeyError, TypeError) as exc:
                self.kpis.setText(f"cannot show this document: {exc}")
            self._dirty = True
        self.refresh_texts(now)

    def record(self, document: Mapping[str, Any], at: float) -> None:
        raise NotImplementedError

    def headline(self, document: Mapping[str, Any], age: str) -> str:
        raise NotImplementedError

    def stale_text(self, now: float) -> str | None:
        return stale_text(self.status, now) if self.status is not None else None

    def refresh_texts(self, now: float) -> None:
        if self.status is None:
            return
        text = self.stale_text(now)
        self.banner.set_text(text)
        for chart in self.charts():
            chart.set_stale(text)
        stamped = self.status.last_good
        if stamped is not None:
            try:
                self.kpis.setText(self.headline(stamped.value, format_short_age(stamped.age_s(now))))
            except (ValueError, KeyError, TypeError) as exc:
                self.kpis.setText(f"cannot show this document: {exc}")
            self.update_tables(stamped.value, stale=text is not None)

    def update_tables(self, document: Mapping[str, Any], *, stale: bool) -> None:
        """Tables of the newest document; override when the view has any."""

    def redraw(self, now: float) -> bool:
        if not self._dirty:
            return False
        self._dirty = False
        self.draw(now)
        return True

    def draw(self, now: float) -> None:
        raise NotImplementedError


class ApiHealthView(DocumentView):
    COLUMNS = ("p50_ms", "p95_ms", "p99_ms", "error_pct", "rps")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("apiHealth")
        self.history = TimeSeriesRing(HISTORY_SAMPLES, self.COLUMNS)
        self.latency_chart = LiveChart("API latency", y_label="ms")
        self.latency_chart.add_series("p50_ms", "p50", "#6fd08c")
        self.latency_chart.add_series("p95_ms", "p95", "#ffb347")
        self.latency_chart.add_series("p99_ms", "p99", "#ff6b9e")
        self.latency_chart.add_threshold(API_P95_MS.limit, "p95 > 500 ms", "#ff5e5e")
        self.error_chart = LiveChart("API error rate", y_label="%")
        self.error_chart.add_series("error_pct", "errors", "#ff5e5e")
        self.error_chart.add_threshold(API_ERROR_RATE.limit * 100, "error rate > 5 %", "#ff5e5e")
        self.slowest_model = RecordTableModel(
            [
                Column("service", lambda r: r["service"]),
                Column("endpoint", lambda r: r["endpoint"]),
                Column(
                    "p95",
                    lambda r: r["p95_ms"],
                    lambda v: f"{v:.0f} ms",
                    True,
                    lambda v: v > API_P95_MS.limit,
                ),
                Column("req/s", lambda r: r["rps"], lambda v: f"{v:.1f}", True),
            ],
            self,
        )
        self.errors_model = RecordTableModel(
            [
                Column("service", lambda r: r["service"]),
                Column("endpoint", lambda r: r["endpoint"]),
                Column(
                    "errors",
                    lambda r: r["error_rate"],
                    lambda v: f"{v * 100:.2f} %",
                    True,
                    lambda v: v > API_ERROR_RATE.limit,
                ),
                Column("req/s", lambda r: r["rps"], lambda v: f"{v:.1f}", True),
            ],
            self,
        )
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(make_table(self.slowest_model, "slowestEndpoints", stretch_column=1))
        tables.addWidget(make_table(self.errors_model, "errorEndpoints", stretch_column=1))
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.latency_chart)
        charts.addWidget(self.error_chart)
        self.body.addWidget(charts)
        self.body.addWidget(tables)

    def charts(self) -> list[LiveChart]:
        return [self.latency_chart, self.error_chart]

    def record(self, document: Mapping[str, Any], at: float) -> None:
        api = ApiHealth.from_json(document)
        self.history.append(at, (api.p50_ms, api.p95_ms, api.p99_ms, api.error_rate * 100, api.rps))

    def headline(self, document: Mapping[str, Any], age: str) -> str:
        api = ApiHealth.from_json(document)
        return (
            f"API {api.status} · uptime {_num(api.uptime_pct, 3, ' %')} · {_num(api.rps)} req/s · "
            f"p50 {_num(api.p50_ms, 0, ' ms')} · "
            f"p95 {_num(api.p95_ms, 0, ' ms')}{_flag(API_P95_MS, api.p95_ms)} · "
            f"p99 {_num(api.p99_ms, 0, ' ms')} · errors {_pct(api.error_rate)}"
            f"{_flag(API_ERROR_RATE, api.error_rate)} · {age} ago"
        )

    def update_tables(self, document: Mapping[str, Any], *, stale: bool) -> None:
        api = ApiHealth.from_json(document)
        self.slowest_model.set_records(list(api.slowest_endpoints), stale=stale)
        self.errors_model.set_records(list(api.error_endpoints), stale=stale)

    def draw(self, now: float) -> None:
        times = self.history.times()
        for chart in self.charts():
            for key in chart.series_keys():
                chart.set_series_data(key, times, self.history.column(key))
            chart.set_time_window(now)


class DatabaseHealthView(DocumentView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("databaseHealth")
        self.histories: dict[str, TimeSeriesRing] = {}
        self.cpu_chart = LiveChart("Database CPU", y_label="%")
        self.cpu_chart.add_threshold(DB_CPU_PCT.limit, "DB CPU > 90 %", "#ff5e5e")
        self.lag_chart = LiveChart("Replication lag", y_label="s")
        self.lag_chart.add_threshold(DB_REPLICATION_LAG_S.limit, "replication lag > 10 s", "#ff5e5e")
        self.databases_model = RecordTableModel(
            [
                Column("database", lambda r: r["name"]),
                Column("role", lambda r: r["role"]),
                Column("status", lambda r: r["status"], alarm=lambda s: s not in ("up", "ok", "healthy")),
                Column("CPU", lambda r: r["cpu_pct"], lambda v: f"{v:.0f} %", True, DB_CPU_PCT.breached),
                Column(
                    "lag",
                    lambda r: r["replication_lag_s"],
                    lambda v: f"{v:.1f} s",
                    True,
                    DB_REPLICATION_LAG_S.breached,
                ),
                Column("conns", lambda r: r["connections"], lambda v: f"{v:.0f}", True),
                Column(
                    "pool",
                    lambda r: (r["pool"]["in_use"], r["pool"]["size"]),
                    lambda v: f"{v[0]}/{v[1]}",
                    True,
                ),
                Column("waiting", lambda r: r["pool"]["waiting"], lambda v: f"{v}", True, lambda v: v > 0),
                Column("query p95", lambda r: r["query_p95_ms"], lambda v: f"{v:.0f} ms", True),
                Column("slow/min", lambda r: r["slow_queries_per_min"], lambda v: f"{v:.1f}", True),
                Column("disk", lambda r: r["disk_used_pct"], lambda v: f"{v:.0f} %", True, lambda v: v > 85),
            ],
            self,
        )
        self.slow_model = RecordTableModel(
            [
                Column("database", lambda r: r["database"]),
                Column("mean", lambda r: r["mean_ms"], lambda v: f"{v:.0f} ms", True),
                Column("calls", lambda r: r["calls"], lambda v: f"{v:,}", True),
                Column("query", lambda r: r["query"]),
            ],
            self,
        )
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.cpu_chart)
        charts.addWidget(self.lag_chart)
        self.body.addWidget(charts)
        self.body.addWidget(make_table(self.databases_model, "databases", stretch_column=0))
        self.body.addWidget(make_table(self.slow_model, "slowQueries"))

    def charts(self) -> list[LiveChart]:
        return [self.cpu_chart, self.lag_chart]

    def record(self, document: Mapping[str, Any], at: float) -> None:
        health = DatabaseHealth.from_json(document)
        for db in health.databases:
            ring = self.histories.get(db.name)
            if ring is None:
                ring = self.histories[db.name] = TimeSeriesRing(
                    HISTORY_SAMPLES, ("cpu_pct", "replication_lag_s")
                )
                colour = SERIES_COLOURS[(len(self.histories) - 1) % len(SERIES_COLOURS)]
                self.cpu_chart.add_series(db.name, db.name, colour)
                self.lag_chart.add_series(db.name, db.name, colour)
            ring.append(at, (db.cpu_pct, db.replication_lag_s))

    def headline(self, document: Mapping[str, Any], age: str) -> str:
        health = DatabaseHealth.from_json(document)
        parts = []
        for db in health.databases:
            flags = "".join(" ⚠ " + t.label for t in db.breaches())
            parts.append(
                f"{db.name} ({db.role}) {db.status} CPU {_num(db.cpu_pct, 0, ' %')} "
                f"lag {_num(db.replication_lag_s, 1, ' s')}{flags}"
            )
        return " · ".join(parts) + f" · {age} ago"

    def update_tables(self, document: Mapping[str, Any], *, stale: bool) -> None:
        self.databases_model.set_records(list(document.get("databases") or []), stale=stale)
        self.slow_model.set_records(list(document.get("slow_queries") or []), stale=stale)

    def draw(self, now: float) -> None:
        for name, ring in self.histories.items():
            times = ring.times()
            self.cpu_chart.set_series_data(name, times, ring.column("cpu_pct"))
            self.lag_chart.set_series_data(name, times, ring.column("replication_lag_s"))
        for chart in self.charts():
            chart.set_time_window(now)


class SyncQualityView(DocumentView):
    COLUMNS = ("failure_pct", "error_pct", "latency_p50_ms", "latency_p95_ms")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncQuality")
        self.history = TimeSeriesRing(HISTORY_SAMPLES, self.COLUMNS)
        self.failure_chart = LiveChart("Sync detection failure", y_label="%")
        self.failure_chart.add_series("failure_pct", "detection failure", "#ff5e5e")
        self.failure_chart.add_series("error_pct", "sync errors", "#e0c040")
        self.failure_chart.add_threshold(
            SYNC_DETECTION_FAILURE.limit * 100, "detection failure > 15 %", "#ff5e5e"
        )
        self.latency_chart = LiveChart("Sync latency", y_label="ms")
        self.latency_chart.add_series("latency_p50_ms", "p50", "#6fd08c")
        self.latency_chart.add_series("latency_p95_ms", "p95", "#ffb347")
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.failure_chart)
        charts.addWidget(self.latency_chart)
        self.body.addWidget(charts)

    def charts(self) -> list[LiveChart]:
        return [self.failure_chart, self.latency_chart]

    def record(self, document: Mapping[str, Any], at: float) -> None:
        sync = SyncQuality.from_json(document)
        self.history.append(
            at,
            (
                sync.detection_failure_rate * 100,
                sync.error_rate * 100,
                sync.latency_p50_ms,
                sync.latency_p95_ms,
            ),
        )

    def headline(self, document: Mapping[str, Any], age: str) -> str:
        sync = SyncQuality.from_json(document)
        return (
            f"detection {_pct(sync.detection_rate, 1)} · failure {_pct(sync.detection_failure_rate, 1)}"
            f"{_flag(SYNC_DETECTION_FAILURE, sync.detection_failure_rate)} · "
            f"accuracy {_pct(sync.accuracy, 1)} · "
            f"latency p50 {_num(sync.latency_p50_ms, 0, ' ms')} p95 {_num(sync.latency_p95_ms, 0, ' ms')} · "
            f"errors {_pct(sync.error_rate)} · {_num(sync.sessions_per_min, 0)} sessions/min · {age} ago"
        )

    def draw(self, now: float) -> None:
        times = self.history.times()
        for chart in self.charts():
            for key in chart.series_keys():
                chart.set_series_data(key, times, self.history.column(key))
            chart.set_time_window(now)

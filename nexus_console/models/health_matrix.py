"""The service × probe matrix as a Qt table model: namespace group rows, then one row per service.

Columns: service, the four probes, and the newest request rate / p95 / 5xx rate from the metrics source.
Every cell carries text (never colour alone) and its age; the tooltip gives the exact reason. Updates emit
dataChanged over the changed row spans only; only a change of the service list itself resets the model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.health import (
    PROBES,
    SCALE_P95_MS,
    SLA_P95_MS,
    Probe,
    ProbeOutcome,
    ProbeResult,
    ProbeSweep,
    ServiceCatalog,
    ServiceInfo,
    ServiceState,
    service_state,
)
from nexus_console.domain.prom_metrics import MetricsSample

# Custom roles.
RAW_ROLE = Qt.ItemDataRole.UserRole  # the ProbeResult / MetricsSample / ServiceInfo behind a cell
STALE_ROLE = Qt.ItemDataRole.UserRole + 1  # bool: the cell shows data that is no longer current
SERVICE_ROLE = Qt.ItemDataRole.UserRole + 2  # service name of the row (None on group rows)
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3  # bool: a namespace group row
SORT_ROLE = Qt.ItemDataRole.UserRole + 4
LOOK_ROLE = Qt.ItemDataRole.UserRole + 5  # CellLook: everything the matrix delegate paints, in one call

SERVICE_COLUMN = 0
PROBE_COLUMNS = {probe: 1 + i for i, probe in enumerate(PROBES)}
RPS_COLUMN = 5
P95_COLUMN = 6
ERRORS_COLUMN = 7
HEADERS = ("service", "health", "live", "ready", "metrics", "req/s", "p95", "5xx/s")

OUTCOME_COLOURS = {
    ProbeOutcome.UP: "#1e7a46",
    ProbeOutcome.DEGRADED: "#9a6b00",
    ProbeOutcome.DOWN: "#a82a2a",
    ProbeOutcome.TIMEOUT: "#8f3f8f",
    ProbeOutcome.ERROR: "#b0452a",
}
UNKNOWN_COLOUR = "#4a4f57"
WARN_TEXT = "#e0a020"
BAD_TEXT = "#ff6b5e"

# A cell older than this many probe intervals is stale even if the source itself looks fine.
STALE_AFTER_INTERVALS = 3


def format_short_age(age_s: float) -> str:
    """Compact ages for dense cells: '3s', '12m', '2h'."""
    age_s = max(0.0, age_s)
    if age_s < 60:
        return f"{age_s:.0f}s"
    if age_s < 3600:
        return f"{age_s // 60:.0f}m"
    return f"{age_s // 3600:.0f}h"


@dataclass(frozen=True, slots=True)
class CellLook:
    """What one cell shows; the view paints it without asking the model role by role."""

    text: str
    background: QBrush | None
    foreground: QBrush | None
    alignment: Qt.AlignmentFlag
    bold: bool
    stale: bool


_DEFAULT_ALIGNMENT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True, slots=True)
class _Row:
    namespace: str
    service: ServiceInfo | None  # None: the namespace group row


class HealthMatrixModel(QAbstractTableModel):
    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.time,
        probe_interval_s: float = 5.0,
    ) -> None:
        super().__init__(parent)
        self.clock = clock
        self.probe_interval_s = probe_interval_s
        self._rows: list[_Row] = []
        self._row_of: dict[str, int] = {}
        self._cells: dict[tuple[str, Probe], ProbeResult] = {}
        self._samples: dict[str, MetricsSample] = {}
        self._metrics_errors: dict[str, str] = {}
        self._probes_stale = False
        self._metrics_stale = False
        self._group_texts: dict[str, str] = {}  # as last announced through dataChanged
        self._group_font = QFont()
        self._group_font.setBold(True)
        self._brushes = {outcome: QBrush(QColor(c)) for outcome, c in OUTCOME_COLOURS.items()}
        self._unknown_brush = QBrush(QColor(UNKNOWN_COLOUR))
        self._group_brush = QBrush(QColor("#2a2e35"))
        self._white = QBrush(QColor("#f2f2f2"))
        self._grey = QBrush(QColor("#9aa0a6"))

    # ---- feeding ---------------------------------------------------------------------------------

    def set_catalog(self, catalog: ServiceCatalog) -> None:
        rows: list[_Row] = []
        for namespace, services in catalog.namespaces():
            rows.append(_Row(namespace, None))
            rows.extend(_Row(namespace, service) for service in services)
        if rows == self._rows:
            return
        # The service list changed (rare: the catalogue is polled every minute): rebuild the layout.
        self.beginResetModel()
        self._rows = rows
        self._row_of = {row.service.name: i for i, row in enumerate(rows) if row.service is not None}
        # Forget services that left the catalogue, so weeks of churn cannot grow the model.
        self._cells = {key: r for key, r in self._cells.items() if key[0] in self._row_of}
        self._samples = {name: s for name, s in self._samples.items() if name in self._row_of}
        self._group_texts.clear()
        self.endResetModel()

    def set_sweep(self, sweep: ProbeSweep, *, stale: bool = False) -> None:
        """New probe results; emits dataChanged over the spans of rows whose cells changed."""
        changed_rows: set[int] = set()
        for result in sweep.results:
            key = (result.service, result.probe)
            if self._cells.get(key) != result:
                self._cells[key] = result
                row = self._row_of.get(result.service)
                if row is not None:
                    changed_rows.add(row)
        if stale != self._probes_stale:
            self._probes_stale = stale
            changed_rows.update(self._row_of.values())
        self._emit_rows_changed(changed_rows, PROBE_COLUMNS[Probe.HEALTH], PROBE_COLUMNS[Probe.METRICS])
        self._emit_group_rows_changed()

    def set_metrics(
        self, samples: Mapping[str, MetricsSample], errors: Mapping[str, str], *, stale: bool = False
    ) -> None:
        changed_rows = {
            self._row_of[n] for n, s in samples.items() if n in self._row_of and self._samples.get(n) != s
        }
        changed_rows |= {
            self._row_of[n] for n in set(errors) ^ set(self._metrics_errors) if n in self._row_of
        }
        # Merge, never replace: a service whose scrape failed keeps its last good figures (greyed, with
        # the reason in the tooltip) instead of blanking to "ERR".
        self._samples.update(samples)
        self._metrics_errors = dict(errors)
        if stale != self._metrics_stale:
            self._metrics_stale = stale
            changed_rows.update(self._row_of.values())
        self._emit_rows_changed(changed_rows, RPS_COLUMN, ERRORS_COLUMN)

    def refresh_ages(self) -> None:
        """The clock moved: every age text changed. One dataChanged over the whole probe block."""
        if self._rows:
            self.dataChanged.emit(
                self.index(0, PROBE_COLUMNS[Probe.HEALTH]),
                self.index(len(self._rows) - 1, PROBE_COLUMNS[Probe.METRICS]),
                [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, STALE_ROLE],
            )

    def _emit_rows_changed(self, rows: set[int], first_column: int, last_column: int) -> None:
        for start, end in _spans(sorted(rows)):
            self.dataChanged.emit(self.index(start, first_column), self.index(end, last_column))

    def _emit_group_rows_changed(self) -> None:
        """dataChanged for the group rows whose text (counts of services not up) changed."""
        for i, row in enumerate(self._rows):
            if row.service is None:
                text = self._group_data(row.namespace, SERVICE_COLUMN, Qt.ItemDataRole.DisplayRole)
                if self._group_texts.get(row.namespace) != text:
                    self._group_texts[row.namespace] = text
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(HEADERS) - 1))

    # ---- queries ---------------------------------------------------------------------------------

    def service_at(self, row: int) -> ServiceInfo | None:
        return self._rows[row].service if 0 <= row < len(self._rows) else None

    def row_of(self, service: str) -> int | None:
        return self._row_of.get(service)

    def result(self, service: str, probe: Probe) -> ProbeResult | None:
        return self._cells.get((service, probe))

    def service_names(self) -> list[str]:
        return [row.service.name for row in self._rows if row.service is not None]

    def service_state(self, service: str) -> ServiceState:
        results = [r for p in PROBES if (r := self._cells.get((service, p))) is not None]
        return service_state(results, self.clock(), self.stale_after_s)

    @property
    def stale_after_s(self) -> float:
        return STALE_AFTER_INTERVALS * self.probe_interval_s

    def _cell_stale(self, result: ProbeResult | None, now: float) -> bool:
        return self._probes_stale or result is None or now - result.checked_at > self.stale_after_s

    # ---- QAbstractTableModel ---------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()].service is None:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role == LOOK_ROLE:
            return self._look(index.row(), index.column())
        row = self._rows[index.row()]
        if row.service is None:
            return self._group_data(row.namespace, index.column(), role)
        column = index.column()
        if role == SERVICE_ROLE:
            return row.service.name
        if role == GROUP_ROLE:
            return False
        if column == SERVICE_COLUMN:
            return self._service_data(row.service, role)
        for probe, probe_column in PROBE_COLUMNS.items():
            if column == probe_column:
                return self._probe_data(row.service, probe, role)
        return self._metric_data(row.service, column, role)

    def _look(self, row_number: int, column: int) -> CellLook:
        row = self._rows[row_number]
        roles = Qt.ItemDataRole
        if row.service is None:
            text = self._group_data(row.namespace, column, roles.DisplayRole)
            return CellLook(text or "", self._group_brush, self._white, _DEFAULT_ALIGNMENT, True, False)
        if column == SERVICE_COLUMN:
            return CellLook(row.service.name, None, None, _DEFAULT_ALIGNMENT, False, False)
        for probe, probe_column in PROBE_COLUMNS.items():
            if column == probe_column:
                return self._probe_look(row.service, probe)
        sample_text = self._metric_data(row.service, column, roles.DisplayRole)
        return CellLook(
            sample_text,
            None,
            self._metric_data(row.service, column, roles.ForegroundRole),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            False,
            self._metric_data(row.service, column, STALE_ROLE),
        )

    def _probe_look(self, service: ServiceInfo, probe: Probe) -> CellLook:
        result = self._cells.get((service.name, probe))
        now = self.clock()
        stale = self._cell_stale(result, now)
        if result is None:
            return CellLook("—", self._unknown_brush, self._grey, Qt.AlignmentFlag.AlignCenter, False, stale)
        return CellLook(
            f"{result.label} {format_short_age(now - result.checked_at)}",
            self._brushes[result.outcome],
            self._grey if stale else self._white,
            Qt.AlignmentFlag.AlignCenter,
            False,
            stale,
        )

    def _group_data(self, namespace: str, column: int, role: int) -> Any:
        if role == GROUP_ROLE:
            return True
        if role == Qt.ItemDataRole.FontRole:
            return self._group_font
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._group_brush
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._white
        if role == Qt.ItemDataRole.DisplayRole and column == SERVICE_COLUMN:
            names = [r.service.name for r in self._rows if r.namespace == namespace and r.service is not None]
            states = [self.service_state(n) for n in names]
            bad = sum(s in (ServiceState.DOWN, ServiceState.DEGRADED) for s in states)
            suffix = f" — {bad} not up" if bad else ""
            return f"{namespace} ({len(names)}){suffix}"
        return None

    def _service_data(self, service: ServiceInfo, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return service.name
        if role == RAW_ROLE:
            return service
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [
                f"{service.name} ({service.namespace}, {service.tier})",
                service.description,
                service.health_url,
            ]
            return "\n".join(line for line in lines if line)
        return None

    def _probe_data(self, service: ServiceInfo, probe: Probe, role: int) -> Any:
        result = self._cells.get((service.name, probe))
        now = self.clock()
        stale = self._cell_stale(result, now)
        if role == RAW_ROLE:
            return result
        if role == STALE_ROLE:
            return stale
        if role == SORT_ROLE:
            return result.outcome.value if result else ""
        if role == Qt.ItemDataRole.DisplayRole:
            if result is None:
                return "—"
            return f"{result.label} {format_short_age(now - result.checked_at)}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._brushes[result.outcome] if result else self._unknown_brush
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._grey if stale else self._white
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._probe_tooltip(service, probe, result, now, stale)
        return None

    def _probe_tooltip(
        self, service: ServiceInfo, probe: Probe, result: ProbeResult | None, now: float, stale: bool
    ) -> str:
        if result is None:
            return f"{service.name} · {probe.value}: no result yet"
        lines = [f"{service.name} · {probe.value}: {result.label}"]
        if result.detail:
            lines.append(result.detail)
        answer = f"HTTP {result.http_status}" if result.http_status is not None else "no HTTP answer"
        if result.latency_ms is not None:
            answer += f" in {result.latency_ms:.0f} ms"
        lines.append(answer)
        lines.append(
            f"checked {format_clock(result.checked_at)} ({format_short_age(now - result.checked_at)} ago)"
        )
        if stale:
            lines.append("STALE: probes are not current")
        lines.append(service.url(probe))
        return "\n".join(lines)

    def _metric_data(self, service: ServiceInfo, column: int, role: int) -> Any:
        sample = self._samples.get(service.name)
        error = self._metrics_errors.get(service.name)
        value = math.nan
        if sample is not None:
            value = {RPS_COLUMN: sample.rps, P95_COLUMN: sample.p95_ms, ERRORS_COLUMN: sample.rps_5xx}[column]
        if role in (RAW_ROLE,):
            return sample
        if role == STALE_ROLE:
            return self._metrics_stale or error is not None
        if role == SORT_ROLE:
            return -1.0 if math.isnan(value) else value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DisplayRole:
            if error is not None and sample is None:
                return "ERR"
            if math.isnan(value):
                return "—"
            if column == P95_COLUMN:
                return f"{value:.0f} ms"
            return f"{value:.1f}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if self._metrics_stale or error is not None:
                return self._grey
            if column == P95_COLUMN and SCALE_P95_MS.breached(value):
                return QBrush(QColor(BAD_TEXT))
            if column == P95_COLUMN and SLA_P95_MS.breached(value):
                return QBrush(QColor(WARN_TEXT))
            if column == ERRORS_COLUMN and value > 0:
                return QBrush(QColor(BAD_TEXT))
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{service.name} · {HEADERS[column]}"]
            if sample is not None:
                lines.append(f"sample at {format_clock(sample.time_s)}")
            if error is not None:
                lines.append(f"last scrape failed: {error}")
            if self._metrics_stale:
                lines.append("STALE: metrics are not current")
            return "\n".join(lines)
        return None


def _spans(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of sorted row numbers."""
    spans: list[tuple[int, int]] = []
    for row in rows:
        if spans and row == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    return spans

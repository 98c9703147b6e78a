"""The service × probe matrix as a Qt table model, fed by probe sweeps, metrics samples and the catalogue."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.health import (
    PROBES,
    STALE_AFTER_INTERVALS,
    Probe,
    ProbeResult,
    ProbeSweep,
    ServiceState,
    service_state,
)
from nexus_console.domain.health_documents import SCALE_P95_MS, SLA_P95_MS
from nexus_console.domain.prom_metrics import MetricsSample
from nexus_console.domain.service_catalog import ServiceCatalog, ServiceInfo
from nexus_console.models.health_cells import (
    BAD_TEXT,
    ERRORS_COLUMN,
    GROUP_ROLE,
    HEADERS,
    LOOK_ROLE,
    OUTCOME_COLOURS,
    P95_COLUMN,
    PROBE_COLUMNS,
    RAW_ROLE,
    RPS_COLUMN,
    SERVICE_COLUMN,
    SERVICE_ROLE,
    SORT_ROLE,
    STALE_ROLE,
    UNKNOWN_COLOUR,
    WARN_TEXT,
    CellLook,
    format_cell_age,
    probe_tooltip,
)
from nexus_console.models.table_base import TableModel

# A cell older than this many probe intervals is stale even if the source itself looks fine.


_DEFAULT_ALIGNMENT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTRE_ALIGNMENT = Qt.AlignmentFlag.AlignCenter
# Built once: Python enum operators cost microseconds, and Qt asks for flags and looks once per painted cell.
_GROUP_FLAGS = Qt.ItemFlag.ItemIsEnabled
_SERVICE_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags
_PROBE_OF_COLUMN = {column: probe for probe, column in PROBE_COLUMNS.items()}


@dataclass(frozen=True, slots=True)
class _Row:
    namespace: str
    service: ServiceInfo | None  # None: the namespace group row


class HealthMatrixModel(TableModel):
    """The service × probe matrix: namespace group rows, then one row per service.

    Columns: service, the four probes, and the newest request rate / p95 / 5xx rate from the metrics source.
    Every cell carries text (never colour alone) and its age; the tooltip gives the exact reason. Updates emit
    dataChanged over the changed row spans only; only a change of the service list itself resets the model.
    """

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.time,
        probe_interval_s: float = 5.0,
    ) -> None:
        super().__init__(parent, headers=HEADERS)
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
        self._ages_shown: dict[tuple[str, Probe], tuple[str, bool]] = {}  # as last announced
        self._group_font = QFont()
        self._group_font.setBold(True)
        self._brushes = {outcome: QBrush(QColor(c)) for outcome, c in OUTCOME_COLOURS.items()}
        self._unknown_brush = QBrush(QColor(UNKNOWN_COLOUR))
        self._group_brush = QBrush(QColor("#2a2e35"))
        self._white = QBrush(QColor("#f2f2f2"))
        self._grey = QBrush(QColor("#9aa0a6"))
        self._bad_text = QBrush(QColor(BAD_TEXT))
        self._warn_text = QBrush(QColor(WARN_TEXT))

    # ---- feeding ---------------------------------------------------------------------------------

    def set_catalog(self, catalog: ServiceCatalog) -> None:
        rows: list[_Row] = []
        for namespace, services in catalog.namespaces():
            rows.append(_Row(namespace, None))
            rows.extend(_Row(namespace, service) for service in services)
        if rows == self._rows:
            return
        # The service list changed (rare: the catalogue is polled every minute): rebuild the layout.
        with self.resetting():
            self._rows = rows
            self._row_of = {row.service.name: i for i, row in enumerate(rows) if row.service is not None}
            # Forget services that left the catalogue, so weeks of churn cannot grow the model.
            self._cells = {key: r for key, r in self._cells.items() if key[0] in self._row_of}
            self._ages_shown = {key: a for key, a in self._ages_shown.items() if key[0] in self._row_of}
            self._samples = {name: s for name, s in self._samples.items() if name in self._row_of}
            self._group_texts.clear()

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
        self.announce_rows(
            changed_rows, first_column=PROBE_COLUMNS[Probe.HEALTH], last_column=PROBE_COLUMNS[Probe.METRICS]
        )
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
        self.announce_rows(changed_rows, first_column=RPS_COLUMN, last_column=ERRORS_COLUMN)

    def refresh_ages(self) -> None:
        """The clock moved: dataChanged over the rows whose probe cells now read differently (an age passed
        a step of `format_cell_age`, or a cell went stale), as spans; nothing when none did."""
        now = self.clock()
        changed_rows: set[int] = set()
        for (service, probe), result in self._cells.items():
            shown = (format_cell_age(now - result.checked_at), self._cell_stale(result, now))
            if self._ages_shown.get((service, probe)) != shown:
                self._ages_shown[(service, probe)] = shown
                row = self._row_of.get(service)
                if row is not None:
                    changed_rows.add(row)
        self.announce_rows(
            changed_rows,
            first_column=PROBE_COLUMNS[Probe.HEALTH],
            last_column=PROBE_COLUMNS[Probe.METRICS],
            roles=[Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, STALE_ROLE],
        )

    def _emit_group_rows_changed(self) -> None:
        """dataChanged for the group rows whose text (counts of services not up) changed."""
        for i, row in enumerate(self._rows):
            if row.service is None:
                text = self._group_data(row.namespace, SERVICE_COLUMN, Qt.ItemDataRole.DisplayRole)
                if self._group_texts.get(row.namespace) != text:
                    self._group_texts[row.namespace] = text
                    self.announce_span(i, i)

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

    # ---- the table ---------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self._rows)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        row = index.row()  # -1 for an invalid index
        if not 0 <= row < len(self._rows):
            return _NO_FLAGS
        return _GROUP_FLAGS if self._rows[row].service is None else _SERVICE_FLAGS

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role == LOOK_ROLE:
            return self.look(index.row(), index.column())
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

    def look(self, row_number: int, column: int) -> CellLook:
        """Everything the matrix delegate paints for one cell (what data(LOOK_ROLE) answers), in one call
        that the delegate makes directly: it is asked for every painted cell."""
        row = self._rows[row_number]
        service = row.service
        if service is None:
            text = self._group_data(row.namespace, column, Qt.ItemDataRole.DisplayRole)
            return CellLook(text or "", self._group_brush, self._white, _DEFAULT_ALIGNMENT, True, False)
        if column == SERVICE_COLUMN:
            return CellLook(service.name, None, None, _DEFAULT_ALIGNMENT, False, False)
        probe = _PROBE_OF_COLUMN.get(column)
        if probe is not None:
            return self._probe_look(service, probe)
        return self._metric_look(service, column)

    def _metric_look(self, service: ServiceInfo, column: int) -> CellLook:
        """The DisplayRole, ForegroundRole and STALE_ROLE of `_metric_data`, worked out once."""
        sample = self._samples.get(service.name)
        error = self._metrics_errors.get(service.name)
        stale = self._metrics_stale or error is not None
        if sample is None:
            text = "ERR" if error is not None else "—"
            return CellLook(text, None, self._grey if stale else None, _RIGHT_ALIGNMENT, False, stale)
        if column == RPS_COLUMN:
            value = sample.rps
        elif column == P95_COLUMN:
            value = sample.p95_ms
        else:
            value = sample.rps_5xx
        text = "—" if math.isnan(value) else f"{value:.0f} ms" if column == P95_COLUMN else f"{value:.1f}"
        foreground: QBrush | None = None
        if stale:
            foreground = self._grey
        elif column == P95_COLUMN and SCALE_P95_MS.breached(value):
            foreground = self._bad_text
        elif column == P95_COLUMN and SLA_P95_MS.breached(value):
            foreground = self._warn_text
        elif column == ERRORS_COLUMN and value > 0:
            foreground = self._bad_text
        return CellLook(text, None, foreground, _RIGHT_ALIGNMENT, False, stale)

    def _probe_look(self, service: ServiceInfo, probe: Probe) -> CellLook:
        result = self._cells.get((service.name, probe))
        now = self.clock()
        stale = self._cell_stale(result, now)
        if result is None:
            return CellLook("—", self._unknown_brush, self._grey, _CENTRE_ALIGNMENT, False, stale)
        return CellLook(
            f"{result.label} {format_cell_age(now - result.checked_at)}",
            self._brushes[result.outcome],
            self._grey if stale else self._white,
            _CENTRE_ALIGNMENT,
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
            return f"{result.label} {format_cell_age(now - result.checked_at)}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._brushes[result.outcome] if result else self._unknown_brush
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._grey if stale else self._white
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return probe_tooltip(service, probe, result, now, stale)
        return None

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

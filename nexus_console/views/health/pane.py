"""The Health pane: the service × probe matrix with a per-service detail, an all-services overview, and the
API, database and sync health views.

The pane watches the session's six Health sources (`session.health`), one handler per source. Two clocks
run only while the pane is visible: a 25 Hz redraw that pushes ring-buffer data into the visible charts when
it changed, and a 1 s tick that refreshes every age and stale mark.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QAction, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from nexus_console.domain.auth import MONITORING_READERS
from nexus_console.domain.freshness import SourceState, SourceStatus, stale_text
from nexus_console.domain.health import Probe, ProbeSweep, ServiceState, summarize
from nexus_console.domain.incident_flow import IncidentList
from nexus_console.domain.overview_series import overview_series
from nexus_console.domain.prom_metrics import MetricsHistory
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.domain.wall_playlist import PaneView
from nexus_console.models.health_cells import SERVICE_ROLE, format_short_age
from nexus_console.models.health_matrix import HealthMatrixModel
from nexus_console.views.health.documents import (
    ApiHealthView,
    DatabaseHealthView,
    DocumentView,
    SyncQualityView,
)
from nexus_console.views.health.incident_marks import open_in_incidents_pane
from nexus_console.views.health.matrix_view import HealthMatrixView, MatrixFilterBox
from nexus_console.views.health.service_detail import ServiceDetail
from nexus_console.views.health.widgets import SteadyTabWidget, apply_dark_palette
from nexus_console.views.incidents.banner import IncidentBanner
from nexus_console.views.overview_chart import OverviewChart
from nexus_console.views.pane import Pane, StaleBanner
from nexus_console.workers.session import ConsoleSession

SERVICES, PROBES, METRICS = "services", "probes", "metrics"
API_HEALTH, DB_HEALTH, SYNC_QUALITY = "api_health", "db_health", "sync_quality"

AGE_INTERVAL_MS = 1000
OVERVIEW_KINDS = ("rps", "p95_ms", "rps_5xx")
OVERVIEW_STATE_COLOURS = {
    ServiceState.UP: "#c8ccd2",
    ServiceState.DEGRADED: "#ffc857",
    ServiceState.DOWN: "#ff6b5e",
    ServiceState.STALE: "#8a8f98",
}
OVERVIEW_STALE_COLOUR = "#8a8f98"
SUMMARY_STYLE = "QLabel { color: #e6e6e6; font-size: 10pt; font-weight: bold; padding: 3px 4px; }"


class HealthPane(Pane):
    title = "Health"
    required_roles = MONITORING_READERS
    icon_name = "health"

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("healthPane")
        apply_dark_palette(self)
        self.sources = sources = session.health
        self.clock = time.time
        self.statuses: dict[str, SourceStatus[Any]] = {}
        self.catalog: ServiceCatalog | None = None
        self.sweep: ProbeSweep | None = None
        self.history: MetricsHistory | None = None
        self._overview_revision = -1
        self._overview_stale: str | None = None

        self.summary = QLabel("Health: waiting for the service list…", self)
        self.summary.setObjectName("healthSummary")
        self.summary.setStyleSheet(SUMMARY_STYLE)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.banner = StaleBanner(self)

        self.model = HealthMatrixModel(
            self, clock=lambda: self.clock(), probe_interval_s=sources.probes.interval_s
        )
        self.matrix = HealthMatrixView(self.model)
        self.matrix.selectionModel().selectionChanged.connect(self._on_selection)
        self.detail = ServiceDetail(self, clock=lambda: self.clock())
        self.detail.incidents.activated.connect(self.open_incident_event)
        self.matrix_tab = matrix_tab = QSplitter(Qt.Orientation.Horizontal)
        matrix_tab.addWidget(self.matrix)
        matrix_tab.addWidget(self.detail)
        self.detail.setMinimumWidth(380)  # the charts shrink on a laptop; the matrix's columns do not
        matrix_tab.setStretchFactor(0, 0)
        matrix_tab.setStretchFactor(1, 1)
        matrix_tab.setSizes([self.matrix.preferred_width(), 700])
        matrix_tab.splitterMoved.connect(lambda *_: setattr(self, "_handle_moved", True))

        self.overview = OverviewChart()
        self.api_view = ApiHealthView()
        self.db_view = DatabaseHealthView()
        self.sync_view = SyncQualityView()
        self.documents: dict[str, DocumentView] = {
            API_HEALTH: self.api_view,
            DB_HEALTH: self.db_view,
            SYNC_QUALITY: self.sync_view,
        }
        self.tabs = SteadyTabWidget(self)
        self.tabs.setObjectName("healthTabs")
        self.tabs.addTab(matrix_tab, "Services")
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.api_view, "API")
        self.tabs.addTab(self.db_view, "Database")
        self.tabs.addTab(self.sync_view, "Sync")
        self.tabs.currentChanged.connect(lambda _: self._redraw())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        self.problems_only = QCheckBox("problems only", self)
        self.problems_only.setObjectName("problemsOnly")
        self.problems_only.setToolTip("Show only services that are not fully up (down, degraded or stale)")
        self.problems_only.toggled.connect(lambda _checked: self._apply_row_filter())
        self.filter_box = MatrixFilterBox(self.matrix, self)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.filter_box)
        top.addWidget(self.problems_only)
        layout.addLayout(top)
        self.incident_banner = IncidentBanner(self)
        self.incident_banner.clicked.connect(lambda incident_id: self.open_incident_event(incident_id, None))
        layout.addWidget(self.incident_banner)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)

        # No frame clock: the charts redraw when a metrics round arrives and on the 1 s age tick (ages, stale
        # overlays). A 25 Hz redraw that mostly found nothing new cost a wall display ~1 % of a core.
        self.age_timer = self.every(AGE_INTERVAL_MS, self.refresh_ages, name="healthAges")

        self._refresh_action = QAction("Health: refresh now", self)
        self._refresh_action.triggered.connect(self.refresh_now)
        charts = [*self.detail.charts(), *(c for view in self.documents.values() for c in view.charts())]
        self._export_actions = [
            *(action for chart in charts for action in chart.actions()),
            *self.overview.actions(),
        ]

        self.watch(sources.services, self._on_services)
        self.watch(sources.probes, self._on_probes)
        self.watch(sources.metrics, self._on_metrics)
        for name, poller in sources.documents().items():
            self.watch(poller, lambda status, name=name: self._on_document(name, status))
        if session.incidents is not None:
            self.watch(session.incidents.list, self._on_incident_list)
            self.watch(session.incidents.timeline, self.detail.incidents.on_timeline)

    # ---- Pane ------------------------------------------------------------------------------------

    def actions(self) -> list[QAction]:  # type: ignore[override]
        return [self._refresh_action, *self._export_actions]

    def refresh_now(self) -> None:
        self.sources.refresh_now()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shut_down:
            self.refresh_ages()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # The matrix whole, the charts the rest: a splitter would share a narrow window proportionally and
        # cut the matrix's last columns. Until the user moves the handle.
        preferred = self.matrix.preferred_width()
        sizes = self.matrix_tab.sizes()
        if sum(sizes) > preferred + 200 and sizes[0] != preferred and not self._handle_moved:
            self.matrix_tab.setSizes([preferred, sum(sizes) - preferred])

    _handle_moved = False

    # ---- data in ---------------------------------------------------------------------------------

    def _on_services(self, status: SourceStatus[ServiceCatalog]) -> None:
        self.statuses[SERVICES] = status
        if status.last_good is not None:
            self._set_catalog(status.last_good.value)
        self._refresh_summary(self.clock())

    def _on_probes(self, status: SourceStatus[ProbeSweep]) -> None:
        self.statuses[PROBES] = status
        now = self.clock()
        if status.last_good is not None:
            self.sweep = status.last_good.value
            self.model.set_sweep(self.sweep, stale=status.is_stale(now))
            self._show_detail_health(now)
        self._refresh_summary(now)

    def _on_metrics(self, status: SourceStatus[Any]) -> None:
        self.statuses[METRICS] = status
        now = self.clock()
        if status.last_good is not None:
            metrics_round = status.last_good.value
            if metrics_round.history is not None:
                self.history = metrics_round.history
            if not self.age_timer.isActive():
                self.model.set_metrics(
                    metrics_round.samples, metrics_round.errors, stale=status.is_stale(now)
                )
            else:  # the 1 s age tick applies it to the table (a repaint per second, not two); charts now
                self._redraw()
        self._refresh_summary(now)

    def _on_document(self, name: str, status: SourceStatus[dict[str, Any]]) -> None:
        self.statuses[name] = status
        self.documents[name].ingest(status, self.clock())

    def _on_incident_list(self, status: SourceStatus[IncidentList]) -> None:
        self.incident_banner.on_status(status)
        self.detail.incidents.on_list(status)

    def _set_catalog(self, catalog: ServiceCatalog) -> None:
        self.catalog = catalog
        selected = self.detail.service
        self.model.set_catalog(catalog)
        self.overview.set_services([s.name for s in catalog.services])
        self._overview_revision = -1
        if selected is not None:
            row = self.model.row_of(selected)
            if row is not None:
                self.matrix.selectRow(row)
        elif catalog.services:
            self.select_service(catalog.services[0].name)

    def select_service(self, name: str) -> None:
        row = self.model.row_of(name)
        if row is not None:
            self.matrix.selectRow(row)

    def show_view(self, view: PaneView) -> None:
        """Wall items: `tab`, `service` (its detail on the Services tab), `filter = "problems"`."""
        super().show_view(view)
        if view.filter:
            self.problems_only.setChecked(view.filter.casefold() in {"problems", "problems only"})
        if view.service:
            self.tabs.setCurrentIndex(0)
            self.select_service(view.service)

    def show_service_at(self, service: str, at: float) -> None:
        """Show `service`'s detail charts (Services tab, its row selected even if a filter hid it)
        with the epoch time `at` in view when the charts reach back that far (`ServiceDetail.show_time`)."""
        self.tabs.setCurrentIndex(0)  # Services
        row = self.model.row_of(service)
        if row is None:  # no service list yet: _set_catalog selects it when it comes
            self.detail.show_service(service)
            return
        if self.matrix.isRowHidden(row):
            self.filter_box.clear()
            self.problems_only.setChecked(False)
        self.select_service(service)  # a new selection redraws the charts with its data
        self.detail.show_time(at, self.clock())

    def open_incident_event(self, incident_id: int, event_key: str | None) -> None:
        """A band or mark clicked on a chart: the incident (and that event) in the Incidents pane."""
        open_in_incidents_pane(self.window(), incident_id, event_key)

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        self.detail.show_service(indexes[0].data(SERVICE_ROLE))
        self._show_detail_health(self.clock())
        self._redraw()

    def _show_detail_health(self, now: float) -> None:
        service = self.detail.service
        result = self.model.result(service, Probe.HEALTH) if service else None
        probes = self.statuses.get(PROBES)
        stale = (
            probes is None
            or probes.is_stale(now)
            or (result is not None and now - result.checked_at > self.model.stale_after_s)
        )
        self.detail.show_health(result, now, stale)

    # ---- ages, staleness, summary ----------------------------------------------------------------

    def _source_stale_text(self, name: str, now: float) -> str | None:
        status = self.statuses.get(name)
        return stale_text(status, now) if status is not None else None

    def refresh_ages(self) -> None:
        now = self.clock()
        probes = self.statuses.get(PROBES)
        if self.sweep is not None and probes is not None:
            self.model.set_sweep(self.sweep, stale=probes.is_stale(now))
        metrics = self.statuses.get(METRICS)
        if metrics is not None and metrics.last_good is not None:
            value = metrics.last_good.value
            self.model.set_metrics(value.samples, value.errors, stale=metrics.is_stale(now))
        self.model.refresh_ages()
        self._show_detail_health(now)
        for view in self.documents.values():
            view.refresh_texts(now)
        self.incident_banner.refresh(now)
        self._refresh_summary(now)
        self._apply_row_filter()
        self._redraw()  # stale overlays follow the clock too, not only new data

    def _apply_row_filter(self) -> None:
        if not self.problems_only.isChecked():
            self.matrix.show_only(None)
            return
        problems = {
            name
            for name in self.model.service_names()
            if self.model.service_state(name) is not ServiceState.UP
        }
        self.matrix.show_only(problems)

    def _refresh_summary(self, now: float) -> None:
        names = [s.name for s in self.catalog.services] if self.catalog else []
        parts = []
        probes = self.statuses.get(PROBES)
        if not names:
            parts.append("no service list yet")
        elif probes is not None and probes.last_good is not None and probes.is_stale(now):
            # Counting "up" from probes we can no longer run would be a lie: everything is stale.
            known = summarize(names, self.sweep, probes.last_good.source_time, self.model.stale_after_s)
            parts.append(
                f"{len(names)} services: all {len(names)} stale (last known {known.up} up · "
                f"{known.degraded} degraded · {known.down} down)"
            )
        else:
            summary = summarize(names, self.sweep, now, self.model.stale_after_s)
            parts.append(f"{len(names)} services: {summary.text()}")
        for name, label in ((PROBES, "probes"), (METRICS, "metrics"), (SERVICES, "list")):
            status = self.statuses.get(name)
            if status is not None and status.last_good is not None:
                parts.append(f"{label} {format_short_age(status.last_good.age_s(now))} ago")
        self.summary.setText(" · ".join(parts))
        lines = []
        for name, label in ((SERVICES, "service list"), (PROBES, "probes"), (METRICS, "metrics")):
            status = self.statuses.get(name)
            text = stale_text(status, now) if status is not None else None
            if status is None or text is None:
                continue
            if status.state is SourceState.CONNECTING and status.last_good is None:
                continue  # the first answer is still on its way: nothing is stale yet
            lines.append(f"{label}: {text}")
        self.banner.set_text("\n".join(lines) if lines else None)

    # ---- drawing ---------------------------------------------------------------------------------

    def _redraw(self) -> None:
        now = self.clock()
        current = self.tabs.currentWidget()
        if current is self.overview:
            self._redraw_overview(now)
        elif current in self.documents.values():
            current.redraw(now)  # type: ignore[union-attr]
        else:
            self.detail.redraw(self.history, now, self._source_stale_text(METRICS, now))

    def _redraw_overview(self, now: float) -> None:
        stale = self._source_stale_text(METRICS, now)
        self.overview.set_stale(stale)
        if self.history is None or self.catalog is None or self.history.revision == self._overview_revision:
            return
        self._overview_revision = self.history.revision
        names = [s.name for s in self.catalog.services]
        self.overview.set_data(*overview_series(self.history, names, OVERVIEW_KINDS))
        self.overview.set_labels(*self._overview_labels(names, now, stale is not None))

    def _overview_labels(self, names: list[str], now: float, stale: bool) -> tuple[list[str], list[str]]:
        texts, colours = [], []
        for name in names:
            latest = self.history.ring(name).latest() if self.history is not None else None
            state = self.model.service_state(name)
            figures = ""
            if latest is not None and not math.isnan(latest["rps"]):
                figures = f"  {latest['rps']:.0f} req/s"
                if not math.isnan(latest["p95_ms"]):
                    figures += f" · p95 {latest['p95_ms']:.0f} ms"
                if latest["rps_5xx"] > 0:
                    figures += f" · 5xx {latest['rps_5xx']:.1f}/s"
            texts.append(f"{name} {state.value.upper()}{figures}")
            colours.append(OVERVIEW_STALE_COLOUR if stale else OVERVIEW_STATE_COLOURS[state])
        return texts, colours

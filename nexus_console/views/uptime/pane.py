"""Uptime: per namespace and per service, the state now, 90 daily bars and the uptime of the last 24 h,
7 days, 30 days, this month and last month against the 99.9 % SLA, from the console's own probe history;
the incidents of the selected service; a month's SLA report as CSV or PDF."""

from __future__ import annotations

import csv
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.auth import MONITORING_READERS
from nexus_console.domain.freshness import SourceStatus, stale_text
from nexus_console.domain.incident_flow import IncidentList
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.domain.uptime import ACCOUNTING_RULE, month_of, previous_month
from nexus_console.domain.uptime_report import (
    REPORT_COLUMNS,
    group_by_namespace,
    sla_report_html,
    sla_report_rows,
)
from nexus_console.domain.uptime_windows import ServiceUptime, meets_sla
from nexus_console.domain.wall_playlist import PaneView
from nexus_console.models.health_cells import format_short_age
from nexus_console.models.uptime_table import ROW_ROLE, UPTIME_COLUMNS, UptimeTableModel
from nexus_console.views.async_dialog import ask_save_path
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.views.pdf_export import write_pdf
from nexus_console.views.table_view import row_table
from nexus_console.views.uptime.bars import DailyBarsDelegate
from nexus_console.workers.session import ConsoleSession

REFRESH_MS = 15_000  # the recording writes every 10 s; the pane re-reads the rollups this often while shown
MONTHS_OFFERED = 24


class UptimePane(Pane):
    title = "Uptime"
    icon_name = "uptime"
    required_roles = MONITORING_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.clock = time.time
        self.namespace_of: dict[str, str] = {}
        self.reports: list[ServiceUptime] = []
        self.read_at: float | None = None
        self.read_error = ""
        self.incidents: IncidentList | None = None

        self.headline = QLabel("Reading the uptime history…", self)
        self.headline.setObjectName("uptimeHeadline")
        self.rule = QLabel(f"How uptime is counted: {ACCOUNTING_RULE}", self)
        self.rule.setObjectName("uptimeRule")
        self.rule.setWordWrap(True)
        self.rule.setStyleSheet("color: #9aa0a8;")
        self.banner = StaleBanner(self)
        self.month = QComboBox(self)
        self.month.setObjectName("reportMonth")
        self.month.setToolTip("The UTC calendar month the SLA report covers")
        year, month = month_of(self.clock())
        for _ in range(MONTHS_OFFERED):
            year, month = previous_month(year, month)
            self.month.addItem(f"{datetime(year, month, 1):%B %Y}", (year, month))
        self.export_button = QPushButton("Export SLA report…", self)
        self.export_button.setObjectName("exportSlaReport")
        self.export_button.setToolTip("One row a service for the chosen month, as CSV or PDF")
        self.export_button.clicked.connect(self._export_clicked)
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(QLabel("SLA report for", self))
        top.addWidget(self.month)
        top.addWidget(self.export_button)

        self.model = UptimeTableModel(self)
        bars_column = UPTIME_COLUMNS.index("Last 90 days")
        self.table = row_table(self.model, "uptimeTable", self, stretch_column=bars_column)
        self.table.setItemDelegateForColumn(bars_column, DailyBarsDelegate(self.table))
        header = self.table.horizontalHeader()
        header.resizeSection(0, 240)
        for column in range(bars_column + 1, len(UPTIME_COLUMNS)):
            header.resizeSection(column, 86)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.incident_title = QLabel("Incidents", self)
        self.incident_list = QListWidget(self)
        self.incident_list.setObjectName("uptimeIncidents")
        self.incident_list.itemActivated.connect(self._open_incident)
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.incident_title)
        side_layout.addWidget(self.incident_list)
        # The incidents go under the table, not beside it: the 90 daily bars need the width (3 px a day).
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 120])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.rule)

        self.watch(session.health.services, self._on_services)
        self.watch(session.health.probes, lambda _status: self._refresh_banner())
        self.watch(session.uptime.feed, self._on_report)
        if session.incidents is not None:
            self.watch(session.incidents.list, self._on_incidents)
        self.every(REFRESH_MS, self.reload, name="uptimeReload")
        self.every(1000, self._refresh_banner, name="uptimeAges")

    def actions(self) -> list[QAction]:  # type: ignore[override]
        action = QAction("Export SLA report…", self)
        action.setObjectName("exportSlaReportAction")
        action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        action.triggered.connect(self._export_clicked)
        return [action]

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.reload()

    def show_view(self, view: PaneView) -> None:
        """Wall items: `service` selects it (its incidents beside the table)."""
        super().show_view(view)
        if view.service:
            self.select(view.service)

    def reload(self) -> None:
        """Read the rollups again (on a worker thread); the feed brings the answer."""
        self.run_task(self._reload(), "read uptime")

    async def _reload(self) -> None:
        try:
            await self.session.uptime.refresh()
            self.read_error = ""
        except Exception as exc:
            self.read_error = f"The uptime history could not be read ({exc}); showing what was read before."
            self._refresh_banner()

    # ---- data in -----------------------------------------------------------------------------------

    def _on_services(self, status: SourceStatus[ServiceCatalog]) -> None:
        if status.last_good is not None:
            self.namespace_of = {s.name: s.namespace for s in status.last_good.value.services}
            self.model.namespace_of = self.namespace_of
            self._show()

    def _on_report(self, reports: list[ServiceUptime] | None) -> None:
        if reports is None:
            return
        self.reports = reports
        self.read_at = self.clock()
        self._show()

    def _on_incidents(self, status: SourceStatus[IncidentList]) -> None:
        if status.last_good is not None:
            self.incidents = status.last_good.value
            self.model.incidents = self.incidents.incidents
            self._show_incidents()

    def _show(self) -> None:
        selected = self.selected_key()
        groups = group_by_namespace(self.reports, self.namespace_of)
        probes = self.session.health.probes.status
        self.model.set_groups(groups, stale=probes.is_stale(self.clock()))
        verdicts = [meets_sla(r.last_month) for r in self.reports]
        missed, known = verdicts.count(False), len(verdicts) - verdicts.count(None)
        if not self.reports:
            self.headline.setText(
                "No uptime recorded yet: the console records every probe sweep from now on."
            )
        else:
            self.headline.setText(
                f"{len(self.reports)} services · last month: {known - missed} met the 99.9 % SLA, "
                f"{missed} missed"
                + (f", {len(self.reports) - known} without data" if known < len(self.reports) else "")
            )
        if selected:
            self.select(selected)
        elif self.model.rowCount():
            self.table.selectRow(0)  # the first namespace: its incidents beside the table
        self._refresh_banner()

    def _refresh_banner(self) -> None:
        now = self.clock()
        probes = self.session.health.probes.status
        lines = [self.read_error] if self.read_error else []
        text = stale_text(probes, now) if probes.last_good is not None else None
        if text:
            lines.append(f"Probes {text}: time since counts as no data, not as up.")
        self.banner.set_text("\n".join(lines) or None)
        apply_stale_look(self.table, bool(lines))
        if self.read_at is not None:
            self.table.setToolTip(f"read {format_short_age(now - self.read_at)} ago")

    # ---- selection and incidents ---------------------------------------------------------------------

    def selected_key(self) -> str | None:
        index = self.table.currentIndex()
        row = self.model.data(index, ROW_ROLE) if index.isValid() else None
        return row.key if row is not None else None

    def select(self, service: str) -> None:
        row = self.model.row_of(service)
        if row is not None:
            self.table.selectRow(row)

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_incidents()

    def _show_incidents(self) -> None:
        self.incident_list.clear()
        index = self.table.currentIndex()
        row = self.model.data(index, ROW_ROLE) if index.isValid() else None
        if row is None:
            self.incident_title.setText("Incidents: select a service or a namespace")
            return
        if row.is_namespace:
            services = {s for s, ns in self.namespace_of.items() if ns == row.namespace}
            name = row.namespace
        else:
            services, name = {row.uptime.service}, row.uptime.service
        if self.incidents is None:
            self.incident_title.setText(f"Incidents of {name}: not available to this account")
            return
        mine = [i for i in self.incidents.incidents if services & set(i.services)]
        self.incident_title.setText(f"Incidents of {name}: {len(mine)}")
        for incident in mine:
            started = incident.impact_started_at or incident.created_at
            ended = incident.resolved_at
            span = f"{datetime.fromtimestamp(started):%d %b %H:%M}" + (
                f" – {datetime.fromtimestamp(ended):%d %b %H:%M}" if ended else " – open"
            )
            item = QListWidgetItem(
                f"#{incident.id} {incident.title}\n"
                f"{incident.severity.value} · {incident.status.value} · {span}"
            )
            item.setData(Qt.ItemDataRole.UserRole, incident.id)
            self.incident_list.addItem(item)

    def _open_incident(self, item: QListWidgetItem) -> None:
        show_pane = getattr(self.window(), "show_pane", None)
        if callable(show_pane):
            pane: Any = show_pane("Incidents")
            pane.open_event(int(item.data(Qt.ItemDataRole.UserRole)))

    # ---- the SLA report ----------------------------------------------------------------------------------

    def _export_clicked(self) -> None:
        year, month = self.month.currentData()

        async def ask_and_export() -> None:
            name = f"sla-{year}-{month:02d}.csv"
            path = await ask_save_path(self, "Export SLA report", name, ("csv", "pdf"))
            if path is not None:
                await self.export_sla_report(path, year, month)

        self.run_task(ask_and_export(), "export SLA report")

    async def export_sla_report(self, path: Path, year: int, month: int) -> str:
        """Write the month's report a service as CSV or PDF (by the file's suffix); returns what was said."""
        report = await self.session.uptime.store.month_report(year, month, now=self.clock())
        if path.suffix.lower() == ".pdf":
            pages = write_pdf(
                sla_report_html(year, month, report, self.clock()), path, title=f"SLA {year}-{month:02d}"
            )
            said = (
                f"Saved the SLA report for {year}-{month:02d} ({len(report)} services, {pages} page(s)) "
                f"to {path}"
            )
        else:
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(REPORT_COLUMNS)
                writer.writerows(sla_report_rows(report))
            said = f"Saved the SLA report for {year}-{month:02d} ({len(report)} services) to {path}"
        self.headline.setText(said)
        return said

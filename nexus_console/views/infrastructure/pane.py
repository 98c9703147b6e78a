"""Infrastructure: every host Prometheus scrapes a node exporter from, with CPU, memory, the fullest
filesystem and when it fills, disk and network throughput and load; the seed-002 scaling triggers of the
selected host with their state and countdown; and its last hour as charts (CPU by mode, memory, disk I/O,
network). Every figure says which Prometheus it came from and how old it is; a stale picture stays on
screen, greyed, under a banner that says why."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from nexus_console.domain.auth import MONITORING_READERS
from nexus_console.domain.freshness import SourceStatus, format_age, format_clock, stale_text
from nexus_console.domain.infrastructure import InfraSnapshot, InstanceView
from nexus_console.models.infra_table import InfraTableModel, TriggerTableModel
from nexus_console.views.chart_base import time_series_plot
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.views.table_view import fit_columns, row_table
from nexus_console.workers.session import ConsoleSession

MODE_COLOURS = {"user": "#4c9be8", "system": "#e5a04b", "iowait": "#e5534b", "steal": "#b36ae2",
                "other": "#8a8f98"}  # fmt: skip
CHARTS = (  # (key, title, [(series attribute, legend, colour)])
    ("cpu", "CPU by mode, %", []),
    ("memory", "Memory used, %", [("memory_used_pct", "used", "#4c9be8")]),
    (
        "disk",
        "Disk I/O, bytes/s",
        [("disk_read_bps", "read", "#58c27d"), ("disk_write_bps", "write", "#e5a04b")],
    ),
    ("network", "Network, bytes/s", [("net_rx_bps", "rx", "#58c27d"), ("net_tx_bps", "tx", "#e5a04b")]),
)


class InfrastructurePane(Pane):
    title = "Infrastructure"
    icon_name = "infrastructure"
    required_roles = MONITORING_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.status: SourceStatus[InfraSnapshot] | None = None
        self.snapshot: InfraSnapshot | None = None
        self.selected: str | None = None  # the instance whose triggers and charts are shown, by name
        self.info = QLabel("Reading the hosts from Prometheus…")
        self.info.setObjectName("infraInfo")
        self.info.setWordWrap(True)
        self.banner = StaleBanner()
        self.message = QLabel()
        self.message.setObjectName("infraMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.instances = InfraTableModel(self)
        self.instance_view = row_table(self.instances, "infraInstances")
        self.instance_view.selectionModel().currentRowChanged.connect(self._on_row)
        self.detail_title = QLabel("Select a host to see its scaling triggers and its last hour.")
        self.detail_title.setObjectName("infraDetailTitle")
        self.detail_title.setWordWrap(True)
        self.cpu_modes = QLabel()
        self.cpu_modes.setObjectName("infraCpuModes")
        self.cpu_modes.setWordWrap(True)
        self.triggers = TriggerTableModel(self)
        self.trigger_view = row_table(self.triggers, "infraTriggers")
        self.charts: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, dict[str, Any]] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for position, (key, title, series) in enumerate(CHARTS):
            plot = time_series_plot(90, 400)
            plot.setTitle(title, size="8pt")
            item = plot.getPlotItem()
            item.legend.setColumnCount(5)  # one row along the top: the curves stay visible
            self.curves[key] = {
                attribute: item.plot([], [], pen=pg.mkPen(colour, width=1), name=legend)
                for attribute, legend, colour in series
            }
            self.charts[key] = plot
            grid.addWidget(plot, position // 2, position % 2)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.detail_title)
        left_layout.addWidget(self.cpu_modes)
        left_layout.addWidget(QLabel("<b>Scaling triggers</b> (seed 002)"))
        left_layout.addWidget(self.trigger_view, 1)
        charts = QWidget()
        charts.setLayout(grid)
        detail = QSplitter(Qt.Orientation.Horizontal)
        detail.addWidget(left)
        detail.addWidget(charts)
        detail.setStretchFactor(0, 2)
        detail.setStretchFactor(1, 3)
        detail.setSizes([540, 660])
        self.body = QSplitter(Qt.Orientation.Vertical)
        self.body.addWidget(self.instance_view)
        self.body.addWidget(detail)
        self.body.setSizes([220, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(self.body, 1)
        sources = session.infrastructure
        if sources is None or sources.poller is None:
            reason = sources.unavailable if sources is not None else None
            self.info.setText(reason or "This account may not read the infrastructure metrics.")
            self.body.hide()  # the sentence, not an empty table and blank charts
            layout.addStretch(1)
        else:
            self.watch(sources.poller, self.set_status)
        self.every(1000, self._tick)

    # ---- data ------------------------------------------------------------------------------------

    def set_status(self, status: SourceStatus[InfraSnapshot]) -> None:
        self.status = status
        if status.last_good is not None and status.last_good.value is not self.snapshot:
            self.show_snapshot(status.last_good.value)
        self._tick()

    def show_snapshot(self, snapshot: InfraSnapshot) -> None:
        self.snapshot = snapshot
        self.instances.set_instances(snapshot.instances)
        fit_columns(self.instance_view, stretch=1)
        problems = "; ".join(snapshot.problems)
        self.show_message(f"Some figures are missing: {problems}" if problems else "")
        if not snapshot.instances:
            self.detail_title.setText(f"Prometheus at {snapshot.prometheus_url} has no node exporter data.")
        names = [view.instance for view in snapshot.instances]
        if self.selected not in names:
            self.selected = names[0] if names else None
            self._focus()
        row = self.instances.row_of(self.selected) if self.selected is not None else None
        if row is not None:
            self.instance_view.selectRow(row)
        self._show_detail()

    def selected_instance(self) -> InstanceView | None:
        if self.snapshot is None or self.selected is None:
            return None
        return self.snapshot.instance(self.selected)

    def select_instance(self, name: str) -> None:
        row = self.instances.row_of(name)
        if row is not None:
            self.instance_view.selectRow(row)

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if 0 <= current.row() < self.instances.rowCount():
            name = self.instances.item_at(current.row()).instance
            if name != self.selected:
                self.selected = name
                self._focus()
                self._show_detail()

    def _focus(self) -> None:
        """Ask for the selected host's CPU by mode over the hour (fetched for one host at a time)."""
        if self.session.infrastructure is not None:
            self.session.infrastructure.focus(self.selected)

    def _show_detail(self) -> None:
        view, snapshot, now = self.selected_instance(), self.snapshot, time.time()
        if view is None or snapshot is None:
            self.triggers.set_triggers((), now)
            return
        self.detail_title.setText(
            f"<b>{view.instance}</b> — {view.state_text()}; the last hour from {snapshot.prometheus_url} "
            f"as of {format_clock(snapshot.evaluated_at)}"
        )
        modes = sorted(view.cpu_by_mode.items(), key=lambda item: -item[1])
        self.cpu_modes.setText(
            "CPU by mode now: " + ", ".join(f"{mode} {value:.1f} %" for mode, value in modes)
            if modes
            else "CPU by mode: no data"
        )
        self.triggers.set_triggers(view.triggers, now)
        fit_columns(self.trigger_view, stretch=1)
        history = view.history
        times = history.times
        cpu = self.charts["cpu"].getPlotItem()
        modes_shown = history.cpu_chart()
        waiting = not modes_shown and view.reporting
        cpu.setTitle("CPU by mode, % (reading…)" if waiting else "CPU by mode, %", size="8pt")
        for mode, curve in list(self.curves["cpu"].items()):
            if mode not in modes_shown:
                cpu.removeItem(curve)
                self.curves["cpu"].pop(mode)
        for mode, values in modes_shown.items():
            curve = self.curves["cpu"].get(mode)
            if curve is None:
                colour = MODE_COLOURS.get(mode, "#d5d8dc")
                curve = self.curves["cpu"][mode] = cpu.plot([], [], pen=pg.mkPen(colour, width=1), name=mode)
            curve.setData(times, values, connect="finite")
        for key, _title, series in CHARTS[1:]:
            for attribute, _legend, _colour in series:
                values = getattr(history, attribute)
                self.curves[key][attribute].setData(times, np.asarray(values), connect="finite")

    def _tick(self) -> None:
        status, now = self.status, time.time()
        text = stale_text(status, now) if status is not None else None
        self.banner.set_text(text)
        apply_stale_look(self.body, bool(text) and self.snapshot is not None)
        snapshot = self.snapshot
        if snapshot is not None:
            age = format_age(max(0.0, now - snapshot.evaluated_at))
            count = len(snapshot.instances)
            self.info.setText(
                f"{count} host{'' if count == 1 else 's'} from Prometheus at {snapshot.prometheus_url}, "
                f"as of {format_clock(snapshot.evaluated_at)} ({age} ago)"
            )
        elif status is not None and status.error and self.session.infrastructure is not None:
            self.info.setText(f"Could not read the hosts from Prometheus: {status.error}")
        self.triggers.tick(now)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

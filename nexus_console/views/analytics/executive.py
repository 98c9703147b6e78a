"""The executive page (Analytics › Executive): the business at a glance, a tile a figure with its month on
month and year on year change and a sparkline of its months, from the analytics documents, the monthly
report, this console's uptime record, the API's latency and the incident list. One line says how old the
oldest answer is; a stale source greys the page under a banner that names it."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from nexus_console.domain.executive import ExecutiveInputs, ExecutiveTile, executive_tiles
from nexus_console.domain.freshness import SourceStatus, format_age, stale_text
from nexus_console.domain.health_documents import ApiHealth
from nexus_console.domain.reports import ReportTable
from nexus_console.domain.uptime_windows import ServiceUptime
from nexus_console.views.analytics.page import TILE_STYLE, KpiTile
from nexus_console.views.analytics.sparkline import Sparkline
from nexus_console.views.pane import StaleBanner, apply_stale_look

COLUMNS = 4
USERS, VENDORS, MONTHLY, API, INCIDENTS = "users", "vendors", "monthly", "api", "incidents"
SOURCE_LABELS = {USERS: "users", VENDORS: "vendors", MONTHLY: "monthly orders", API: "API health",
                 INCIDENTS: "incidents"}  # fmt: skip


class ExecutiveTileWidget(KpiTile):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sparkline = Sparkline(self)
        self.layout().addWidget(self.sparkline)  # type: ignore[union-attr]

    def show_executive(self, tile: ExecutiveTile) -> None:
        self.show_tile(tile)  # type: ignore[arg-type]
        self.sparkline.set_values(tile.trend)
        self.sparkline.setVisible(len(tile.trend) > 1)
        self.value.setEnabled(tile.available)


class ExecutivePage(QScrollArea):
    def __init__(
        self, *, may_read_revenue: bool, may_read_incidents: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("analytics_executive")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.may_read_revenue = may_read_revenue
        self.may_read_incidents = may_read_incidents
        self.statuses: dict[str, SourceStatus[Any]] = {}
        self.uptime: list[ServiceUptime] | None = None
        self.tiles_shown: tuple[ExecutiveTile, ...] = ()
        self._inputs = ExecutiveInputs(
            may_read_revenue=may_read_revenue, may_read_incidents=may_read_incidents
        )
        self.info = QLabel("Waiting for the first figures…")
        self.info.setObjectName("executiveInfo")
        self.banner = StaleBanner()
        self.body = QWidget()
        self.body.setStyleSheet(TILE_STYLE)
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.tiles: list[ExecutiveTileWidget] = []
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.info)
        layout.addWidget(self.banner)
        layout.addWidget(self.body)
        layout.addStretch(1)
        self.setWidget(content)

    def set_source(self, name: str, status: SourceStatus[Any]) -> None:
        self.statuses[name] = status
        self._inputs = self.inputs()  # parsed once an answer, not on every second's refresh
        self.refresh(time.time())

    def set_uptime(self, report: list[ServiceUptime]) -> None:
        self.uptime = report
        self._inputs = self.inputs()
        self.refresh(time.time())

    def inputs(self) -> ExecutiveInputs:
        def value(name: str) -> Any:
            status = self.statuses.get(name)
            return status.last_good.value if status is not None and status.last_good is not None else None

        monthly, api = value(MONTHLY), value(API)
        return ExecutiveInputs(
            users=value(USERS),
            vendors=value(VENDORS),
            monthly=ReportTable.from_json(monthly) if monthly is not None else None,
            uptime=self.uptime,
            api=ApiHealth.from_json(api) if api is not None else None,
            incidents=value(INCIDENTS),
            may_read_revenue=self.may_read_revenue,
            may_read_incidents=self.may_read_incidents,
        )

    def refresh(self, now: float) -> None:
        tiles = executive_tiles(self._inputs, now)
        if tiles != self.tiles_shown:
            self.tiles_shown = tiles
            self._show_tiles(tiles)
        stale = [
            f"{SOURCE_LABELS[name]}: {text}"
            for name, status in self.statuses.items()
            if (text := stale_text(status, now)) is not None
        ]
        self.banner.set_text("; ".join(stale) or None)
        apply_stale_look(self.body, bool(stale))
        ages = [s.last_good.age_s(now) for s in self.statuses.values() if s.last_good is not None]
        users = self.statuses.get(USERS)
        as_of = users.last_good.value.get("as_of", "")[:10] if users is not None and users.last_good else ""
        if ages:
            data = f"Platform data as of {as_of} · " if as_of else ""
            self.info.setText(f"{data}the oldest answer is {format_age(max(ages))} old")

    def _show_tiles(self, tiles: tuple[ExecutiveTile, ...]) -> None:
        while len(self.tiles) < len(tiles):
            widget = ExecutiveTileWidget()
            index = len(self.tiles)
            self.grid.addWidget(widget, index // COLUMNS, index % COLUMNS)
            self.tiles.append(widget)
        for widget, tile in zip(self.tiles, tiles, strict=False):
            widget.show_executive(tile)
        for index, widget in enumerate(self.tiles):
            widget.setVisible(index < len(tiles))

"""Status: every service as a tile (operational, degraded, down, unknown), grouped by namespace, readable from
across a room. The wall's first item; also a pane of the main window."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtGui import QFont, QFontInfo
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nexus_console.domain.auth import MONITORING_READERS
from nexus_console.domain.freshness import SourceStatus, stale_text
from nexus_console.domain.health import STALE_AFTER_INTERVALS, ProbeSweep
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.domain.status_board import BoardState, status_board
from nexus_console.views.incidents.banner import IncidentBanner
from nexus_console.views.pane import Pane, StaleBanner
from nexus_console.views.status.tiles import StatusTiles
from nexus_console.workers.session import ConsoleSession


class StatusPane(Pane):
    title = "Status"
    icon_name = "status"
    required_roles = MONITORING_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.clock = time.time
        self.catalog: ServiceCatalog | None = None
        self.probes: SourceStatus[ProbeSweep] | None = None
        self.stale_after_s = STALE_AFTER_INTERVALS * session.health.probes.interval_s
        self.headline = QLabel("Waiting for the service list…", self)
        self.headline.setObjectName("statusHeadline")
        self._size_headline()
        self.banner = StaleBanner(self)
        self.incident_banner = IncidentBanner(self)
        self.tiles = StatusTiles(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.incident_banner)
        layout.addWidget(self.banner)
        layout.addWidget(self.tiles, 1)
        self.watch(session.health.services, self._on_services)
        self.watch(session.health.probes, self._on_probes)
        if session.incidents is not None:
            self.watch(session.incidents.list, self.incident_banner.on_status)
            self.incident_banner.clicked.connect(self._open_incident)
        self.every(1000, self.refresh)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # the wall's large type: the headline stays larger still
            self._size_headline()

    def _size_headline(self) -> None:
        font = QFont(self.font())
        font.setPixelSize(int(QFontInfo(font).pixelSize() * 1.4))
        font.setBold(True)
        self.headline.setFont(font)

    def _on_services(self, status: SourceStatus[ServiceCatalog]) -> None:
        if status.last_good is not None:
            self.catalog = status.last_good.value
        self.refresh()

    def _on_probes(self, status: SourceStatus[ProbeSweep]) -> None:
        self.probes = status
        self.refresh()

    def refresh(self) -> None:
        now = self.clock()
        self.incident_banner.refresh(now)
        if self.catalog is None:
            return
        sweep = self.probes.last_good.value if self.probes and self.probes.last_good else None
        stale = self.probes is None or self.probes.is_stale(now)
        board = status_board(self.catalog.services, sweep, now, self.stale_after_s)
        self.tiles.set_board(board, stale=stale)
        counts = {state: sum(ns.count(state) for ns in board) for state in BoardState}
        total = len(self.catalog.services)
        if stale:
            self.headline.setText(f"{total} services — status unknown: the probes are stale")
        elif counts[BoardState.DOWN] or counts[BoardState.DEGRADED]:
            problems = [s for s in BoardState if s is not BoardState.OPERATIONAL and counts[s]]
            parts = [f"{counts[s]} {s.value}" for s in problems]
            self.headline.setText(f"{total} services — {', '.join(parts)}")
        else:
            self.headline.setText(f"All {total} services operational")
        self.banner.set_text(stale_text(self.probes, now) if self.probes is not None else None)

    def _open_incident(self, incident_id: int) -> None:
        show_pane = getattr(self.window(), "show_pane", None)
        if callable(show_pane):
            pane: Any = show_pane("Incidents")
            pane.open_event(incident_id)

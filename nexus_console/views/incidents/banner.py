"""The open-incident banner the Health pane (and so a wall display) shows while an incident is open."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

from nexus_console.domain.freshness import SourceStatus
from nexus_console.domain.incident_flow import IncidentList, incident_banner_text, worst_open
from nexus_console.domain.incidents import Incident

BANNER_STYLE = (
    "QLabel#incidentBanner { background: #5a1d1d; color: #ffffff; font-weight: bold; padding: 4px 8px;"
    " border-left: 6px solid #ff4d4f; }"
)


class IncidentBanner(QLabel):
    """One line naming the worst open incident (and how many more are open); hidden when none is.
    Clicking it asks for the Incidents pane."""

    clicked = Signal(int)  # the id of the incident it names

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("incidentBanner")
        self.setStyleSheet(BANNER_STYLE)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._incidents: Sequence[Incident] = ()
        self._stale = False
        self.hide()

    def on_status(self, status: SourceStatus[IncidentList]) -> None:
        """The incident list changed: a stale list still shows its incidents, marked as possibly over."""
        now = time.time()
        self._incidents = status.last_good.value.incidents if status.last_good is not None else ()
        self._stale = status.last_good is not None and status.is_stale(now)
        self.refresh(now)

    def refresh(self, now: float) -> None:
        text = incident_banner_text(self._incidents, now)
        if text is None:
            self.hide()
            return
        if self._stale:
            text += " — the incident list is not current; it may have changed"
        self.setText(text)
        self.show()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        worst = worst_open(self._incidents)
        if worst is not None:
            self.clicked.emit(worst.id)

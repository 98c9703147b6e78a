"""The followed incident: its header (severity, status, commander, milestones, durations against the
targets), the status and command controls, and the Timeline and Post-mortem tabs."""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.incident_stats import IncidentDurations, format_duration
from nexus_console.domain.incidents import MILESTONES, Incident, IncidentStatus
from nexus_console.views.incidents.postmortem_editor import PostmortemEditor
from nexus_console.views.incidents.timeline_view import TimelineView
from nexus_console.views.pane import StaleBanner


class IncidentDetailView(QWidget):
    status_requested = Signal(object)  # IncidentStatus
    command_requested = Signal()  # the signed-in user takes command
    edit_requested = Signal()  # the edit dialog: title, severity, roles, services, milestone times

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("incidentDetail")
        self.incident: Incident | None = None
        self.header = QLabel("Select an incident, or declare one (Ctrl+Shift+I).", self)
        self.header.setObjectName("incidentHeader")
        self.header.setWordWrap(True)
        self.milestones = QLabel("", self)
        self.milestones.setObjectName("incidentMilestones")
        self.milestones.setWordWrap(True)
        self.status_combo = QComboBox(self)
        self.status_combo.setObjectName("incidentStatus")
        for status in IncidentStatus:
            self.status_combo.addItem(status.label, status)
        self.move_button = QPushButton("Move", self)
        self.move_button.setObjectName("incidentMove")
        self.command_button = QPushButton("Take command", self)
        self.command_button.setObjectName("incidentTakeCommand")
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.setObjectName("incidentEdit")
        self.edit_button.setToolTip("Title, severity, roles, services and milestone times (Ctrl+E)")
        self.message = QLabel("", self)
        self.message.setObjectName("incidentMessage")
        self.message.setWordWrap(True)
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("Status", self))
        controls.addWidget(self.status_combo)
        controls.addWidget(self.move_button)
        controls.addWidget(self.command_button)
        controls.addWidget(self.edit_button)
        controls.addWidget(self.message, 1)
        self.banner = StaleBanner(self)
        self.notices = QLabel("", self)
        self.notices.setObjectName("incidentNotices")
        self.notices.setWordWrap(True)
        self.notices.setStyleSheet("color: #9aa0a6;")
        self.timeline = TimelineView(self)
        self.postmortem = PostmortemEditor(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("incidentTabs")
        self.tabs.addTab(self.timeline, "Timeline")
        self.tabs.addTab(self.postmortem, "Post-mortem")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.header)
        layout.addWidget(self.milestones)
        layout.addLayout(controls)
        layout.addWidget(self.banner)
        layout.addWidget(self.notices)
        layout.addWidget(self.tabs, 1)
        self.move_button.clicked.connect(lambda: self.status_requested.emit(self.chosen_status()))
        self.command_button.clicked.connect(self.command_requested)
        self.edit_button.clicked.connect(self.edit_requested)
        self._set_controls_enabled(False)

    def show_incident(self, incident: Incident | None, now: float) -> None:
        self.incident = incident
        self._set_controls_enabled(incident is not None)
        if incident is None:
            self.header.setText("Select an incident, or declare one (Ctrl+Shift+I).")
            self.milestones.clear()
            return
        commander = html.escape(incident.commander or "no commander yet")
        responders = ", ".join(f"{html.escape(r.email)} ({html.escape(r.role)})" for r in incident.responders)
        services = html.escape(", ".join(incident.services) or "no services named")
        self.header.setText(
            f"<b>#{incident.id} {html.escape(incident.title)}</b><br>{incident.severity} · "
            f"{incident.status.label} · open for {format_duration(incident.duration_s(now))} · "
            f"commander {commander}{' · ' + responders if responders else ''} · {services}"
        )
        durations = IncidentDurations.of(incident)
        marks = []
        for field, label in MILESTONES:
            at = incident.milestone(field)
            if at is not None:
                marks.append(f"{label} {datetime.fromtimestamp(at).strftime('%d %b %H:%M:%S')}")
        figures = (
            f"Time to detect {format_duration(durations.time_to_detect_s)} · "
            f"to acknowledge {format_duration(durations.time_to_acknowledge_s)} · "
            f"to resolve {format_duration(durations.time_to_resolve_s)}"
        )
        problems = (" · " + " ".join(durations.problems)) if durations.problems else ""
        self.milestones.setText(" · ".join(marks) + "<br>" + figures + html.escape(problems))
        if self.chosen_status() is not incident.status and not self.status_combo.hasFocus():
            self.status_combo.setCurrentIndex(list(IncidentStatus).index(incident.status))
        self.status_combo.setEnabled(incident.status is not IncidentStatus.CLOSED)
        self.move_button.setEnabled(incident.status is not IncidentStatus.CLOSED)
        self.edit_button.setEnabled(incident.status is not IncidentStatus.CLOSED)

    def chosen_status(self) -> IncidentStatus:
        # Qt hands an enum stored as item data back as its plain value
        return IncidentStatus(self.status_combo.currentData())

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #ff6b5e;" if error else "color: #6fd08c;")
        self.message.setText(text)

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (
            self.status_combo,
            self.move_button,
            self.command_button,
            self.edit_button,
            self.timeline.entry,
        ):
            widget.setEnabled(enabled)

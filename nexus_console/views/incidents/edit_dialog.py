"""Edit an incident: title, severity, commander, responders with their roles, affected services and the
milestone times. OK checks the edit (`domain.incident_edit`) and stays open with the problem said in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incident_edit import IncidentEditError, IncidentForm, form_of, incident_changes
from nexus_console.domain.incidents import MILESTONES, Incident


class EditIncidentDialog(QDialog):
    def __init__(self, incident: Incident, *, now: datetime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editIncidentDialog")
        self.setWindowTitle(f"Edit incident #{incident.id}")
        self.setMinimumWidth(560)
        self._incident, self._now = incident, now
        self.changes: dict[str, Any] = {}
        filled = form_of(incident, now=now)
        form = QFormLayout()
        self.title_edit = QLineEdit(filled.title, self)
        self.title_edit.setMaxLength(300)
        form.addRow("Title", self.title_edit)
        self.severity = QComboBox(self)
        for severity in Severity:
            self.severity.addItem(severity.value, severity)
        self.severity.setCurrentIndex(list(Severity).index(filled.severity))
        form.addRow("Severity", self.severity)
        self.commander = QLineEdit(filled.commander, self)
        self.commander.setPlaceholderText("the email of who leads the response")
        form.addRow("Commander", self.commander)
        self.responders = QPlainTextEdit(filled.responders, self)
        self.responders.setPlaceholderText("one per line: bo@nexus.test comms")
        self.responders.setTabChangesFocus(True)
        self.responders.setFixedHeight(72)
        form.addRow("Responders", self.responders)
        self.services = QLineEdit(filled.services, self)
        self.services.setPlaceholderText("affected services, comma-separated")
        form.addRow("Services", self.services)
        self.times: dict[str, QLineEdit] = {}
        for name, label in MILESTONES:
            edit = QLineEdit(filled.milestones.get(name, ""), self)
            edit.setObjectName(f"milestone_{name}")
            edit.setPlaceholderText("not yet  (14:32, yesterday 23:50 or 2026-12-05 23:50)")
            self.times[name] = edit
            form.addRow(label, edit)
        self.error = QLabel("", self)
        self.error.setObjectName("editIncidentError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff6b5e;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save changes")
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def form(self) -> IncidentForm:
        return IncidentForm(
            title=self.title_edit.text(),
            severity=Severity(self.severity.currentData()),
            commander=self.commander.text(),
            responders=self.responders.toPlainText(),
            services=self.services.text(),
            milestones={name: edit.text() for name, edit in self.times.items()},
        )

    def _accept_if_valid(self) -> None:
        try:
            self.changes = incident_changes(self._incident, self.form(), now=self._now)
        except IncidentEditError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

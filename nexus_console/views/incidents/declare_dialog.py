"""Declare an incident (from the Incidents pane, or from marked alerts), or add the alerts to an open one."""

from __future__ import annotations

from collections.abc import Sequence

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
from nexus_console.domain.incident_flow import IncidentDraft
from nexus_console.domain.incidents import Incident

NEW_INCIDENT = 0


class DeclareDialog(QDialog):
    """A new incident's title, severity, services, commander and summary, prefilled from `draft`; with
    `open_incidents`, the first choice can instead add the alerts to one of them."""

    def __init__(
        self,
        draft: IncidentDraft,
        *,
        open_incidents: Sequence[Incident] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("declareDialog")
        self.setWindowTitle("Declare an incident")
        self.setMinimumWidth(520)
        self._draft = draft
        self._open = list(open_incidents)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.target = QComboBox(self)
        self.target.setObjectName("declareTarget")
        self.target.addItem("Declare a new incident", None)
        for incident in self._open:
            self.target.addItem(f"Add to #{incident.id}: {incident.title}", incident.id)
        self.target.setVisible(bool(self._open))
        if self._open:
            form.addRow("Alerts", self.target)
        self.title_edit = QLineEdit(draft.title, self)
        self.title_edit.setObjectName("declareTitle")
        self.title_edit.setMaxLength(300)
        form.addRow("Title", self.title_edit)
        self.severity = QComboBox(self)
        self.severity.setObjectName("declareSeverity")
        for severity in Severity:
            self.severity.addItem(severity.value, severity)
        self.severity.setCurrentIndex(list(Severity).index(draft.severity))
        form.addRow("Severity", self.severity)
        self.services = QLineEdit(", ".join(draft.services), self)
        self.services.setObjectName("declareServices")
        self.services.setPlaceholderText("affected service ids, comma separated")
        form.addRow("Services", self.services)
        self.commander = QLineEdit(draft.commander or "", self)
        self.commander.setObjectName("declareCommander")
        form.addRow("Commander", self.commander)
        self.summary = QPlainTextEdit(draft.summary, self)
        self.summary.setObjectName("declareSummary")
        self.summary.setFixedHeight(70)
        form.addRow("Summary", self.summary)
        layout.addLayout(form)
        linked = len(draft.alert_ids) + len(draft.unlinked_alerts)
        if linked:
            note = QLabel(f"{linked} alert(s) will be linked to the incident.", self)
            note.setWordWrap(True)
            layout.addWidget(note)
        self.error = QLabel("", self)
        self.error.setObjectName("declareError")
        self.error.setStyleSheet("color: #ff6b5e;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Declare")
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        self.target.currentIndexChanged.connect(self._target_changed)
        layout.addWidget(self.buttons)
        self.title_edit.setFocus()
        self.title_edit.selectAll()

    def chosen_incident(self) -> int | None:
        """The open incident the alerts go to, or None for a new incident."""
        return self.target.currentData()

    def draft(self) -> IncidentDraft:
        services = tuple(part.strip() for part in self.services.text().split(",") if part.strip())
        return IncidentDraft(
            title=self.title_edit.text().strip(),
            severity=Severity(self.severity.currentData()),
            services=services,
            alert_ids=self._draft.alert_ids,
            summary=self.summary.toPlainText().strip(),
            commander=self.commander.text().strip() or None,
            unlinked_alerts=self._draft.unlinked_alerts,
        )

    def _target_changed(self) -> None:
        new = self.chosen_incident() is None
        for widget in (self.title_edit, self.severity, self.services, self.commander, self.summary):
            widget.setEnabled(new)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Declare" if new else "Add to incident")

    def _accept_if_valid(self) -> None:
        if self.chosen_incident() is None and not self.title_edit.text().strip():
            self.error.setText("Give the incident a title: what is broken, for whom.")
            self.title_edit.setFocus()
            return
        self.accept()

"""The strip above an incident that says what of the responder's changes still waits to be sent, and asks
about the one the server refused: apply it again on the current version, or discard it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from nexus_console.domain.incident_flow import queue_text, stuck_text
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState


class QueueStrip(QFrame):
    apply_again_requested = Signal(int)  # outbox entry id
    discard_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("incidentQueue")
        self.setStyleSheet("#incidentQueue { background: #3a3320; border-radius: 3px; }")
        self.label = QLabel("", self)
        self.label.setObjectName("incidentQueueText")
        self.label.setWordWrap(True)
        self.again_button = QPushButton("Apply again", self)
        self.again_button.setObjectName("incidentQueueAgain")
        self.again_button.setToolTip("Send your change again on the incident as it is now")
        self.discard_button = QPushButton("Discard", self)
        self.discard_button.setObjectName("incidentQueueDiscard")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.again_button)
        layout.addWidget(self.discard_button)
        self._stuck: OutboxEntry | None = None
        self.again_button.clicked.connect(self._apply_again)
        self.discard_button.clicked.connect(self._discard)
        self.hide()

    def show_queue(self, waiting: int, offline: bool, stuck: list[OutboxEntry], problem: str | None) -> None:
        self._stuck = stuck[0] if stuck else None
        lines = [text for text in (problem, queue_text(waiting, offline)) if text]
        if self._stuck is not None:
            lines.append(stuck_text(self._stuck, len(stuck)))
        self.label.setText("\n".join(lines))
        conflict = self._stuck is not None and self._stuck.state is OutboxState.CONFLICT
        self.again_button.setVisible(conflict)
        self.discard_button.setVisible(self._stuck is not None)
        self.setVisible(bool(lines))

    def _apply_again(self) -> None:
        if self._stuck is not None:
            self.apply_again_requested.emit(self._stuck.id)

    def _discard(self) -> None:
        if self._stuck is not None:
            self.discard_requested.emit(self._stuck.id)

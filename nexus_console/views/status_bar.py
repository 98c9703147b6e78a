"""The status bar: each source's connection state and the age of its newest data."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from nexus_console.domain.freshness import SourceState, SourceStatus, format_age, stale_text
from nexus_console.views.theme import state_colour
from nexus_console.workers.bridge import Watchers
from nexus_console.workers.session import ConsoleSession

ERROR_MESSAGE_MS = 15_000


def source_summary(status: SourceStatus[Any], now: float) -> str:
    """'services ok · 3 s', 'probes error · 42 s', 'metrics connecting'."""
    state = status.state.value
    if status.state is SourceState.OK and status.is_stale(now):
        state = "stale"
    if status.last_good is None:
        return f"{status.name} {state}"
    return f"{status.name} {state} · {format_age(status.last_good.age_s(now))}"


class SourceStatusBar(QStatusBar):
    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceStatusBar")
        self.session = session
        self._labels: dict[str, QLabel] = {}
        self._statuses: dict[str, SourceStatus[Any]] = {}
        self.notice = QLabel()
        self.notice.setObjectName("statusNotice")
        self.notice.setStyleSheet("QLabel { color: #a15c00; padding: 0 6px; }")
        self.notice.hide()
        # The notice takes what the source labels leave (its full text is in the tooltip).
        self.notice.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.addWidget(self.notice, 1)
        self.watchers = Watchers(self)
        for source in session.sources():
            self.watchers.watch(source, self._on_status, while_hidden=True)
        self.watchers.every(1000, self.refresh, name="statusBarAges")
        self.watchers.set_active(True)

    def label_text(self, name: str) -> str:
        label = self._labels.get(name)
        return label.text() if label is not None else ""

    def show_error(self, text: str) -> None:
        self.showMessage(text, ERROR_MESSAGE_MS)

    def set_notice(self, text: str | None) -> None:
        """A lasting notice (e.g. no keychain), shown until cleared."""
        self.notice.setText(text or "")
        self.notice.setToolTip(text or "")
        self.notice.setVisible(bool(text))

    def stop(self) -> None:
        self.watchers.close()

    def is_ticking(self) -> bool:
        """Whether the ages still move (false once the window has shut down)."""
        return any(timer.isActive() for timer in self.findChildren(QTimer))

    def refresh(self) -> None:
        now = time.time()
        for name, label in self._labels.items():
            self._render(label, self._statuses[name], now)

    def _on_status(self, status: SourceStatus[Any]) -> None:
        name = status.name
        self._statuses[name] = status
        label = self._labels.get(name)
        if label is None:
            label = QLabel()
            label.setObjectName(f"source-{name}")
            # A narrow window cuts the labels (each keeps its tooltip) rather than growing past the screen.
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(40)
            self._labels[name] = label
            self.addPermanentWidget(label)
        self._render(label, status, time.time())

    @staticmethod
    def _render(label: QLabel, status: SourceStatus[Any], now: float) -> None:
        stale = status.is_stale(now)
        colour = state_colour(status.state, stale).name()
        if label.property("colour") != colour:  # restyling is costly; do it only on a change
            label.setProperty("colour", colour)
            label.setStyleSheet(f"QLabel {{ color: {colour}; padding: 0 6px; }}")
        text = source_summary(status, now)
        if label.text() != text:
            label.setText(text)
        label.setToolTip(stale_text(status, now) or f"{status.name}: up to date")

"""The status bar: one compact indicator for every source ("12 sources up to date", or which are failing and
since when), the full list a click away; a lasting notice beside it (elided, full text in its tooltip).

One indicator, not a label per source: twelve labels forced the window to about 1,500 px and cut the notice on
a laptop; the indicator fits 1,366 px and the popup shows each source's state, age and reason.
"""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QStatusBar, QToolButton, QVBoxLayout, QWidget

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


def indicator_text(statuses: list[SourceStatus[Any]], now: float) -> tuple[str, SourceState, bool]:
    """The indicator's sentence, and the state and staleness its colour follows (the worst source's)."""
    failing = [s.name for s in statuses if s.state is SourceState.ERROR]
    stale = [s.name for s in statuses if s.state is SourceState.OK and s.is_stale(now)]
    waiting = [s.name for s in statuses if s.state is SourceState.CONNECTING]
    if failing:
        return (
            f"● {len(failing)} of {len(statuses)} sources failing: {', '.join(failing)}",
            SourceState.ERROR,
            False,
        )
    if stale:
        return f"● {len(stale)} of {len(statuses)} sources stale: {', '.join(stale)}", SourceState.OK, True
    if waiting:
        return f"● connecting to {len(waiting)} of {len(statuses)} sources", SourceState.CONNECTING, False
    return f"● all {len(statuses)} sources up to date", SourceState.OK, False


class SourceList(QFrame):
    """The popup under the indicator: every source, its state, the age of its data and why it is not fresh."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("sourceList")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)

    def show_statuses(self, statuses: list[SourceStatus[Any]], now: float) -> None:
        rows = []
        for status in statuses:
            colour = state_colour(status.state, status.is_stale(now)).name()
            reason = stale_text(status, now) or "up to date"
            rows.append(
                f"<tr><td style='color:{colour}'>●</td><td>{html.escape(source_summary(status, now))}</td>"
                f"<td style='color:#9aa0a8'>{html.escape(reason)}</td></tr>"
            )
        self.label.setText(f"<table cellspacing='4'>{''.join(rows)}</table>")
        self.adjustSize()


class SourceStatusBar(QStatusBar):
    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceStatusBar")
        self.session = session
        self._statuses: dict[str, SourceStatus[Any]] = {}
        self.notice = QLabel()
        self.notice.setObjectName("statusNotice")
        self.notice.setStyleSheet("QLabel { color: #a15c00; padding: 0 6px; }")
        self.notice.hide()
        # The notice takes what the indicator leaves (its full text is in the tooltip).
        self.notice.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.addWidget(self.notice, 1)
        self.indicator = QToolButton(self)
        self.indicator.setObjectName("sourceIndicator")
        self.indicator.setAutoRaise(True)
        self.indicator.setToolTip("Every source of this session: click for each one's state, age and reason")
        self.indicator.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.indicator.clicked.connect(self.show_sources)
        self.addPermanentWidget(self.indicator)
        self.sources_popup = SourceList(self)
        self.watchers = Watchers(self)
        for source in session.sources():
            self.watchers.watch(source, self._on_status, while_hidden=True)
        self.watchers.every(1000, self.refresh, name="statusBarAges")
        self.watchers.set_active(True)

    def label_text(self, name: str) -> str:
        """The one-line state of a source (as the popup lists it); empty for a source never heard of."""
        status = self._statuses.get(name)
        return source_summary(status, time.time()) if status is not None else ""

    def indicator_text(self) -> str:
        return self.indicator.text()

    def show_error(self, text: str) -> None:
        self.showMessage(text, ERROR_MESSAGE_MS)

    def set_notice(self, text: str | None, *, warning: bool = True) -> None:
        """A lasting notice, shown until cleared: a warning (no keychain) or plain information (the demo)."""
        self.notice.setStyleSheet(
            f"QLabel {{ color: {'#a15c00' if warning else '#9aa0a6'}; padding: 0 6px; }}"
        )
        self.notice.setText(text or "")
        self.notice.setToolTip(text or "")
        self.notice.setVisible(bool(text))

    def stop(self) -> None:
        self.watchers.close()
        self.sources_popup.hide()

    def is_ticking(self) -> bool:
        """Whether the ages still move (false once the window has shut down)."""
        return any(timer.isActive() for timer in self.findChildren(QTimer))

    def show_sources(self) -> None:
        now = time.time()
        self.sources_popup.show_statuses(list(self._statuses.values()), now)
        size = self.sources_popup.sizeHint()
        corner = self.indicator.mapToGlobal(QPoint(self.indicator.width(), 0))
        self.sources_popup.move(corner.x() - size.width(), corner.y() - size.height())
        self.sources_popup.show()

    def refresh(self) -> None:
        now = time.time()
        statuses = list(self._statuses.values())
        text, state, stale = indicator_text(statuses, now)
        colour = state_colour(state, stale).name()
        if self.indicator.property("colour") != colour:  # restyling is costly; do it only on a change
            self.indicator.setProperty("colour", colour)
            self.indicator.setStyleSheet(f"QToolButton {{ color: {colour}; padding: 0 6px; border: 0; }}")
        if self.indicator.text() != text:
            self.indicator.setText(text)
        if self.sources_popup.isVisible():
            self.sources_popup.show_statuses(statuses, now)

    def _on_status(self, status: SourceStatus[Any]) -> None:
        self._statuses[status.name] = status
        self.refresh()

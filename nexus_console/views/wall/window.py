"""One screen of a wall display: frameless and full screen on its `QScreen`, in large type, with the panes of
its playlist in a stack (each built once and reused: a rotation creates no widgets), a header that says what
is shown and what comes next, and a corner notice for what the room should know (held, paused, signed out).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QResizeEvent, QScreen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from nexus_console.domain.wall_playlist import PaneView
from nexus_console.views.pane import Pane
from nexus_console.workers.session import ConsoleSession

NOTICE_STYLE = (
    "QLabel#wallNotice { background: #3a2f0b; color: #ffd866; border-radius: 4px; padding: 4px 10px; }"
)


def screen_name(screen: QScreen) -> str:
    """The name a playlist file gives a screen ("HDMI-1"); a screen without one (Qt's offscreen screen) is
    named by where it is, so its saved place in the playlist has a key of its own."""
    geometry = screen.geometry()
    return screen.name() or f"screen at {geometry.x()},{geometry.y()}"


def wall_font(base: QFont, screen: QScreen) -> QFont:
    """Large type for a room: about 1/45 of the screen's height in logical pixels (24 px at 1080 p), never
    below 16 px. Logical pixels keep it right on high-DPI screens (Qt scales them by the device ratio)."""
    font = QFont(base)
    font.setPixelSize(max(16, screen.geometry().height() // 45))
    return font


class WallWindow(QWidget):
    def __init__(self, session: ConsoleSession, pane_types: Sequence[type[Pane]], screen: QScreen) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("wallWindow")
        self.session = session
        self.screen_name = screen_name(screen)
        self.pane_types = {t.title: t for t in pane_types if session.me.may_access(t.required_roles)}
        self.panes: dict[str, Pane] = {}
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.setFont(wall_font(self.font(), screen))
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.heading = QLabel("", self)
        self.heading.setObjectName("wallHeading")
        self.next_label = QLabel("", self)
        self.next_label.setObjectName("wallNext")
        self.next_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = QHBoxLayout()
        header.addWidget(self.heading, 1)
        header.addWidget(self.next_label)
        self.stack = QStackedWidget(self)
        self.notice = QLabel("", self)
        self.notice.setObjectName("wallNotice")
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.notice.setWordWrap(True)
        self.notice.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 12)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)

    def available_panes(self) -> list[str]:
        return list(self.pane_types)

    def pane_for(self, title: str) -> Pane | None:
        """The pane titled `title`, built the first time it is asked for; None when the account has none."""
        pane = self.panes.get(title)
        if pane is None and title in self.pane_types:
            pane = self.panes[title] = self.pane_types[title](self.session)
            self.stack.addWidget(pane)
        return pane

    def current_view_pane(self) -> Pane | None:
        widget = self.stack.currentWidget()
        return widget if isinstance(widget, Pane) else None

    def show_pane(self, title: str) -> Pane:
        """A pane's own links (an incident banner) work on the wall as in the main window."""
        pane = self.pane_for(title)
        if pane is None:
            raise KeyError(title)
        self.stack.setCurrentWidget(pane)
        return pane

    def prepare(self, view: PaneView) -> None:
        """Build and lay out the next item's pane while the current one shows: its switch paints at once."""
        pane = self.pane_for(view.pane)
        if pane is not None:
            pane.show_view(view)
            pane.resize(self.stack.size())
            pane.ensurePolished()
            pane.catch_up()

    def show_view(self, view: PaneView, heading: str) -> bool:
        """Show `view`; False when this account has no such pane (the item is skipped)."""
        pane = self.pane_for(view.pane)
        if pane is None:
            return False
        pane.show_view(view)
        if self.stack.currentWidget() is not pane:
            self.stack.setCurrentWidget(pane)
        self.heading.setText(heading)
        return True

    def set_next(self, text: str) -> None:
        self.next_label.setText(text)

    def set_notice(self, text: str) -> None:
        if text == (self.notice.text() if not self.notice.isHidden() else ""):
            return
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
        self._place_notice()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_notice()

    def _place_notice(self) -> None:
        if self.notice.isHidden():
            return
        width = min(self.width() // 2, max(320, self.notice.sizeHint().width()))
        self.notice.setFixedWidth(width)
        self.notice.adjustSize()
        self.notice.move(self.width() - width - 16, self.height() - self.notice.height() - 16)
        self.notice.raise_()

    def shutdown(self) -> None:
        for pane in self.panes.values():
            pane.shutdown()

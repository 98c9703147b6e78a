"""The base every pane derives from, and the shared stale-data widgets.

A pane receives the session, watches the feeds it shows (`watch`) and runs its clocks (`every`): both are
paused while the pane is hidden and closed by `shutdown()`. See docs/architecture.md, "How to add a pane".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import QFrame, QGraphicsOpacityEffect, QHBoxLayout, QLabel, QTabWidget, QWidget

from nexus_console.domain.freshness import SourceStatus, stale_text
from nexus_console.domain.wall_playlist import PaneView
from nexus_console.views.theme import STALE_BANNER_STYLE, STALE_OPACITY
from nexus_console.workers.bridge import FeedWatcher, Watchable, Watchers
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)
T = TypeVar("T")


class Pane(QWidget):
    title: str = ""
    icon_name: str = ""
    required_roles: frozenset[str] = frozenset()  # empty = any role
    # A count that needs the user (unhandled alerts, conflicts); the main window shows it on the pane's
    # navigation entry and, summed over panes, in the window title. 0 clears it.
    badge_changed = Signal(int)

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.watchers = Watchers(self)

    def watch(
        self,
        feed: Watchable[T],
        on_update: Callable[[T], None],
        *,
        batch_ms: int | None = 0,
        while_hidden: bool = False,
    ) -> FeedWatcher[T]:
        """Call `on_update` with the feed's value now and on every change (coalesced within `batch_ms`;
        None: every value at once), while the pane is shown unless `while_hidden`."""
        return self.watchers.watch(feed, on_update, batch_ms=batch_ms, while_hidden=while_hidden)

    def every(self, interval_ms: int, callback: Callable[[], None], *, name: str = "") -> QTimer:
        """A clock that ticks only while the pane is shown."""
        return self.watchers.every(interval_ms, callback, name=name)

    def catch_up(self) -> None:
        """Take in what the watched feeds hold now while hidden (the wall prepares its next item so)."""
        if not self._shut_down:
            self.watchers.catch_up()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shut_down:
            self.watchers.set_active(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.watchers.set_active(False)

    def allows(self, roles: Iterable[str]) -> bool:
        """Whether the signed-in user holds one of `roles` (empty = anyone): create only allowed actions."""
        return self.session.me.may_access(roles)

    def actions(self) -> list[QAction]:  # type: ignore[override]
        """Pane-specific actions, listed in the command palette."""
        return []

    def show_view(self, view: PaneView) -> None:
        """Show what a wall playlist item asks for (docs/wall.md lists the keys each pane reads). The base
        picks the tab titled `view.tab` when the pane has `tabs`; panes extend it for their other keys."""
        tabs = getattr(self, "tabs", None)
        if view.tab and isinstance(tabs, QTabWidget):
            for index in range(tabs.count()):
                if tabs.tabText(index).casefold() == view.tab.casefold():
                    tabs.setCurrentIndex(index)
                    break

    def shutdown(self) -> None:
        """Stop clocks and let go of feeds; called by the main window before it closes. Panes that hold
        more extend it and call this one."""
        self._shut_down = True
        self.watchers.close()

    _shut_down = False

    def run_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        """Run `coro` as a session task with its errors shown by `show_task_error`.

        Does nothing once the pane is shut down, when no loop runs yet (a pane built before the loop, in a
        test: it loads later), or when the session's task runner has closed (the window is going away).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return None
        if self._shut_down:
            coro.close()
            return None
        try:
            return self.session.tasks.run(coro, name=name, on_error=self.show_task_error)
        except RuntimeError:
            return None

    def show_task_error(self, error: BaseException) -> None:
        log.warning("%s pane: %s", self.title, error)


class StaleBanner(QFrame):
    """Shows 'stale since HH:MM:SS — reason' while a source is stale, and hides itself when fresh."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("staleBanner")
        self.setStyleSheet(STALE_BANNER_STYLE)
        self.label = QLabel(self)
        self.label.setObjectName("staleText")
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
        self.hide()

    def set_status(self, status: SourceStatus[Any] | None, now: float | None = None) -> None:
        text = stale_text(status, time.time() if now is None else now) if status is not None else None
        self.set_text(text)

    def set_text(self, text: str | None) -> None:
        if text:
            self.label.setText(text)
            self.setToolTip(text)
            self.show()
        else:
            self.label.clear()
            self.hide()

    def text(self) -> str:
        return self.label.text() if not self.isHidden() else ""


def apply_stale_look(widget: QWidget, stale: bool) -> None:
    """Grey out a widget that shows stale data; it keeps showing the data."""
    widget.setProperty("stale", stale)
    if stale:
        if not isinstance(widget.graphicsEffect(), QGraphicsOpacityEffect):
            effect = QGraphicsOpacityEffect(widget)
            effect.setOpacity(STALE_OPACITY)
            widget.setGraphicsEffect(effect)
    elif widget.graphicsEffect() is not None:
        widget.setGraphicsEffect(None)  # type: ignore[arg-type]

"""The main window: navigation between the panes the user's roles allow, a status bar of sources, actions
with shortcuts, and a command palette. Geometry and layout persist in QSettings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import QMainWindow, QSplitter, QStackedWidget, QTabWidget, QWidget

from nexus_console.domain.freshness import SourceState, SourceStatus
from nexus_console.views.command_palette import CommandPalette
from nexus_console.views.navigation import Navigation
from nexus_console.views.pane import Pane
from nexus_console.views.pane_page import PanePage
from nexus_console.views.status_bar import SourceStatusBar
from nexus_console.workers.bridge import FeedWatcher
from nexus_console.workers.session import ConsoleSession

GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"
SPLITTER_KEY = "main_window/splitter"
CURRENT_PANE_KEY = "main_window/current_pane"
NAVIGATION_KEY = "main_window/navigation_collapsed"


PREFERRED_SIZE = QSize(1280, 800)


def default_size(available: QSize) -> QSize:
    """The first-run size: 1280x800, shrunk to what the screen has left (a 1366x768 laptop keeps its
    panel and title bar visible)."""
    return PREFERRED_SIZE.boundedTo(available)


class MainWindow(QMainWindow):
    quit_requested = Signal()
    logout_requested = Signal()
    wall_requested = Signal()

    def __init__(
        self,
        session: ConsoleSession,
        pane_types: Sequence[type[Pane]],
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.setObjectName("mainWindow")
        self._base_title = f"Nexus Console — {session.profile.name} — {session.me.name}"
        self.setWindowTitle(self._base_title)
        self._badges: dict[int, int] = {}
        self._closing_for_logout = False
        self._shut_down = False

        # Only the pane on show is built before the first frame; the others follow one per event-loop turn
        # once the window is up (`panes` builds any not built yet), so the window opens sooner.
        self._pane_types = [t for t in pane_types if session.me.may_access(t.required_roles)]
        self._built: dict[int, Pane] = {}
        self._pane_actions: list[QAction] = []
        self._building_started = False
        self.navigation = Navigation()
        self.stack = QStackedWidget()
        self.stack.setObjectName("panes")
        for pane_type in self._pane_types:
            self.navigation.add_pane(pane_type.title, pane_type.icon_name)
            self.stack.addWidget(PanePage())
        self.navigation.currentRowChanged.connect(self._show_row)
        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.navigation)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([self.navigation.sizeHint().width(), 10_000])
        self.setCentralWidget(self.splitter)
        self.navigation.setVisible(len(self._pane_types) > 1)

        self.status_bar = SourceStatusBar(session, self)
        self.setStatusBar(self.status_bar)
        self._me_watcher = FeedWatcher(session.me_source, self._on_me, parent=self)
        self.palette_dialog = CommandPalette(self.all_actions, self)

        self.window_actions = self._build_actions()
        for action in self.window_actions:
            self.addAction(action)
        self.resize(default_size(self.screen().availableGeometry().size()))
        self.restore_layout()

    @property
    def panes(self) -> list[Pane]:
        """Every pane the user's roles allow, in navigation order (building those not built yet)."""
        return [self._pane_at(row) for row in range(len(self._pane_types))]

    def all_actions(self) -> list[QAction]:
        """Every action of the window and its panes: what the command palette lists."""
        actions = list(self.window_actions)
        for pane in self.panes:
            actions.extend(pane.actions())
        return actions + self._pane_actions

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._building_started:
            self._building_started = True
            QTimer.singleShot(0, self._build_next_pane)

    def _build_next_pane(self) -> None:
        unbuilt = [row for row in range(len(self._pane_types)) if row not in self._built]
        if self._shut_down or not unbuilt:
            return
        self._pane_at(unbuilt[0])
        if len(unbuilt) > 1:
            QTimer.singleShot(0, self._build_next_pane)

    def _pane_at(self, row: int) -> Pane:
        pane = self._built.get(row)
        if pane is not None:
            return pane
        pane = self._built[row] = self._pane_types[row](self.session)
        page = self.stack.widget(row)
        assert isinstance(page, PanePage)
        page.set_content(pane)
        pane.badge_changed.connect(lambda count, row=row: self._show_badge(row, count))
        tab_actions = self._tab_actions(pane)
        self._pane_actions.extend(tab_actions)
        for action in pane.actions() + tab_actions:
            self.addAction(action)
        return pane

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(self._pane_types):
            self._pane_at(row)
        self.stack.setCurrentIndex(row)

    def _show_badge(self, row: int, count: int) -> None:
        self.navigation.set_count(row, count)
        self._badges[row] = count
        total = sum(self._badges.values())
        self.setWindowTitle(f"({total}) {self._base_title}" if total else self._base_title)

    def pane_titles(self) -> list[str]:
        return [pane_type.title for pane_type in self._pane_types]

    def current_pane(self) -> Pane | None:
        return self._built.get(self.stack.currentIndex())

    def show_pane(self, title: str) -> Pane:
        """Show the pane titled `title` and return it; KeyError when the user's roles have no such pane."""
        for row, pane_type in enumerate(self._pane_types):
            if pane_type.title == title:
                self.navigation.setCurrentRow(row)
                self._show_row(row)
                return self._pane_at(row)
        raise KeyError(title)

    def show_tab(self, title: str, index: int) -> None:
        """The pane titled `title` at its tab page `index` (the palette's "Go to Health › Database")."""
        pane = self.show_pane(title)
        tabs = getattr(pane, "tabs", None)
        if isinstance(tabs, QTabWidget):
            tabs.setCurrentIndex(index)

    def toggle_navigation(self) -> None:
        self.navigation.set_collapsed(not self.navigation.collapsed)
        self.settings.setValue(NAVIGATION_KEY, self.navigation.collapsed)

    def show_error(self, text: str) -> None:
        self.status_bar.show_error(text)

    def save_layout(self) -> None:
        self.settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(STATE_KEY, self.saveState())
        self.settings.setValue(SPLITTER_KEY, self.splitter.saveState())
        pane = self.current_pane()
        if pane is not None:
            self.settings.setValue(CURRENT_PANE_KEY, pane.title)
        self.settings.sync()

    def restore_layout(self) -> None:
        geometry = self.settings.value(GEOMETRY_KEY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value(STATE_KEY)
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.value(SPLITTER_KEY)
        if splitter is not None:
            self.splitter.restoreState(splitter)
        if str(self.settings.value(NAVIGATION_KEY, False)).lower() == "true":
            self.navigation.set_collapsed(True)
        titles = self.pane_titles()
        wanted = self.settings.value(CURRENT_PANE_KEY)
        if titles:
            self.show_pane(wanted if wanted in titles else titles[0])

    def shutdown(self) -> None:
        """Save the layout and stop every timer; the window can then be closed and deleted."""
        if self._shut_down:
            return
        self._shut_down = True
        self.save_layout()
        self.status_bar.stop()
        self._me_watcher.close()
        self.palette_dialog.close()
        for pane in self._built.values():
            pane.shutdown()

    def close_for_logout(self) -> None:
        self._closing_for_logout = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        first_close = not self._shut_down
        self.shutdown()
        if first_close and not self._closing_for_logout:
            self.quit_requested.emit()
        event.accept()

    def _build_actions(self) -> list[QAction]:
        actions: list[QAction] = []

        def add(text: str, shortcut: QKeySequence | str, slot: object, name: str) -> QAction:
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            actions.append(action)
            return action

        add("Command palette…", "Ctrl+K", self.palette_dialog.open_palette, "commandPaletteAction")
        for index, pane_type in enumerate(self._pane_types[:9], start=1):
            add(
                f"Go to {pane_type.title}",
                f"Ctrl+{index}",
                lambda _checked=False, title=pane_type.title: self.show_pane(title),
                f"goTo{pane_type.title.replace(' ', '')}Action",
            )
        refresh = self.session.refresh_all
        add("Refresh all sources now", "F5", refresh, "refreshAction")
        add("Toggle full screen", "F11", self._toggle_full_screen, "fullScreenAction")
        add("Collapse or expand the navigation", "Ctrl+B", self.toggle_navigation, "navigationAction")
        add("Wall mode (every screen, rotating)", "Ctrl+Shift+W", self.wall_requested.emit, "wallModeAction")
        add("Log out", "Ctrl+Shift+L", self.logout_requested.emit, "logoutAction")
        add("Quit", "Ctrl+Q", self.close, "quitAction")
        return actions

    def _tab_actions(self, pane: Pane) -> list[QAction]:
        """ "Go to <pane> › <tab>" for each tab page of `pane` (listed in the command palette)."""
        tabs = getattr(pane, "tabs", None)
        actions: list[QAction] = []
        for index in range(tabs.count() if isinstance(tabs, QTabWidget) else 0):
            action = QAction(f"Go to {pane.title} › {tabs.tabText(index)}", self)
            action.setObjectName(f"goTo{pane.title.replace(' ', '')}Tab{index}Action")
            action.triggered.connect(lambda _checked=False, t=pane.title, i=index: self.show_tab(t, i))
            actions.append(action)
        return actions

    def _on_me(self, status: SourceStatus[Any]) -> None:
        # `me` is re-read every minute: a change of roles changes which panes may exist.
        if status.state is not SourceState.OK or status.last_good is None:
            return
        roles = frozenset(str(r) for r in status.last_good.value.get("roles", []))
        if roles != self.session.me.roles:
            self.status_bar.set_notice(
                f"Your roles changed to {', '.join(sorted(roles)) or 'none'}: "
                "log out and in again (Ctrl+Shift+L) to update the panes."
            )

    def _toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)

"""The wall display: a `WallWindow` on every screen, each turning through its playlist.

Screens plugged in get a window, screens unplugged lose theirs; the schedule is read on every tick; a
critical alert or an unacknowledged incident holds every screen on it (`attention_needed`); a key or a mouse
movement on a screen pauses that screen until it has been left alone. Each screen's place in its playlist is
saved, so a console restarted by its watchdog comes back on the same item.

Keys on a wall: → next item, Ctrl+Shift+W leave the wall (opened from the main window), Ctrl+Q quit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QScreen
from PySide6.QtWidgets import QApplication

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.wall_playlist import PaneView, Playlist, WallConfig
from nexus_console.domain.wall_rotation import Attention, WallRotation, attention_needed
from nexus_console.views.pane import Pane
from nexus_console.views.wall.window import WallWindow, screen_name
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)

TICK_MS = 500
PREPARE_AHEAD_S = 1.5  # the next item is built and laid out this long before it shows
INPUT_EVENTS = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseMove,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.Wheel,
}


class WallController(QObject):
    quit_requested = Signal()
    leave_requested = Signal()

    def __init__(
        self,
        session: ConsoleSession,
        pane_types: Sequence[type[Pane]],
        config: WallConfig,
        settings: QSettings,
        *,
        forced_playlist: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        local_now: Callable[[], datetime] = datetime.now,
        idle_resume_s: float = 120.0,
    ) -> None:
        super().__init__()
        self.session = session
        self.pane_types = list(pane_types)
        self.config = config
        self.settings = settings
        self.forced_playlist = forced_playlist
        self.clock = clock
        self.local_now = local_now
        self.idle_resume_s = idle_resume_s
        self.windows: dict[str, WallWindow] = {}
        self.rotations: dict[str, WallRotation] = {}
        self.account_notice = ""
        self._account_notice_at = 0.0
        self.attention: Attention | None = None
        self.switches = 0
        self._prepared: dict[str, PaneView] = {}
        self._shown: dict[str, PaneView] = {}
        # What needs the room is worked out again only when the alerts or the incidents change, not by
        # walking the whole alert store on every tick.
        self._attention_stale = True
        self._unsubscribers = [session.alerts.queue.subscribe(self._alerts_or_incidents_changed)]
        if session.incidents is not None:
            self._unsubscribers.append(session.incidents.list.subscribe(self._alerts_or_incidents_changed))
        self.timer = QTimer(self)
        self.timer.setObjectName("wallTick")
        self.timer.timeout.connect(self.tick)
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.screenAdded.connect(self.add_screen)
        app.screenRemoved.connect(self.remove_screen)
        app.installEventFilter(self)
        self._closed = False

    # ---- screens --------------------------------------------------------------------------------

    def start(self) -> None:
        for screen in QGuiApplication.screens():
            self.add_screen(screen)
        self.timer.start(TICK_MS)

    def add_screen(self, screen: QScreen) -> None:
        name = screen_name(screen)
        if name in self.windows or self._closed:
            return
        window = WallWindow(self.session, self.pane_types, screen)
        self.windows[name] = window
        playlist = self._playlist_for(name, window)
        saved_name = self.settings.value(f"wall/{name}/playlist")
        saved_index = self.settings.value(f"wall/{name}/index", 0)
        start = int(saved_index) if saved_name == playlist.name else 0  # type: ignore[call-overload]
        self.rotations[name] = WallRotation(
            playlist, self.clock(), idle_resume_s=self.idle_resume_s, start_index=start
        )
        self._show(name)
        window.showFullScreen()
        log.info(
            "wall: screen %s (%dx%d) shows playlist %s from item %d",
            name,
            screen.geometry().width(),
            screen.geometry().height(),
            playlist.name,
            self.rotations[name].index + 1,
        )

    def remove_screen(self, screen: QScreen) -> None:
        name = screen_name(screen)
        window = self.windows.pop(name, None)
        self.rotations.pop(name, None)
        if window is not None:
            window.shutdown()
            window.hide()
            window.deleteLater()
            log.info("wall: screen %s unplugged, its window closed", name)

    # ---- the clock --------------------------------------------------------------------------------

    def tick(self) -> None:
        """Schedule, attention, rotation and notices for every screen (the timer calls it twice a second)."""
        now = self.clock()
        self._clear_account_notice_when_signed_in()
        if self._attention_stale:
            self._attention_stale = False
            self.attention = self._attention()
        for name, rotation in self.rotations.items():
            window = self.windows[name]
            rotation.set_attention(self.attention, now)
            changed = rotation.set_playlist(self._playlist_for(name, window), now)
            moved = rotation.advance(now)
            if changed or moved or rotation.current() != self._shown.get(name):
                self._show(name)
            elif rotation.held is None and rotation.seconds_left(now) <= PREPARE_AHEAD_S:
                upcoming = rotation.upcoming()
                if self._prepared.get(name) != upcoming:
                    window.prepare(upcoming)
                    self._prepared[name] = upcoming
            window.set_notice(self._notice(rotation, now))
            window.set_next(self._next_text(rotation, now))

    def next_item(self, name: str) -> None:
        self.rotations[name].skip(self.clock())
        self._show(name)

    def set_account_notice(self, text: str) -> None:
        """A sentence about the sign-in (the wall never shows a login dialog). It goes once the `me` source
        answers again after it was said: the session is signed in again."""
        self.account_notice = text
        self._account_notice_at = time.time()
        self.tick()

    def _clear_account_notice_when_signed_in(self) -> None:
        me = self.session.me_source.status
        if (
            self.account_notice
            and me.last_good is not None
            and me.last_good.received_at > self._account_notice_at
        ):
            self.account_notice = ""

    def _show(self, name: str) -> None:
        rotation, window = self.rotations[name], self.windows[name]
        for _ in range(len(rotation.playlist.items)):
            view = rotation.current()
            position = f"{rotation.index + 1}/{len(rotation.playlist.items)}"
            heading = view.describe()
            if rotation.held is None:
                heading = f"{rotation.playlist.name} {position} · {heading}"
            if window.show_view(view, heading) or not rotation.skip(self.clock()):
                break  # shown, or held on a pane this account lacks
        self._shown[name] = rotation.current()
        self._prepared.pop(name, None)
        self.switches += 1
        self.settings.setValue(f"wall/{name}/playlist", rotation.playlist.name)
        self.settings.setValue(f"wall/{name}/index", rotation.index)
        self.settings.sync()  # now, not when Qt gets round to it: a watchdog kill must find the item saved

    def _alerts_or_incidents_changed(self, _change: object) -> None:
        self._attention_stale = True

    def _playlist_for(self, name: str, window: WallWindow) -> Playlist:
        playlist = self.config.playlist_for(name, self.local_now(), forced=self.forced_playlist)
        available = set(window.available_panes())
        items = tuple(item for item in playlist.items if item.view.pane in available)
        return Playlist(playlist.name, items) if items else playlist

    def _attention(self) -> Attention | None:
        alerts = list(self.session.alerts.queue.store)
        incidents = ()
        if self.session.incidents is not None:
            latest = self.session.incidents.list.latest
            if latest.last_good is not None:
                incidents = latest.last_good.value.incidents
        return attention_needed(alerts, incidents)

    def _notice(self, rotation: WallRotation, now: float) -> str:
        lines = [self.account_notice] if self.account_notice else []
        if rotation.held is not None:
            lines.append(rotation.held.reason)
        elif rotation.is_paused(now) and rotation.paused_until is not None:
            lines.append(
                f"Rotation paused while someone is at this screen; it resumes after "
                f"{self.idle_resume_s / 60:.0f} min without input."
            )
        return "\n".join(lines)

    def _next_text(self, rotation: WallRotation, now: float) -> str:
        clock = format_clock(time.time())
        if rotation.held is not None or rotation.is_paused(now) or len(rotation.playlist.items) < 2:
            return clock
        return f"next: {rotation.upcoming().pane} in {rotation.seconds_left(now):.0f} s · {clock}"

    # ---- input ------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in INPUT_EVENTS or not isinstance(watched, QObject):
            return False
        window = watched.window() if hasattr(watched, "window") else None  # type: ignore[attr-defined]
        name = next((n for n, w in self.windows.items() if w is window), None)
        if name is None:
            return False
        if isinstance(event, QKeyEvent):
            modifiers = event.modifiers()
            ctrl = modifiers & Qt.KeyboardModifier.ControlModifier
            if event.key() == Qt.Key.Key_Q and ctrl:
                self.quit_requested.emit()
                return True
            if event.key() == Qt.Key.Key_W and ctrl and modifiers & Qt.KeyboardModifier.ShiftModifier:
                self.leave_requested.emit()
                return True
            if event.key() == Qt.Key.Key_Right:
                self.next_item(name)
        self.rotations[name].note_input(self.clock())
        return False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
            app.screenAdded.disconnect(self.add_screen)  # type: ignore[attr-defined]
            app.screenRemoved.disconnect(self.remove_screen)  # type: ignore[attr-defined]
        for window in self.windows.values():
            window.shutdown()
            window.close()
            window.deleteLater()
        self.windows.clear()
        self.rotations.clear()
        self.settings.sync()

"""The wall display on the reference server: rotation by each item's own interval, a hold on an incident
nobody acknowledged, a silent re-login when tokens expire and the server restarts (never a login dialog),
screens unplugged and plugged again, and the place in the playlist kept across a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from nexus_console.domain.freshness import SourceState
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.incident_runtime import IncidentSettings
from nexus_console.views.health import HealthPane
from nexus_console.views.incidents import IncidentsPane
from nexus_console.views.status.pane import StatusPane
from nexus_console.views.wall.controller import WallController
from nexus_console.views.wall.window import WallWindow
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import DEMO_PASSWORD
from tests.console.conftest import QLoop
from tests.console.console_support import make_console, visible_login_dialog, write_profile
from tests.console.helpers import wait_until
from tests.console.test_console_app import answer_login
from tests.support.refserver import RefServer
from tests.support.session import window_session

ADMIN = "admin@nexus.test"
PANES = [StatusPane, HealthPane, IncidentsPane]
FAST = SessionSettings(
    health=HealthSourceSettings(probes_interval_s=1.0),
    incidents=IncidentSettings(list_interval_s=1.0),
    me_interval_s=2.0,
)
PLAYLIST = """
[[playlist.room.item]]
pane = "Status"
seconds = 2

[[playlist.room.item]]
pane = "Health"
tab = "API"
seconds = 3
"""


def only_window(wall: WallController) -> WallWindow:
    assert len(wall.windows) == len(QGuiApplication.screens()) == 1
    return next(iter(wall.windows.values()))


def no_login_dialog_while(task: asyncio.Future[Any], seen: list[str]) -> asyncio.Task[None]:
    """Watch for a login dialog for as long as `task` runs (a wall must never show one)."""

    async def watch() -> None:
        while not task.done():
            if visible_login_dialog() is not None:
                seen.append(time.strftime("%H:%M:%S"))
            await asyncio.sleep(0.05)

    return asyncio.ensure_future(watch())


def test_the_wall_rotates_holds_on_an_unacknowledged_incident_and_re_signs_in_without_a_dialog(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    server: RefServer = refserver_factory(
        "--seed", "7", "--scale", "0.02", "--scenario", "none", "--access-ttl", "3", "--refresh-ttl", "6"
    )
    write_profile(server.base_url)
    (tmp_path / "wall.toml").write_text(PLAYLIST)
    console = make_console(
        "--wall-config", str(tmp_path / "wall.toml"), pane_types=PANES, session_settings=FAST
    )
    dialogs_on_the_wall: list[str] = []

    async def scenario() -> int:
        run = asyncio.ensure_future(console.run())
        try:
            await answer_login(ADMIN, DEMO_PASSWORD, remember=True)
            await wait_until(lambda: console.window is not None and console.window.isVisible(), timeout_s=20)
            console.window.wall_requested.emit()  # type: ignore[union-attr]  # the menu entry
            assert console.wall is not None and not console.window.isVisible()  # type: ignore[union-attr]
            watcher = no_login_dialog_while(run, dialogs_on_the_wall)
            window = only_window(console.wall)
            assert window.isFullScreen() and window.windowFlags() & Qt.WindowType.FramelessWindowHint
            assert window.heading.text() == "room 1/2 · Status"
            await wait_until(lambda: window.heading.text() == "room 2/2 · Health — API", timeout_s=5)
            health = window.current_view_pane()
            assert isinstance(health, HealthPane) and health.tabs.tabText(health.tabs.currentIndex()) == "API"
            await wait_until(lambda: window.heading.text() == "room 1/2 · Status", timeout_s=5)
            status = window.current_view_pane()
            assert isinstance(status, StatusPane)
            await wait_until(lambda: "services" in status.headline.text(), timeout_s=15)

            # An incident nobody has acknowledged takes the screen and holds it.
            api = console.session.api  # type: ignore[union-attr]
            body, _ = await api.post_json(
                "/incidents",
                {"title": "Checkout down", "severity": "critical", "services": ["billing-service"]},
                idempotency_key="wall-test-1",
            )
            incident_id, version = body["id"], body["version"]
            await wait_until(lambda: window.heading.text().startswith("Incidents"), timeout_s=10)
            assert f"Incident #{incident_id} Checkout down" in window.notice.text()
            held = window.current_view_pane()
            assert isinstance(held, IncidentsPane) and held.runtime.followed == incident_id
            await asyncio.sleep(3.5)  # longer than any item: still held
            assert window.heading.text().startswith("Incidents")

            # The tokens expire (access 3 s, refresh 6 s) and the server restarts under the wall.
            await asyncio.sleep(7)
            await asyncio.to_thread(server.kill)
            session = console.session
            assert session is not None
            await wait_until(lambda: session.statuses()["probes"].state is SourceState.ERROR, timeout_s=10)
            restarted = time.monotonic()
            await asyncio.to_thread(server.start)
            await wait_until(
                lambda: all(session.statuses()[n].state is SourceState.OK for n in ("me", "probes")),
                timeout_s=20,
            )
            fresh_after_s = time.monotonic() - restarted
            assert window.notice.text().startswith("Incident #"), "no sign-in notice: it signed in silently"

            # Someone at the wall: a key pauses the rotation, and says so.
            body, _ = await api.patch_json(
                f"/incidents/{incident_id}", {"status": "investigating"}, if_match=f'"v{version}"'
            )
            assert body["acknowledged_at"] is not None  # investigating implies acknowledged: the hold ends
            await wait_until(lambda: window.heading.text().startswith("room "), timeout_s=10)
            # Sent, not QTest.mouseMove/keyClick: those spin a nested event loop inside this task (qasync#59).
            QApplication.sendEvent(
                window,
                QMouseEvent(
                    QEvent.Type.MouseMove,
                    QPointF(40, 40),
                    QPointF(40, 40),
                    Qt.MouseButton.NoButton,
                    Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier,
                ),
            )
            QApplication.sendEvent(
                window, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier)
            )
            shown = window.heading.text()
            await asyncio.sleep(4)  # longer than the item's 2 or 3 s
            assert window.heading.text() == shown and "Rotation paused" in window.notice.text()

            # When the stored sign-in is refused too, the wall says so in its corner instead of a dialog,
            # and the sentence goes once the session answers again.
            assert not await console.auth.sign_in_interactively("the server refused the stored sign-in")  # type: ignore[union-attr]
            assert "Signed out: the server refused the stored sign-in" in window.notice.text()
            assert visible_login_dialog() is None
            await wait_until(lambda: "Signed out" not in window.notice.text(), timeout_s=10)
            watcher.cancel()
        finally:
            console.request_quit()
        assert fresh_after_s < 20
        return await asyncio.wait_for(run, 15)

    assert qloop.run(scenario(), timeout_s=150) == 0
    assert dialogs_on_the_wall == [], "the wall never shows a login dialog"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def wall_on(session: Any, clock: FakeClock, config_text: str = PLAYLIST) -> WallController:
    from nexus_console.domain.wall_playlist import parse_config
    from nexus_console.launch_options import settings_for_console

    return WallController(session, PANES, parse_config(config_text), settings_for_console(), clock=clock)


@contextmanager
def running_wall(session: Any) -> Iterator[tuple[WallController, FakeClock]]:
    """A started wall on a fake clock, closed at the end."""
    clock = FakeClock()
    wall = wall_on(session, clock)
    wall.start()
    try:
        yield wall, clock
    finally:
        wall.close()


def test_an_unplugged_screen_loses_its_window_and_a_plugged_one_gets_one(qtbot: Any) -> None:
    with window_session("viewer") as session, running_wall(session) as (wall, _clock):
        screen = QGuiApplication.primaryScreen()
        window = only_window(wall)
        assert window.screen() is screen and window.geometry() == screen.geometry()
        wall.remove_screen(screen)  # what Qt calls when the screen goes away
        assert wall.windows == {}
        wall.tick()  # nothing to turn, nothing breaks
        wall.add_screen(screen)
        assert only_window(wall).heading.text() == "room 1/2 · Status"


def test_a_restarted_wall_comes_back_on_the_item_it_showed(qtbot: Any) -> None:
    with window_session("viewer") as session:
        with running_wall(session) as (wall, clock):
            clock.now = 2.0
            wall.tick()
            assert only_window(wall).heading.text() == "room 2/2 · Health — API"
        # the watchdog killed the console here
        with running_wall(session) as (again, _clock):
            assert only_window(again).heading.text() == "room 2/2 · Health — API"


def test_the_next_item_is_prepared_before_it_is_shown(qtbot: Any) -> None:
    with window_session("viewer") as session, running_wall(session) as (wall, clock):
        window = only_window(wall)
        assert set(window.panes) == {"Status"}
        clock.now = 1.0  # 1 s before Health is due: it is built, on its API tab, but not shown yet
        wall.tick()
        health = window.panes["Health"]
        assert isinstance(health, HealthPane) and health.tabs.tabText(health.tabs.currentIndex()) == "API"
        assert window.current_view_pane() is window.panes["Status"]
        clock.now = 2.0
        wall.tick()
        assert window.current_view_pane() is health


def test_hours_of_rotation_build_each_pane_once_and_leave_no_widgets_or_timers_behind(qtbot: Any) -> None:
    with window_session("viewer") as session, running_wall(session) as (wall, clock):
        window = only_window(wall)

        def counts() -> tuple[int, int]:
            return len(window.findChildren(QObject)), len(window.findChildren(QTimer))

        for _ in range(20):  # a first turn builds what the panes build
            clock.now += 1.0
            wall.tick()
        before = counts()
        switches = wall.switches
        for _ in range(int(6 * 3600 / 30)):  # six hours in steps of 30 s, ticked every 0.5 s within
            clock.now += 25.0
            for _ in range(10):
                wall.tick()
                clock.now += 0.5
        assert wall.switches - switches > 1000
        assert set(window.panes) == {"Status", "Health"}, "each pane built once"
        assert counts() == before, "no widget and no timer left behind by a rotation"

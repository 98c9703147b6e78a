"""The main window: panes by role, actions with shortcuts, the command palette, the status bar, and a
layout that survives a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout

from nexus_console.domain.freshness import SourceState
from nexus_console.launch_options import default_pane_types, settings_for_console
from nexus_console.services.polling import Backoff, Poller
from nexus_console.views.main_window import MainWindow
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.workers.session import ConsoleSession
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.session import window_session


class OverviewPane(Pane):
    title = "Overview"

    def __init__(self, session: ConsoleSession, parent: Any = None) -> None:
        super().__init__(session, parent)
        self.banner = StaleBanner(self)
        self.value = QLabel("no data", self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.value)
        self.export = QAction("Export overview", self)
        self.export.setShortcut("Ctrl+E")
        self.exported = 0
        self.export.triggered.connect(self._export)

    def actions(self) -> list[QAction]:  # type: ignore[override]
        return [self.export]

    def _export(self) -> None:
        self.exported += 1


class AdminOnlyPane(Pane):
    title = "Admin"
    required_roles = frozenset({"admin"})


def make_window(ctx: ConsoleSession, qtbot: Any) -> MainWindow:
    window = MainWindow(ctx, [OverviewPane, AdminOnlyPane], settings_for_console())
    qtbot.addWidget(window)
    return window


def close(window: MainWindow) -> None:
    window.close()


def test_panes_follow_the_roles_from_auth_me(qtbot: Any) -> None:
    with window_session("viewer") as ctx:
        viewer_window = make_window(ctx, qtbot)
        assert viewer_window.pane_titles() == ["Overview"]
        assert viewer_window.navigation.isHidden(), "no navigation for a single pane"
        close(viewer_window)
    with window_session("admin") as ctx:
        admin_window = make_window(ctx, qtbot)
        assert admin_window.pane_titles() == ["Overview", "Admin"]
        assert not admin_window.navigation.isHidden()
        close(admin_window)


def test_a_pane_badge_shows_on_its_navigation_entry_and_in_the_window_title(qtbot: Any) -> None:
    with window_session("admin") as ctx:
        window = make_window(ctx, qtbot)
        overview, admin = window.panes
        base_title = window.windowTitle()
        overview.badge_changed.emit(3)
        admin.badge_changed.emit(2)
        assert window.navigation.item(0).text() == "Overview (3)"
        assert window.navigation.item(1).text() == "Admin (2)"
        assert window.windowTitle() == f"(5) {base_title}"
        overview.badge_changed.emit(0)
        admin.badge_changed.emit(0)
        assert [window.navigation.item(r).text() for r in range(2)] == ["Overview", "Admin"]
        assert window.windowTitle() == base_title
        close(window)


def test_every_pane_is_listed_with_its_own_title_icon_and_roles() -> None:
    for entry in default_pane_types():
        pane_type = entry.load()
        assert issubclass(pane_type, Pane)
        listed = (entry.title, entry.icon_name, entry.required_roles)
        assert listed == (pane_type.title, pane_type.icon_name, pane_type.required_roles), entry


class CountedPane(Pane):
    title = "Counted"
    built = 0

    def __init__(self, session: ConsoleSession, parent: Any = None) -> None:
        super().__init__(session, parent)
        type(self).built += 1


def test_the_window_opens_on_its_first_pane_and_builds_the_others_after_its_first_frame(qtbot: Any) -> None:
    CountedPane.built = 0
    with window_session("admin") as ctx:
        window = MainWindow(ctx, [OverviewPane, CountedPane], settings_for_console())
        qtbot.addWidget(window)
        assert window.pane_titles() == ["Overview", "Counted"]
        assert CountedPane.built == 0  # not needed for the first frame
        window.show()
        qtbot.waitUntil(lambda: CountedPane.built == 1, timeout=2000)
        counted = window.panes[1]
        counted.badge_changed.emit(4)
        assert window.navigation.item(1).text() == "Counted (4)"
        assert window.show_pane("Counted") is counted is window.current_pane()
        assert CountedPane.built == 1
        close(window)


def test_a_pane_not_built_yet_is_built_when_asked_for(qtbot: Any) -> None:
    CountedPane.built = 0
    with window_session("admin") as ctx:
        window = MainWindow(ctx, [OverviewPane, CountedPane], settings_for_console())
        qtbot.addWidget(window)
        pane = window.show_pane("Counted")
        assert isinstance(pane, CountedPane) and window.current_pane() is pane
        assert [type(p) for p in window.panes] == [OverviewPane, CountedPane] and CountedPane.built == 1
        close(window)


class TabbedPane(Pane):
    title = "Health"
    icon_name = "health"

    def __init__(self, session: ConsoleSession, parent: Any = None) -> None:
        super().__init__(session, parent)
        self.tabs = QTabWidget(self)
        for name in ("Services", "Database"):
            self.tabs.addTab(QLabel(name), name)


def test_the_navigation_has_icons_and_collapses_to_them_keeping_titles_and_counts_in_tooltips(
    qtbot: Any,
) -> None:
    with window_session("admin") as ctx:
        window = MainWindow(ctx, [TabbedPane, AdminOnlyPane], settings_for_console())
        qtbot.addWidget(window)
        navigation = window.navigation
        assert not navigation.item(0).icon().isNull(), "Health has its icon"
        window.panes[0].badge_changed.emit(4)
        window.toggle_navigation()
        assert [navigation.item(r).text() for r in range(2)] == ["", ""]
        assert navigation.item(0).toolTip() == "Health (4)"
        assert navigation.width() <= 40
        window.save_layout()
        close(window)
        again = MainWindow(ctx, [TabbedPane, AdminOnlyPane], settings_for_console())
        qtbot.addWidget(again)
        assert again.navigation.collapsed, "collapsed stays collapsed after a restart"
        again.toggle_navigation()
        assert again.navigation.item(0).text() == "Health"
        close(again)


def test_the_palette_goes_to_a_tab_page_of_a_pane(qtbot: Any) -> None:
    with window_session("admin") as ctx:
        window = MainWindow(ctx, [TabbedPane, AdminOnlyPane], settings_for_console())
        qtbot.addWidget(window)
        window.show_pane("Admin")
        window.palette_dialog.open_palette()
        qtbot.keyClicks(window.palette_dialog.filter, "health database")
        assert window.palette_dialog.visible_labels() == ["Go to Health › Database"]
        qtbot.keyClick(window.palette_dialog.filter, Qt.Key.Key_Return)
        pane = window.current_pane()
        assert pane is not None and pane.title == "Health"
        assert pane.tabs.tabText(pane.tabs.currentIndex()) == "Database"  # type: ignore[attr-defined]
        close(window)


def test_every_action_has_a_shortcut_and_the_palette_lists_them_all(qtbot: Any) -> None:
    with window_session("admin") as ctx:
        window = make_window(ctx, qtbot)
        actions = window.all_actions()
        labels = {a.text().replace("&", "") for a in actions}
        assert {
            "Command palette…",
            "Go to Overview",
            "Go to Admin",
            "Log out",
            "Quit",
            "Export overview",
        } <= labels
        assert all(not a.shortcut().isEmpty() for a in actions), [
            a.text() for a in actions if a.shortcut().isEmpty()
        ]
        shortcuts = [a.shortcut().toString() for a in actions]
        assert len(shortcuts) == len(set(shortcuts)), "no two actions share a shortcut"

        window.palette_dialog.open_palette()
        assert len(window.palette_dialog.visible_labels()) == len(actions)
        qtbot.keyClicks(window.palette_dialog.filter, "go adm")
        assert window.palette_dialog.visible_labels() == ["Go to Admin    Ctrl+2"]
        qtbot.keyClick(window.palette_dialog.filter, Qt.Key.Key_Return)
        assert window.current_pane().title == "Admin"  # type: ignore[union-attr]
        assert not window.palette_dialog.isVisible()
        close(window)


def test_ctrl_k_opens_the_palette_and_pane_actions_run_from_it(qtbot: Any) -> None:
    with window_session("viewer") as ctx:
        window = make_window(ctx, qtbot)
        window.show()
        window.windowHandle().requestActivate()
        assert QTest.qWaitForWindowActive(window.windowHandle(), 3000)
        qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(window.palette_dialog.isVisible, timeout=3000)
        qtbot.keyClicks(window.palette_dialog.filter, "export")
        qtbot.keyClick(window.palette_dialog.filter, Qt.Key.Key_Return)
        pane = window.panes[0]
        assert isinstance(pane, OverviewPane)
        assert pane.exported == 1
        close(window)


def test_geometry_and_current_pane_survive_a_restart(qtbot: Any, isolated_dirs: dict[str, Path]) -> None:
    with window_session("admin") as ctx:
        first = make_window(ctx, qtbot)
        first.show()
        first.resize(701, 457)
        first.show_pane("Admin")
        close(first)
    settings_file = Path(settings_for_console().fileName())
    assert settings_file.is_relative_to(isolated_dirs["config"]) and settings_file.exists()
    with window_session("admin") as ctx:
        second = make_window(ctx, qtbot)
        second.show()
        assert (second.width(), second.height()) == (701, 457)
        assert second.current_pane().title == "Admin"  # type: ignore[union-attr]
        close(second)
    assert "password" not in settings_file.read_text().lower()


def test_closing_the_window_asks_to_quit_and_stops_its_timers(qtbot: Any) -> None:
    with window_session("viewer") as ctx:
        window = make_window(ctx, qtbot)
        window.show()
        with qtbot.waitSignal(window.quit_requested, timeout=2000):
            window.close()
        assert not window.status_bar.is_ticking()


def test_status_bar_shows_each_source_state_and_age_and_a_stale_banner_reads_the_reason(
    qtbot: Any, qloop: QLoop
) -> None:
    fail = False

    async def fetch() -> dict[str, int]:
        if fail:
            raise ConnectionError("connection refused")
        return {"n": 1}

    with window_session("viewer") as ctx:
        poller = ctx.registry.add(
            Poller(
                "inventory", fetch, 60.0, timeout_s=1.0, backoff=Backoff(0.05, 0.1, random_fraction=lambda: 1)
            )
        )
        window = make_window(ctx, qtbot)
        pane = window.panes[0]
        assert isinstance(pane, OverviewPane)
        pane.watch(poller, pane.banner.set_status)
        assert window.status_bar.label_text("inventory") == "inventory connecting"

        async def scenario() -> None:
            nonlocal fail
            poller_task = asyncio.ensure_future(poller.run())
            try:
                await wait_until(lambda: poller.status.state is SourceState.OK)
                await wait_until(lambda: window.status_bar.label_text("inventory") == "inventory ok · 0 s")
                assert pane.banner.text() == ""
                fail = True
                poller.poke()
                await wait_until(lambda: poller.status.state is SourceState.ERROR)
                await wait_until(lambda: pane.banner.text() != "")
            finally:
                poller_task.cancel()
                await asyncio.gather(poller_task, return_exceptions=True)

        qloop.run(scenario())
        assert window.status_bar.label_text("inventory").startswith("inventory error · ")
        indicator = window.status_bar.indicator_text()
        assert indicator.startswith("● 1 of "), indicator
        assert indicator.endswith(" sources failing: inventory"), indicator
        window.status_bar.show_sources()  # the list a click away says why
        assert "inventory error" in window.status_bar.sources_popup.label.text()
        assert "ConnectionError: connection refused" in window.status_bar.sources_popup.label.text()
        window.status_bar.sources_popup.hide()
        banner = pane.banner.text()
        assert banner.startswith("stale since ")
        assert banner.endswith(" — ConnectionError: connection refused")
        assert time.strftime("%H:%M", time.localtime(poller.status.error_since)) in banner
        close(window)


def test_stale_look_greys_a_widget_without_clearing_it(qtbot: Any) -> None:
    label = QLabel("42 req/s")
    qtbot.addWidget(label)
    apply_stale_look(label, True)
    assert label.graphicsEffect() is not None and label.text() == "42 req/s"
    apply_stale_look(label, False)
    assert label.graphicsEffect() is None


@pytest.fixture(autouse=True)
def _no_stray_loop() -> Any:
    yield
    asyncio.set_event_loop(None)


def test_a_change_of_roles_seen_by_the_me_source_is_announced(qtbot: Any, qloop: QLoop) -> None:
    roles = ["viewer"]

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/auth/me"
        return httpx.Response(
            200, json={"id": "u1", "email": "ops@nexus.test", "name": "Olive Ops", "roles": list(roles)}
        )

    with window_session("viewer", api_transport=httpx.MockTransport(answer)) as ctx:
        poller = ctx.me_source
        window = make_window(ctx, qtbot)

        async def poll_and_settle() -> None:
            await poller.poll_once()
            await asyncio.sleep(0.05)  # the watcher delivers on the next turn of the loop

        qloop.run(poll_and_settle())
        assert poller.status.state is SourceState.OK
        assert window.status_bar.notice.isHidden(), "same roles: nothing to say"
        roles.append("admin")
        qloop.run(poll_and_settle())
        assert not window.status_bar.notice.isHidden()
        assert window.status_bar.notice.text().startswith("Your roles changed to admin, viewer")
        assert window.panes[0].allows(frozenset()) and not window.panes[0].allows({"admin"})
        close(window)


def test_the_window_with_every_pane_fits_a_1366_by_768_laptop_screen(qtbot: Any) -> None:
    with window_session("admin") as ctx:
        window = MainWindow(ctx, default_pane_types(), settings_for_console())
        qtbot.addWidget(window)
        hint = window.minimumSizeHint()
        assert hint.width() <= 1366 and hint.height() <= 768, hint
        window.resize(1366, 768)
        window.show()
        qtbot.waitExposed(window)
        assert window.width() == 1366, "nothing forces the window wider than the screen"
        assert window.navigation.width() <= 160, "no dead strip beside the navigation"
        close(window)

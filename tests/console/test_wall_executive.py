"""The executive page on a wall: a playlist item `pane = "Analytics"`, `tab = "Executive"` shows the
business at a glance from the reference server, full screen, with the same figures the pane computes."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from nexus_console.domain.wall_playlist import parse_config
from nexus_console.launch_options import settings_for_console
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile
from nexus_console.views.analytics import AnalyticsPane
from nexus_console.views.analytics.executive import ExecutivePage
from nexus_console.views.wall.controller import WallController
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.console.test_analytics_pane import orders_in_month
from tests.support.refserver import RefServer
from tests.support.session import console_session

PLAYLIST = """
[[playlist.lobby.item]]
pane = "Analytics"
tab = "Executive"
seconds = 30
"""


def test_a_wall_playlist_shows_the_executive_page_with_the_months_figures(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            me = await stack.auth.login(Credentials("finance@nexus.test", DEMO_PASSWORD))
            profile = Profile("lab", refserver_session.base_url)
            async with console_session(profile, stack.api, stack.http, me) as session:
                wall = WallController(
                    session, [AnalyticsPane], parse_config(PLAYLIST), settings_for_console()
                )
                app = QApplication.instance()
                assert isinstance(app, QApplication)
                quit_on_last = app.quitOnLastWindowClosed()
                app.setQuitOnLastWindowClosed(False)  # closing the wall here must not end the test's loop
                wall.start()
                try:
                    window = next(iter(wall.windows.values()))
                    assert window.heading.text() == "lobby 1/1 · Analytics — Executive"
                    pane = window.current_view_pane()
                    assert isinstance(pane, AnalyticsPane) and isinstance(
                        pane.tabs.currentWidget(), ExecutivePage
                    )
                    page = pane.tabs.currentWidget()
                    assert isinstance(page, ExecutivePage)

                    def orders_shown() -> str:
                        shown = {t.label.text(): t.value.text() for t in page.tiles if t.isVisible()}
                        return shown.get("Orders, last whole month", "")

                    october, _ = orders_in_month(refserver_session, "2026-10")
                    await wait_until(lambda: orders_shown() == f"{october:,}", timeout_s=30)
                    assert window.isFullScreen() and page.isVisible()
                finally:
                    wall.close()
                    app.setQuitOnLastWindowClosed(quit_on_last)

    qloop.run(scenario(), timeout_s=90)

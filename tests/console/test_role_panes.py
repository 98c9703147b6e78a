"""Each role signs in to the real console and sees only the panes whose data its role may read (the API's
role matrix), so nobody opens a pane that can only say "forbidden"."""

from __future__ import annotations

import asyncio

import pytest

from tests.console.api_support import DEMO_PASSWORD
from tests.console.conftest import QLoop
from tests.console.console_support import answer_login, make_console, write_profile
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer

PANES_BY_ROLE = {
    "admin": [
        "Health",
        "Status",
        "Alerts",
        "Incidents",
        "Uptime",
        "Infrastructure",
        "Database",
        "Analytics",
        "Security",
        "Compliance",
        "Admin",
        "Action queue",
        "Audit",
    ],
    "moderator": ["Alerts", "Admin", "Action queue"],
    "finance": ["Health", "Status", "Uptime", "Infrastructure", "Database", "Analytics"],
    "analyst": [
        "Health",
        "Status",
        "Alerts",
        "Incidents",
        "Uptime",
        "Infrastructure",
        "Database",
        "Analytics",
        "Security",
        "Compliance",
    ],
    "viewer": ["Health", "Status", "Alerts", "Uptime", "Infrastructure", "Database"],
}


@pytest.mark.parametrize("role", list(PANES_BY_ROLE))
def test_each_role_sees_only_the_panes_it_may_read(
    role: str, qloop: QLoop, refserver_session: RefServer
) -> None:
    write_profile(refserver_session.base_url)
    console = make_console()

    async def scenario() -> list[str]:
        run = asyncio.ensure_future(console.run())
        try:
            await answer_login(f"{role}@nexus.test", DEMO_PASSWORD, remember=False)
            await wait_until(lambda: console.window is not None and console.window.isVisible(), timeout_s=20)
            assert console.window is not None
            titles = console.window.pane_titles()
            listed = [
                console.window.navigation.item(i).text() for i in range(console.window.navigation.count())
            ]
            assert all(any(text.startswith(title) for text in listed) for title in titles)
            return titles
        finally:
            console.request_quit()
            await asyncio.wait_for(run, 15)

    assert qloop.run(scenario(), timeout_s=60) == PANES_BY_ROLE[role]

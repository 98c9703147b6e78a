"""The reference server is killed and restarted under every pane of the running console: each pane shows
its data as stale (never blank) while the server is gone, and is fresh again within one poll interval of the
server's first good answer.

Intervals are shortened for the test (the longest is SLOWEST_INTERVAL_S); "within one interval" is asserted
as that interval plus RECOVERY_SLACK_S for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nexus_console.services.analytics_sources import AnalyticsSettings
from nexus_console.services.compliance_sources import ComplianceSettings
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.incident_runtime import IncidentSettings
from nexus_console.services.security_feed import SecuritySettings
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import DEMO_PASSWORD
from tests.console.conftest import QLoop
from tests.console.console_support import answer_login, make_console, write_profile
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer

SLOWEST_INTERVAL_S = 4.0
RECOVERY_SLACK_S = 4.0
FAST = SessionSettings(
    health=HealthSourceSettings(
        services_interval_s=SLOWEST_INTERVAL_S,
        probes_interval_s=2.0,
        documents_interval_s=2.0,
        documents_retry_max_s=2.0,
    ),
    incidents=IncidentSettings(list_interval_s=2.0, timeline_interval_s=2.0),
    analytics=AnalyticsSettings(interval_s=2.0, retry_max_s=2.0),
    security=SecuritySettings(interval_s=2.0),
    compliance=ComplianceSettings(interval_s=2.0, retry_max_s=2.0),
    me_interval_s=SLOWEST_INTERVAL_S,
)
# the panes whose feeds come from the server, and how each says it is stale
BANNERED = ("Health", "Status", "Alerts", "Incidents", "Uptime", "Analytics", "Security", "Compliance")


def banner_of(pane: Any) -> str:
    return pane.banner.text()


def test_every_pane_is_stale_while_the_server_is_down_and_fresh_within_an_interval_of_its_return(
    qloop: QLoop, refserver_factory: Any
) -> None:
    server: RefServer = refserver_factory("--seed", "7", "--scale", "0.02", "--scenario", "none")
    write_profile(server.base_url)
    console = make_console(session_settings=FAST)
    recovered: dict[str, float] = {}
    said: dict[str, str] = {}

    async def scenario() -> None:
        run = asyncio.ensure_future(console.run())
        try:
            await answer_login("admin@nexus.test", DEMO_PASSWORD, remember=False)
            await wait_until(lambda: console.window is not None and console.window.isVisible(), timeout_s=20)
            window = console.window
            assert window is not None
            panes = {title: window.show_pane(title) for title in BANNERED}
            for title, pane in panes.items():
                window.show_pane(title)
                await wait_until(lambda pane=pane: banner_of(pane) == "", timeout_s=30)

            await asyncio.to_thread(server.kill)
            for title, pane in panes.items():
                window.show_pane(title)
                await wait_until(lambda pane=pane: banner_of(pane) != "", timeout_s=30)
                said[title] = banner_of(pane)

            await asyncio.to_thread(server.start)
            back = time.monotonic()
            pending = dict(panes)
            while pending:
                for title, pane in list(pending.items()):
                    window.show_pane(title)
                    await asyncio.sleep(0.05)
                    if banner_of(pane) == "":
                        recovered[title] = time.monotonic() - back
                        del pending[title]
                if time.monotonic() - back > 60:
                    raise AssertionError(
                        f"still stale a minute after the server came back: {sorted(pending)}"
                    )
        finally:
            console.request_quit()
            await asyncio.wait_for(run, 15)

    qloop.run(scenario(), timeout_s=180)
    for title, text in said.items():  # in words, with where it failed, never an errno or an exception name
        assert "127.0.0.1" in text and "Errno" not in text and "Error:" not in text, (title, text)
    late = {title: round(s, 1) for title, s in recovered.items() if s > SLOWEST_INTERVAL_S + RECOVERY_SLACK_S}
    assert not late, f"fresh later than one interval after the server's return: {late}"

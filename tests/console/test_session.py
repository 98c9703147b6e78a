"""One session owns every runtime: built in one place after login, started and stopped in one order, and
nothing of it left running afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

from nexus_console.domain.freshness import SourceState
from nexus_console.services.auth import Credentials
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.profiles import Profile
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer
from tests.support.session import VIEWER, build_session, close_session, me_with_roles, window_session

FAST = SessionSettings(health=HealthSourceSettings(probes_interval_s=1.0, documents_interval_s=0.5))


def test_a_session_builds_every_runtime_once_and_the_admin_runtime_only_for_admins(qapp: Any) -> None:
    with window_session("viewer") as viewer:
        assert viewer.admin is None
        names = [poller.name for poller in viewer.sources()]
        assert names[:7] == ["me", "services", "probes", "metrics", "api_health", "db_health", "sync_quality"]
        assert len(names) == len(set(names)), "one poller per source"
    with window_session("admin") as admin:
        assert admin.admin is not None
    with window_session("moderator") as moderator:
        assert moderator.admin is not None


def test_the_alert_rules_follow_the_health_documents_from_the_start(qapp: Any) -> None:
    with window_session("viewer") as session:
        for poller in session.health.documents().values():
            assert poller.subscriber_count() >= 1, f"{poller.name} feeds the local alert rules"


def test_a_started_session_runs_its_sources_and_stops_every_task_when_closed(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials("viewer@nexus.test", DEMO_PASSWORD))
            session = build_session(
                Profile("lab", refserver_session.base_url), stack.api, stack.http, VIEWER, settings=FAST
            )
            session.start()
            try:
                await wait_until(
                    lambda: all(p.status.state is SourceState.OK for p in session.health.pollers()),
                    timeout_s=20,
                )
                assert session.tasks.pending() >= 3, "the alert feed, drain, queue and rule clock run"
                assert session.registry.running()
            finally:
                await close_session(session)
            assert session.tasks.pending() == 0
            assert not session.registry.running()
            await session.aclose()  # twice is harmless

    qloop.run(scenario(), timeout_s=60)


def test_closing_a_session_that_never_started_is_clean(qloop: QLoop) -> None:
    async def scenario() -> None:
        import httpx

        from nexus_console.services.api_client import NexusClient

        http = httpx.AsyncClient(trust_env=False)
        profile = Profile("lab", "http://127.0.0.1:9")
        session = build_session(
            profile, NexusClient(profile.api_base_url, http), http, me_with_roles("admin")
        )
        await close_session(session)
        await http.aclose()
        await asyncio.sleep(0)

    qloop.run(scenario())

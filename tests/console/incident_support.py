"""A signed-in responder's real session and a shown Incidents pane, for the incident tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nexus_console.domain.auth import Me
from nexus_console.domain.incident_flow import IncidentDetail
from nexus_console.services.alert_runtime import AlertSourceSettings
from nexus_console.services.auth import Credentials
from nexus_console.services.incident_outbox import IncidentOutboxSettings
from nexus_console.services.incident_runtime import IncidentSettings
from nexus_console.services.profiles import Profile
from nexus_console.views.incidents import IncidentsPane
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.api_support import DEMO_PASSWORD, ApiStack, api_stack
from tests.support.session import console_session

ADMIN = "admin@nexus.test"
ORDERS = "puabo-nuki-order-processor"
DEMO_TITLE = "Order processor failing on the marketplace database"


def fast_incident_settings(tmp_path: Path) -> SessionSettings:
    return SessionSettings(
        alerts=AlertSourceSettings(
            history_path=tmp_path / "history.db", pane_settings_path=tmp_path / "a.toml"
        ),
        incidents=IncidentSettings(
            list_interval_s=0.5,
            timeline_interval_s=0.5,
            outbox=IncidentOutboxSettings(
                path=tmp_path / "incident-outbox.sqlite3",
                idle_poll_s=0.3,
                retry_max_s=1.0,
                offline_probe_max_s=0.5,
            ),
        ),
    )


@dataclass
class IncidentConsole:
    session: ConsoleSession
    pane: IncidentsPane
    stack: ApiStack

    @property
    def detail(self) -> IncidentDetail | None:
        return self.pane.detail_data

    async def api(self, method: str, path: str, body: Any = None, **headers: str) -> httpx.Response:
        """A request as the signed-in admin, outside the console (another responder's hand)."""
        token = await self.stack.auth.token_getter()()
        return await self.stack.http.request(
            method,
            f"{self.session.profile.api_base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex, **headers},
        )


@asynccontextmanager
async def incident_console(
    base_url: str, tmp_path: Path, email: str = ADMIN
) -> AsyncIterator[IncidentConsole]:
    """The real session of a signed-in responder with a shown Incidents pane, built before the session
    starts, as the app does."""
    async with api_stack(base_url) as stack:
        me = await stack.auth.login(Credentials(email, DEMO_PASSWORD))
        async with console_session(
            Profile("lab", base_url),
            stack.api,
            stack.http,
            Me(me.id, me.email, me.name, frozenset(me.roles)),
            settings=fast_incident_settings(tmp_path),
            start=False,
        ) as session:
            pane = IncidentsPane(session)
            pane.resize(1366, 768)
            pane.show()
            session.start()
            try:
                yield IncidentConsole(session, pane, stack)
            finally:
                pane.shutdown()
                pane.hide()
                pane.deleteLater()

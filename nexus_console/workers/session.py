"""ConsoleSession: everything one signed-in session runs, built in one place and started and stopped in one
order. app.py builds it after login; the main window and every pane receive it and register nothing.

The order, written once:
  build   tasks, poller registry, `me`, Health sources, alert runtime (reads the Health documents),
          admin runtime (admins and moderators only)
  start   pollers, then the alert runtime's tasks, then the admin runtime's task
  stop    pollers, then every session task (the runtimes close what they opened as their tasks end),
          then whatever a runtime holds that was never started
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexus_console.domain.admin_flow import ADMIN_ROLES
from nexus_console.domain.auth import Me
from nexus_console.domain.freshness import SourceStatus
from nexus_console.services.admin_runtime import AdminRuntime, AdminSettings
from nexus_console.services.alert_runtime import AlertRuntime, AlertSourceSettings
from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AuthSession
from nexus_console.services.cache import LocalCache
from nexus_console.services.health_sources import HealthSources, HealthSourceSettings
from nexus_console.services.keychain import Keychain
from nexus_console.services.polling import JSON_CODEC, Poller, PollerRegistry
from nexus_console.services.profiles import Profile
from nexus_console.services.replicas import ReplicaSet
from nexus_console.services.tasks import TaskRunner

log = logging.getLogger(__name__)

ME_SOURCE = "me"
ME_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Intervals, timeouts and file locations of the session's runtimes (tests make them fast)."""

    health: HealthSourceSettings = field(default_factory=HealthSourceSettings)
    alerts: AlertSourceSettings = field(default_factory=AlertSourceSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    me_interval_s: float = ME_INTERVAL_S


class ConsoleSession:
    """The runtimes of one signed-in session. A logout ends the session; the next login builds another."""

    def __init__(
        self,
        *,
        profile: Profile,
        api: NexusClient,
        estate_http: Any,
        cache: LocalCache | None,
        me: Me,
        executor: concurrent.futures.ThreadPoolExecutor,
        keychain: Keychain | None = None,
        settings: SessionSettings | None = None,
        replicas: ReplicaSet | None = None,
        on_task_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.settings = settings = settings or SessionSettings()
        self.profile = profile
        self.api = api
        self.http = estate_http  # the monitored services' absolute URLs (/health, /metrics), TLS per profile
        self.cache = cache
        self.me = me
        self.executor = executor  # bounded, owned by app.py: parsing and blocking calls
        self.keychain = keychain
        self.tasks = TaskRunner(on_unhandled=on_task_error)
        self.registry = PollerRegistry(cache)
        self.me_source: Poller[Any] = self.registry.add(
            Poller(ME_SOURCE, self._fetch_me, settings.me_interval_s, timeout_s=10.0, cache_codec=JSON_CODEC)
        )
        self.health = HealthSources(self.registry, api, estate_http, executor, settings.health)
        self.alerts = AlertRuntime(
            profile=profile,
            api=api,
            estate_http=estate_http,
            registry=self.registry,
            owner=me.email,
            rule_inputs=self.health.documents(),
            settings=settings.alerts,
        )
        self.admin: AdminRuntime | None = (
            AdminRuntime(self, settings.admin, replicas=replicas) if me.may_access(ADMIN_ROLES) else None
        )
        self._started = False
        self._closed = False

    @property
    def auth(self) -> AuthSession | None:
        return self.api.auth

    def sources(self) -> list[Poller[Any]]:
        """Every polled source of the session (the status bar shows each)."""
        return self.registry.pollers()

    def statuses(self) -> dict[str, SourceStatus[Any]]:
        return {poller.name: poller.status for poller in self.registry.pollers()}

    def refresh_all(self) -> None:
        self.registry.poke_all()

    def start(self) -> None:
        """Start every runtime (needs the running loop)."""
        if self._started:
            return
        self._started = True
        self.registry.start()
        self.alerts.start(self.tasks)
        if self.admin is not None:
            self.admin.start(self.tasks)

    async def aclose(self) -> None:
        """Stop every runtime and close what they opened; safe to call twice, and before `start()`."""
        if self._closed:
            return
        self._closed = True
        await self.registry.aclose()
        await self.tasks.aclose()
        await self.alerts.aclose()

    async def _fetch_me(self) -> Any:
        """`me` keeps the session alive and notices role changes."""
        body, _headers = await self.api.get_json("/auth/me")
        return body

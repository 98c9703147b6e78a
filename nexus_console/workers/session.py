"""ConsoleSession: everything one signed-in session runs, built in one place and started and stopped in one
order. app.py builds it after login; the main window and every pane receive it and register nothing.

The order, written once:
  build   tasks, poller registry, `me`, Health sources, the infrastructure sources (monitoring readers;
          a poller only when the profile has Prometheus), the analytics sources and the reports (analysts,
          finance and admins), the uptime recording (reads the probes), alert runtime (reads the Health
          documents), the security feed (analysts and admins; its detections go into the alert queue),
          incident runtime (admins and analysts; reads the alert history), the security actions (read the
          incident runtime), the compliance sources (analysts and admins), the database monitor (monitoring
          readers: the profile's PostgreSQL servers), admin runtime (admins and
          moderators only), the freshness watch over every poller
  start   the heartbeat (unless the app runs it), the garbage-collector steward, the freshness watch,
          pollers, the uptime recording, the report schedule, then the alert runtime's tasks, then the admin
          runtime's task
  stop    the freshness watch, pollers, then every session task (the heartbeat among them; the runtimes
          close what they opened as their tasks end), then whatever a runtime holds that was never started
          (the database monitor's connection pool)

`heartbeat` proves the asyncio loop turns (`last_beat_age_s()`, `max_gap_s`); app.py passes its own, which
beats from start-up to exit, and a session built without one runs its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_console.domain.admin_flow import ADMIN_ROLES
from nexus_console.domain.auth import (
    ANALYTICS_READERS,
    COMPLIANCE_READERS,
    MONITORING_READERS,
    SECURITY_READERS,
    Me,
)
from nexus_console.domain.db_health import DatabaseSnapshot
from nexus_console.domain.freshness import SourceStatus
from nexus_console.domain.health import STALE_AFTER_INTERVALS
from nexus_console.domain.incident_flow import INCIDENT_READERS
from nexus_console.domain.security_digest import SecuritySnapshot
from nexus_console.services.admin_runtime import AdminRuntime, AdminSettings
from nexus_console.services.alert_runtime import AlertRuntime, AlertSourceSettings
from nexus_console.services.analytics_sources import AnalyticsSettings, AnalyticsSources
from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AuthSession
from nexus_console.services.cache import LocalCache
from nexus_console.services.compliance_sources import ComplianceSettings, ComplianceSources
from nexus_console.services.db_monitor import DatabaseMonitor, DatabaseSettings, add_database_poller
from nexus_console.services.exports import Exports
from nexus_console.services.freshness_watch import FreshnessWatch
from nexus_console.services.gc_steward import FREEZE_EVERY_S, GcSteward
from nexus_console.services.health_sources import HealthSources, HealthSourceSettings
from nexus_console.services.heartbeat import HEARTBEAT_INTERVAL_S, Heartbeat
from nexus_console.services.incident_runtime import IncidentRuntime, IncidentSettings
from nexus_console.services.infra_sources import InfraSettings, InfraSources
from nexus_console.services.keychain import Keychain
from nexus_console.services.polling import JSON_CODEC, Poller, PollerRegistry
from nexus_console.services.profiles import Profile, data_dir
from nexus_console.services.report_runtime import ReportRuntime, ReportSettings
from nexus_console.services.security_actions import SecurityActions
from nexus_console.services.security_feed import SecurityFeed, SecuritySettings, add_security_poller
from nexus_console.services.tasks import TaskRunner
from nexus_console.services.uptime_recording import UptimeRecording
from nexus_console.services.uptime_store import UptimeStore

if TYPE_CHECKING:
    from nexus_console.services.replicas import ReplicaSet

log = logging.getLogger(__name__)

ME_SOURCE = "me"
ME_INTERVAL_S = 60.0
UPTIME_FILE = "uptime.sqlite3"
STOP_STAGE_S = 3.0  # each stage of the shutdown (pollers, tasks, alert runtime) gets at most this long


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Intervals, timeouts and file locations of the session's runtimes (tests make them fast)."""

    health: HealthSourceSettings = field(default_factory=HealthSourceSettings)
    infra: InfraSettings = field(default_factory=InfraSettings)
    alerts: AlertSourceSettings = field(default_factory=AlertSourceSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    compliance: ComplianceSettings = field(default_factory=ComplianceSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    uptime_path: Path | None = None  # default: the data dir
    me_interval_s: float = ME_INTERVAL_S
    heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S
    gc_freeze_every_s: float = FREEZE_EVERY_S  # services/gc_steward.py


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
        heartbeat: Heartbeat | None = None,
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
        self.me_source.host = self.health.api_host  # woken with the API's other sources when it returns
        self.infrastructure: InfraSources | None = None
        if me.may_access(MONITORING_READERS):
            self.infrastructure = InfraSources(self.registry, profile, estate_http, executor, settings.infra)
        self.exports = Exports(executor)
        self.analytics: AnalyticsSources | None = None
        self.reports: ReportRuntime | None = None
        if me.may_access(ANALYTICS_READERS):
            self.analytics = AnalyticsSources(
                self.registry, api, me, api_host=self.health.api_host, settings=settings.analytics
            )
            self.reports = ReportRuntime(api, profile, keychain, settings.reports)
        probe_interval_s = self.health.probes.interval_s
        self.uptime = UptimeRecording(
            UptimeStore(settings.uptime_path or data_dir() / UPTIME_FILE),
            self.health.probes,
            stale_after_s=STALE_AFTER_INTERVALS * probe_interval_s,
            max_gap_s=2 * probe_interval_s,
        )
        self.alerts = AlertRuntime(
            profile=profile,
            api=api,
            estate_http=estate_http,
            registry=self.registry,
            owner=me.email,
            rule_inputs=self.health.documents(),
            settings=settings.alerts,
        )
        self.security: SecurityFeed | None = None
        self.security_poller: Poller[SecuritySnapshot] | None = None
        if me.may_access(SECURITY_READERS):
            self.security = SecurityFeed(api, self.alerts.queue, self.alerts.detection_rules)
            self.security_poller = add_security_poller(
                self.registry, self.security, settings.security, host=self.health.api_host
            )
        self.incidents: IncidentRuntime | None = None
        if me.may_access(INCIDENT_READERS):
            self.incidents = IncidentRuntime(
                api=api,
                registry=self.registry,
                me=me,
                api_host=self.health.api_host,
                transitions_between=self.alerts.transitions_between,
                executor=executor,
                settings=settings.incidents,
                profile=profile,
            )
        self.security_actions: SecurityActions | None = (
            SecurityActions(api, self.incidents) if self.security is not None else None
        )
        self.compliance: ComplianceSources | None = None
        if me.may_access(COMPLIANCE_READERS):
            self.compliance = ComplianceSources(
                self.registry, api, profile, keychain, executor, api_host=self.health.api_host,
                settings=settings.compliance,
            )  # fmt: skip
        self.database: DatabaseMonitor | None = None
        self.database_poller: Poller[DatabaseSnapshot] | None = None
        if me.may_access(MONITORING_READERS):
            self.database = DatabaseMonitor(profile, keychain, settings.database)
            self.database_poller = add_database_poller(self.registry, self.database, settings.database)
        self.admin: AdminRuntime | None = (
            AdminRuntime(self, settings.admin, replicas=replicas) if me.may_access(ADMIN_ROLES) else None
        )
        self.freshness = FreshnessWatch(self.registry.pollers())
        self._runs_heartbeat = heartbeat is None
        self.heartbeat = heartbeat or Heartbeat(settings.heartbeat_interval_s)
        self.gc_steward = GcSteward(settings.gc_freeze_every_s)
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
        if self._runs_heartbeat:
            self.tasks.run(self.heartbeat.run(), name="heartbeat")
        self.tasks.run(self.gc_steward.run(), name="gc-steward")
        self.freshness.start()
        self.registry.start()
        self.uptime.start(self.tasks)
        if self.reports is not None:
            self.reports.start(self.tasks)
        self.alerts.start(self.tasks)
        if self.incidents is not None:
            self.incidents.start(self.tasks)
        if self.admin is not None:
            self.admin.start(self.tasks)

    async def aclose(self) -> None:
        """Stop every runtime and close what they opened; safe to call twice, and before `start()`."""
        if self._closed:
            return
        self._closed = True
        self.freshness.close()
        stopped = [
            await _stop_within("pollers", self.registry.aclose),
            await _stop_within("session tasks", self.tasks.aclose),
            await _stop_within("alert runtime", self.alerts.aclose),
        ]
        if self.database is not None:
            stopped.append(await _stop_within("database monitor", self.database.aclose))
        if not all(stopped):
            log.error("session closed, but not every runtime stopped in time")
            return
        queue = " and the action queue" if self.admin is not None and self.admin.outbox is not None else ""
        log.info("session closed: pollers and tasks stopped; the alert history%s closed", queue)

    async def _fetch_me(self) -> Any:
        """`me` keeps the session alive and notices role changes."""
        body, _headers = await self.api.get_json("/auth/me")
        return body


async def _stop_within(what: str, stop: Callable[[], Awaitable[None]]) -> bool:
    """Await one stage of the shutdown for at most STOP_STAGE_S. A task that swallowed its cancellation keeps
    running and the stage would wait for it forever; past the limit the stage is cancelled (which cancels
    what it waits for once more), left behind, and the shutdown goes on: quitting must end the console."""
    stage = asyncio.ensure_future(stop())
    try:
        done, _ = await asyncio.wait({stage}, timeout=STOP_STAGE_S)
    except asyncio.CancelledError:
        stage.cancel()
        raise
    if done:
        stage.result()
        return True
    stage.cancel()
    current = asyncio.current_task()
    running = sorted(t.get_name() for t in asyncio.all_tasks() if t not in (current, stage) and not t.done())
    log.error(
        "shutdown: the %s did not stop within %.0f s (a cancellation swallowed?); running: %s",
        what,
        STOP_STAGE_S,
        ", ".join(running[:12]),
    )
    return False

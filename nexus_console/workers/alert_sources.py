"""The console's alert sources, registered for a session: one AlertQueue fed by

* the Nexus API (always): `GET /alerts` then the SSE stream (NexusAlertSource);
* Alertmanager (when the profile lists `alertmanager_urls`, every instance of an HA set):
  a poller named `alertmanager` whose snapshots go to the queue;
* Prometheus (when the profile has `prometheus_url`): a poller named `prometheus_alerts` for pending
  alerts (firing ones come through Alertmanager, or from here when no Alertmanager is configured);
* local rules (the packaged rules plus `alert-rules.toml` in the config dir) on the polled
  `api_health`, `db_health` and `sync_quality` documents of the Health sources.

Every source buffers into the queue (`submit` / `submit_snapshot`); the Alerts pane's model drains it on a
timer, so a burst of updates reaches the table as one batch. `AlertRuntime` also routes the triage actions
(acknowledge, resolve, silence) to the source that owns each alert.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from nexus_console.domain.alert_rules import Rule, RuleEvaluator, RuleFileError
from nexus_console.domain.alerts import Alert
from nexus_console.domain.freshness import SourceStatus
from nexus_console.services.alert_history import AlertHistory
from nexus_console.services.alert_sources import (
    DEFAULT_ACK_TIMEOUT_S,
    AlertQueue,
    LocalRuleSource,
    default_rules,
    load_rules_file,
)
from nexus_console.services.alertmanager import AlertmanagerClient, AlertmanagerSource
from nexus_console.services.nexus_alerts import NexusAlertSource
from nexus_console.services.polling import Poller
from nexus_console.services.profiles import config_dir, data_dir
from nexus_console.services.prometheus import PrometheusAlertSource, PrometheusClient

log = logging.getLogger(__name__)
T = TypeVar("T")

ALERTMANAGER_POLLER = "alertmanager"
PROMETHEUS_POLLER = "prometheus_alerts"
RULE_INPUTS = ("api_health", "db_health", "sync_quality")
HISTORY_FILE = "alert-history.sqlite3"
USER_RULES_FILE = "alert-rules.toml"


@dataclass(frozen=True, slots=True)
class AlertSourceSettings:
    ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S
    alertmanager_interval_s: float = 5.0
    prometheus_interval_s: float = 5.0
    request_timeout_s: float = 5.0
    queue_interval_s: float = 1.0  # expired acks raised again, history written
    rules_interval_s: float = 1.0  # local rules evaluated (no-data rules need a clock)
    nexus_poll_interval_s: float = 5.0  # only when the server has no stream
    history_path: Path | None = None  # default: the data dir
    rules_path: Path | None = None  # default: alert-rules.toml in the config dir, when it exists


class ActionNotSupported(Exception):
    """The alert's source has no such action (resolving an Alertmanager alert, say)."""


class AlertRuntime:
    """The queue and its sources for one session. `start()` runs them on the TaskRunner."""

    def __init__(self, ctx: Any, settings: AlertSourceSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or AlertSourceSettings()
        self.owner: str = ctx.me.email
        self.history = AlertHistory(self.settings.history_path or data_dir() / HISTORY_FILE)
        self.queue = AlertQueue(history=self.history)
        self.rule_problems: list[str] = []
        self.rules: list[Rule] = self._load_rules()
        self.evaluator = RuleEvaluator(self.rules, started_at=time.time())
        self.local = LocalRuleSource(self.evaluator, self.queue)
        self.queue.add_source(self.local)
        self.nexus = NexusAlertSource(
            ctx.api.http,
            self._access_token,
            self.queue.submit,
            base_url=ctx.api.base_url,
            poll_interval_s=self.settings.nexus_poll_interval_s,
        )
        self.queue.add_source(self.nexus)
        self.alertmanager: AlertmanagerSource | None = None
        self.prometheus: PrometheusAlertSource | None = None
        self._unsubscribers: list[Callable[[], None]] = []
        self._started = False
        self._last_token: str | None = None
        self._register_pollers()

    # ---- sources ---------------------------------------------------------------------------------

    async def _access_token(self) -> str:
        """The session's access token for the alert feed. The feed retries after an error; when its last
        error was a 401 for the token we handed out, refresh the session before handing out another."""
        auth = self.ctx.api.auth
        if auth is None:
            return ""
        token = auth.access_token
        rejected = " 401 " in (self.nexus.last_error or "") and token == self._last_token
        if (token is None or rejected) and await auth.recover(token):
            token = auth.access_token
        self._last_token = token
        return token or ""

    async def _with_fresh_token(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run a Nexus alert action; after a 401 (the access token expired), refresh once and retry."""
        try:
            return await action()
        except httpx.HTTPStatusError as exc:
            auth = self.ctx.api.auth
            if exc.response.status_code != 401 or auth is None:
                raise
            failed = exc.request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not await auth.recover(failed or None):
                raise
            return await action()

    def _load_rules(self) -> list[Rule]:
        rules = default_rules()
        path = self.settings.rules_path or config_dir() / USER_RULES_FILE
        if path.exists():
            try:
                user_rules = load_rules_file(path)
            except RuleFileError as exc:
                self.rule_problems = [f"{exc.origin}: {problem}" for problem in exc.problems]
                log.warning("alert rules file ignored: %s", exc)
            else:
                names = {rule.name for rule in user_rules}
                rules = [rule for rule in rules if rule.name not in names] + user_rules
        return rules

    def _register_pollers(self) -> None:
        profile, registry, http = self.ctx.profile, self.ctx.registry, self.ctx.http
        timeout = self.settings.request_timeout_s
        urls = list(profile.alertmanager_urls)
        if urls:
            instances = [
                AlertmanagerClient(f"am{index}" if len(urls) > 1 else "alertmanager", url, http)
                for index, url in enumerate(urls, start=1)
            ]
            self.alertmanager = AlertmanagerSource(instances)
            self.queue.add_source(self.alertmanager)
            source = self.alertmanager
            poller = registry.get_or_create(
                ALERTMANAGER_POLLER,
                lambda: Poller(
                    ALERTMANAGER_POLLER,
                    source.fetch,
                    self.settings.alertmanager_interval_s,
                    timeout_s=timeout,
                ),
            )
            self._follow(poller, source.name)
        if profile.prometheus_url:
            self.prometheus = PrometheusAlertSource(
                PrometheusClient(profile.prometheus_url, http), include_firing=not urls
            )
            self.queue.add_source(self.prometheus)
            prometheus = self.prometheus
            poller = registry.get_or_create(
                PROMETHEUS_POLLER,
                lambda: Poller(
                    PROMETHEUS_POLLER,
                    prometheus.fetch,
                    self.settings.prometheus_interval_s,
                    timeout_s=timeout,
                ),
            )
            self._follow(poller, prometheus.name)
        for name in RULE_INPUTS:
            poller = registry.get(name)
            if poller is not None:
                self._unsubscribers.append(self.local.follow_poller(poller, name))

    def _follow(self, poller: Poller[Any], source: str) -> None:
        """Buffer each new good snapshot of a list[Alert] poller into the queue."""
        last_seen: list[object] = [None]

        def on_status(status: SourceStatus[Any]) -> None:
            stamped = status.last_good
            if stamped is not None and stamped is not last_seen[0]:
                last_seen[0] = stamped
                self.queue.submit_snapshot(source, stamped.value)

        self._unsubscribers.append(poller.subscribe(on_status))

    def start(self) -> None:
        """Run the Nexus feed, the queue's ack/history loop and the rule clock as session tasks."""
        if self._started:
            return
        self._started = True
        tasks = self.ctx.tasks
        tasks.run(self.nexus.run(), name="alerts-nexus-feed")
        tasks.run(self._run_queue(), name="alerts-queue")
        tasks.run(self.local.run(self.settings.rules_interval_s), name="alerts-local-rules")

    async def _run_queue(self) -> None:
        """AlertQueue.run (raise expired acks, write history), then let go of the pollers and the history."""
        try:
            await self.queue.run(self.settings.queue_interval_s)
        finally:
            self.detach()
            await self.history.close()

    def detach(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    async def aclose(self) -> None:
        """For owners without a TaskRunner shutdown (tests): let go of pollers and close the history."""
        self.detach()
        if not self._started:
            await self.history.close()

    # ---- triage actions --------------------------------------------------------------------------

    async def acknowledge(self, alert: Alert, *, comment: str = "", timeout_s: float | None = None) -> None:
        await self._with_fresh_token(
            lambda: self.queue.acknowledge(
                alert,
                owner=self.owner,
                comment=comment,
                timeout_s=timeout_s if timeout_s is not None else self.settings.ack_timeout_s,
            )
        )

    async def unacknowledge(self, alert: Alert) -> None:
        await self.queue.unacknowledge(alert)

    async def resolve(self, alert: Alert, *, comment: str = "") -> None:
        """Nexus alerts resolve at the server; the others resolve when their condition clears."""
        if alert.source != self.nexus.name:
            raise ActionNotSupported(
                f"{alert.source} alerts resolve at their source when the condition clears;"
                " acknowledge or silence them instead"
            )
        await self._with_fresh_token(lambda: self.nexus.resolve(alert, comment=comment))

    async def silence(self, alert: Alert, *, duration_s: float, comment: str = "") -> None:
        """An Alertmanager silence; for sources without silences, an ack that lasts `duration_s`."""
        if alert.source == "alertmanager" and self.alertmanager is not None:
            await self.alertmanager.silence(
                alert, owner=self.owner, comment=comment or f"silenced by {self.owner}", duration_s=duration_s
            )
            poller = self.ctx.registry.get(ALERTMANAGER_POLLER)
            if poller is not None:
                poller.poke()
            return
        await self.acknowledge(alert, comment=comment or "silenced", timeout_s=duration_s)

    def refresh_after_action(self, alert: Alert) -> None:
        """Alertmanager shows an ack (a silence) at its next poll: poll now."""
        if alert.source == "alertmanager":
            poller = self.ctx.registry.get(ALERTMANAGER_POLLER)
            if poller is not None:
                poller.poke()


_RUNTIMES: weakref.WeakKeyDictionary[Any, AlertRuntime] = weakref.WeakKeyDictionary()


def register_alert_sources(ctx: Any, settings: AlertSourceSettings | None = None) -> AlertRuntime:
    """Create (once per session) the alert runtime and its pollers; the Alerts pane starts it."""
    runtime = _RUNTIMES.get(ctx.registry)
    if runtime is None:
        runtime = _RUNTIMES[ctx.registry] = AlertRuntime(ctx, settings)
    return runtime


def alert_runtime_for(ctx: Any) -> AlertRuntime:
    """The session's alert runtime (registered by register_alert_sources, else created now)."""
    return register_alert_sources(ctx)

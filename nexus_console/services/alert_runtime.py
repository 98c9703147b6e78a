"""The alert runtime of a session (created and started by the session): one AlertQueue fed by

* the Nexus API (always): `GET /alerts` then the SSE stream (NexusAlertSource);
* Alertmanager (when the profile lists `alertmanager_urls`, every instance of an HA set):
  a poller named `alertmanager` whose snapshots go to the queue;
* Prometheus (when the profile has `prometheus_url`): a poller named `prometheus_alerts` for pending
  alerts (firing ones come through Alertmanager, or from here when no Alertmanager is configured);
* local rules (the packaged rules plus `alert-rules.toml` in the config dir) on the polled
  `api_health`, `db_health` and `sync_quality` documents of the Health sources.

Every source buffers into the queue (`submit` / `submit_snapshot`); the runtime drains it on a short
timer, so a burst of updates reaches the watchers of `queue.changes` (the table model, the notifier) as one
batch. `AlertRuntime` also routes the triage actions (acknowledge, resolve, silence) to the source that
owns each alert; `triage` is the workflow the pane calls (`services.alert_triage`). It reads the pane's
settings (`alerts.toml`) once, keeping the problem of a broken file for the pane to show.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_console.domain.alert_actions import ActionNotSupported
from nexus_console.domain.alert_evaluator import RuleEvaluator
from nexus_console.domain.alert_rules import Rule, RuleFileError
from nexus_console.domain.alert_settings import AlertPaneSettings
from nexus_console.domain.alerts import Alert, AlertState, Transition
from nexus_console.domain.detection_rules import DetectionRule
from nexus_console.domain.freshness import SourceState, SourceStatus, stale_text
from nexus_console.services.alert_history import AlertHistory
from nexus_console.services.alert_settings import read_alert_settings
from nexus_console.services.alert_sources import (
    DEFAULT_ACK_TIMEOUT_S,
    AlertQueue,
    LocalRuleSource,
    default_detection_rules,
    default_rules,
    load_detection_rules_file,
    load_rules_file,
)
from nexus_console.services.alert_triage import AlertTriage
from nexus_console.services.alertmanager import AlertmanagerClient, AlertmanagerSource
from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AuthSession
from nexus_console.services.nexus_alerts import NexusAlertSource
from nexus_console.services.polling import Poller, PollerRegistry
from nexus_console.services.profiles import Profile, cache_dir, config_dir, data_dir
from nexus_console.services.prometheus import PrometheusAlertSource, PrometheusClient
from nexus_console.services.tasks import TaskRunner

log = logging.getLogger(__name__)

ALERTMANAGER_POLLER = "alertmanager"
PROMETHEUS_POLLER = "prometheus_alerts"
HISTORY_FILE = "alert-history.sqlite3"
USER_RULES_FILE = "alert-rules.toml"
SOUNDS_DIR = "sounds"


@dataclass(frozen=True, slots=True)
class AlertSourceSettings:
    ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S
    alertmanager_interval_s: float = 5.0
    prometheus_interval_s: float = 5.0
    request_timeout_s: float = 5.0
    queue_interval_s: float = 1.0  # expired acks raised again, history written
    drain_interval_s: float = 0.15  # buffered source updates applied to the queue as one batch
    rules_interval_s: float = 1.0  # local rules evaluated (no-data rules need a clock)
    nexus_poll_interval_s: float = 5.0  # only when the server has no stream
    history_path: Path | None = None  # default: the data dir
    rules_path: Path | None = None  # default: alert-rules.toml in the config dir, when it exists
    pane_settings_path: Path | None = None  # default: alerts.toml in the config dir, when it exists
    sounds_dir: Path | None = None  # the built-in notification tones; default: "sounds" in the cache dir


class AlertRuntime:
    """The queue and its sources for one session. `start(tasks)` runs them as session tasks."""

    def __init__(
        self,
        *,
        profile: Profile,
        api: NexusClient,
        estate_http: Any,
        registry: PollerRegistry,
        owner: str,
        rule_inputs: Mapping[str, Poller[Any]],
        settings: AlertSourceSettings | None = None,
    ) -> None:
        self.settings = settings or AlertSourceSettings()
        self.owner = owner
        self.registry = registry
        self.auth: AuthSession | None = api.auth
        self.history = AlertHistory(self.settings.history_path or data_dir() / HISTORY_FILE)
        self.queue = AlertQueue(history=self.history)
        self.rule_problems: list[str] = []
        self.rules: list[Rule] = self._load_rules()
        self.detection_rules: list[DetectionRule] = self._load_detection_rules()
        self.pane_settings: AlertPaneSettings
        self.pane_settings, self.settings_problem = read_alert_settings(self.settings.pane_settings_path)
        self.sounds_dir: Path = self.settings.sounds_dir or cache_dir() / SOUNDS_DIR
        self.evaluator = RuleEvaluator(self.rules, started_at=time.time())
        self.local = LocalRuleSource(self.evaluator, self.queue)
        self.queue.add_source(self.local)
        token = (
            self.auth.token_getter(lambda: " 401 " in (self.nexus.last_error or ""))
            if self.auth is not None
            else _no_token
        )
        self.nexus = NexusAlertSource(
            api.http,
            token,
            self.queue.submit,
            base_url=api.base_url,
            poll_interval_s=self.settings.nexus_poll_interval_s,
        )
        self.queue.add_source(self.nexus)
        self.alertmanager: AlertmanagerSource | None = None
        self.prometheus: PrometheusAlertSource | None = None
        self._unsubscribers: list[Callable[[], None]] = []
        self._started = False
        self._register_pollers(profile, estate_http)
        self.rule_inputs = dict(rule_inputs)
        for name, poller in rule_inputs.items():
            self._unsubscribers.append(self.local.follow_poller(poller, name))
        self.triage = AlertTriage(self)

    # ---- sources ---------------------------------------------------------------------------------

    async def _with_fresh_token(self, action: Callable[[], Any]) -> Any:
        """Run a Nexus alert action; after a 401 (the access token expired), recover once and retry."""
        if self.auth is None:
            return await action()
        return await self.auth.call_with_fresh_token(action)

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

    def _load_detection_rules(self) -> list[DetectionRule]:
        """The packaged [[detection]] rules, a user's of the same name replacing them (same file as the
        alert rules); a broken file is reported with the alert rules' problems and ignored."""
        rules = default_detection_rules()
        path = self.settings.rules_path or config_dir() / USER_RULES_FILE
        if path.exists():
            try:
                user_rules = load_detection_rules_file(path)
            except RuleFileError as exc:
                self.rule_problems += [f"{exc.origin}: {problem}" for problem in exc.problems]
            else:
                names = {rule.name for rule in user_rules}
                rules = [rule for rule in rules if rule.name not in names] + user_rules
        return rules

    def _register_pollers(self, profile: Profile, http: Any) -> None:
        urls = list(profile.alertmanager_urls)
        if urls:
            instances = [
                AlertmanagerClient(f"am{index}" if len(urls) > 1 else "alertmanager", url, http)
                for index, url in enumerate(urls, start=1)
            ]
            self.alertmanager = AlertmanagerSource(instances)
            self._poll_source(ALERTMANAGER_POLLER, self.alertmanager, self.settings.alertmanager_interval_s)
        if profile.prometheus_url:
            self.prometheus = PrometheusAlertSource(
                PrometheusClient(profile.prometheus_url, http), include_firing=not urls
            )
            self._poll_source(PROMETHEUS_POLLER, self.prometheus, self.settings.prometheus_interval_s)

    def _poll_source(self, poller_name: str, source: Any, interval_s: float) -> None:
        """Route acks of `source`'s alerts to it, poll its `fetch` and buffer each snapshot into the queue."""
        self.queue.add_source(source)
        poller = self.registry.add(
            Poller(poller_name, source.fetch, interval_s, timeout_s=self.settings.request_timeout_s)
        )
        self._follow(poller, source.name)

    def source_pollers(self) -> dict[str, Poller[Any]]:
        """The polled alert sources by source name (alertmanager, prometheus), when configured."""
        pollers = {}
        for source, name in ((self.alertmanager, ALERTMANAGER_POLLER), (self.prometheus, PROMETHEUS_POLLER)):
            poller = self.registry.get(name)
            if source is not None and poller is not None:
                pollers[source.name] = poller
        return pollers

    def _follow(self, poller: Poller[Any], source: str) -> None:
        """Buffer each new good snapshot of a list[Alert] poller into the queue."""
        last_seen: list[object] = [None]

        def on_status(status: SourceStatus[Any]) -> None:
            stamped = status.last_good
            if stamped is not None and stamped is not last_seen[0]:
                last_seen[0] = stamped
                self.queue.submit_snapshot(source, stamped.value)

        self._unsubscribers.append(poller.subscribe(on_status))

    def start(self, tasks: TaskRunner) -> None:
        """Run the Nexus feed, the queue's drain and ack/history loops and the rule clock as session tasks."""
        if self._started:
            return
        self._started = True
        tasks.run(self.nexus.run(), name="alerts-nexus-feed")
        tasks.run(self._run_queue(), name="alerts-queue")
        tasks.run(self._drain_queue(), name="alerts-drain")
        tasks.run(self.local.run(self.settings.rules_interval_s), name="alerts-local-rules")

    async def _drain_queue(self) -> None:
        """Apply what the sources buffered, one batch per drain interval (while anything was buffered)."""
        while True:
            await asyncio.sleep(self.settings.drain_interval_s)
            self.queue.drain()

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
        """A Nexus alert is silenced at the server (`POST /alerts/{id}/silence`: state silenced, audited as
        alert.silence); an Alertmanager alert gets a silence; for sources without silences, an ack that
        lasts `duration_s`."""
        if alert.source == self.nexus.name:
            await self._with_fresh_token(
                lambda: self.nexus.silence(alert, duration_s=duration_s, comment=comment)
            )
            return
        if alert.source == "alertmanager" and self.alertmanager is not None:
            await self.alertmanager.silence(
                alert, owner=self.owner, comment=comment or f"silenced by {self.owner}", duration_s=duration_s
            )
            self._poke_alertmanager()
            return
        await self.acknowledge(alert, comment=comment or "silenced", timeout_s=duration_s)

    async def unsilence(self, alert: Alert) -> None:
        """End a silence now: at the Nexus server, or by expiring the Alertmanager silences."""
        if alert.source == self.nexus.name:
            await self._with_fresh_token(lambda: self.nexus.unsilence(alert))
        elif alert.source == "alertmanager" and self.alertmanager is not None:
            await self.alertmanager.expire_silences(alert.silenced_by)
            self._poke_alertmanager()
        else:
            raise ActionNotSupported(f"{alert.source} alerts have no silences")

    def _poke_alertmanager(self) -> None:
        poller = self.registry.get(ALERTMANAGER_POLLER)
        if poller is not None:
            poller.poke()

    # ---- what the pane shows ---------------------------------------------------------------------

    def failing_sources(self, now: float) -> tuple[list[str], frozenset[str]]:
        """A line per failing source (the Nexus feed when not streaming, a poller in error) and the
        sources whose alerts are therefore the last known picture."""
        problems, stale = [], set()
        nexus = self.nexus
        if nexus.last_error and nexus.mode.value != "streaming":
            problems.append(f"Nexus alerts: {nexus.mode.value} — {nexus.last_error}")
            stale.add(nexus.name)
        for source, poller in self.source_pollers().items():
            status = poller.status
            if status.state is SourceState.ERROR:
                problems.append(f"{poller.name}: {stale_text(status, now) or status.error}")
                stale.add(source)
        # Local rules judge the polled documents: while one fails, their alerts are the last known picture.
        failing_inputs = [n for n, p in self.rule_inputs.items() if p.status.state is SourceState.ERROR]
        if failing_inputs:
            problems.append(f"Local rules: their inputs are failing ({', '.join(failing_inputs)})")
            stale.add(self.local.name)
        return problems, frozenset(stale)

    async def transitions_of(self, key: str) -> list[Transition]:
        """Every recorded transition of one alert (what the queue holds unwritten is written first)."""
        await self.queue.flush_history()
        return await self.history.transitions_of(key)

    async def search_history(self, text: str, *, resolved_only: bool, limit: int = 500) -> list[Transition]:
        """Transitions matching `text` (only those to resolved when `resolved_only`), newest first."""
        await self.queue.flush_history()
        states = [AlertState.RESOLVED] if resolved_only else []
        return await self.history.search(text, states=states, limit=limit)

    async def transitions_between(
        self, since: float, until: float, limit: int, services: Collection[str], alert_keys: Collection[str]
    ) -> list[Transition]:
        """An incident's alert changes, oldest first (`AlertHistory.between`; what the queue holds unwritten
        is written first)."""
        await self.queue.flush_history()
        return await self.history.between(since, until, limit, services=services, alert_keys=alert_keys)

    def refresh_after_action(self, alert: Alert) -> None:
        """Alertmanager shows an ack (a silence) at its next poll: poll now."""
        if alert.source == "alertmanager":
            self._poke_alertmanager()


async def _no_token() -> str:
    return ""

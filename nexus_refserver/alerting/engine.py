"""The alert engine: evaluates the rules on simulated time and reports state changes to a sink."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nexus_refserver.alerting.observation import AlertObservation, AlertSink
from nexus_refserver.alerting.rules import RULES, Rule, Target

if TYPE_CHECKING:
    from nexus_refserver.telemetry.estate import Estate

log = logging.getLogger(__name__)


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    """Stable across evaluations and server restarts: a hash of the rule name and the labels."""
    return _fingerprint(rule, tuple(sorted(labels.items())))


@functools.lru_cache(maxsize=4096)
def _fingerprint(rule: str, labels: tuple[tuple[str, str], ...]) -> str:
    text = json.dumps({"rule": rule, "labels": dict(labels)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(slots=True)
class _Tracked:
    state: str  # pending | firing
    since: float  # simulated epoch s when the condition started holding
    severity: str


class AlertEngine:
    """Every `interval_s` real seconds, checks each rule against the estate at the estate clock's time.

    A condition that holds becomes `pending`, then `firing` once it has held for the rule's duration in
    simulated time (at once when that is zero); when it stops holding the alert is `resolved`. The sink
    sees only changes: a new state, or a firing alert whose severity changed.
    """

    def __init__(
        self,
        estate: Estate,
        sink: AlertSink,
        interval_s: float = 1.0,
        rules: tuple[Rule, ...] = RULES,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.estate = estate
        # observations are stamped on the wall clock (what a client compares them with); rule durations
        # are measured on the estate's simulated clock
        self.wall_clock = wall_clock
        self.sink = sink
        self.interval_s = interval_s
        self.rules = rules
        self._tracked: dict[str, _Tracked] = {}
        self._task: asyncio.Task[None] | None = None

    def active(self) -> dict[str, str]:
        """fingerprint -> state of every pending or firing alert."""
        return {key: tracked.state for key, tracked in self._tracked.items()}

    def evaluate(self, now: float | None = None) -> list[AlertObservation]:
        """One evaluation round; returns (and reports) the observations it made."""
        moment = self.estate.clock.now() if now is None else now
        stamp = datetime.fromtimestamp(self.wall_clock(), UTC)
        observations: list[AlertObservation] = []
        for rule in self.rules:
            for target in rule.targets(self.estate):
                obs = self._step(rule, target, moment, stamp)
                if obs is not None:
                    observations.append(obs)
        for obs in observations:
            try:
                self.sink.observe(obs)
            except Exception:  # a failing sink must not stop the alerting of everything else
                log.exception("alert sink failed on %s %s", obs.rule, obs.state)
        return observations

    def _step(self, rule: Rule, target: Target, now: float, stamp: datetime) -> AlertObservation | None:
        key = fingerprint(rule.name, target.labels)
        tracked = self._tracked.get(key)
        if not rule.holds(target.value):
            if tracked is None:
                return None
            del self._tracked[key]
            return self._observation(key, rule, target, "resolved", tracked.severity, stamp)
        severity = rule.severity_for(target.value)
        if tracked is None:
            state = "firing" if rule.for_s <= 0 else "pending"
            self._tracked[key] = _Tracked(state, now, severity)
            return self._observation(key, rule, target, state, severity, stamp)
        if tracked.state == "pending" and now - tracked.since >= rule.for_s:
            tracked.state, tracked.severity = "firing", severity
            return self._observation(key, rule, target, "firing", severity, stamp)
        if tracked.state == "firing" and severity != tracked.severity:
            tracked.severity = severity
            return self._observation(key, rule, target, "firing", severity, stamp)
        return None

    @staticmethod
    def _observation(
        key: str, rule: Rule, target: Target, state: str, severity: str, stamp: datetime
    ) -> AlertObservation:
        return AlertObservation(
            fingerprint=key,
            rule=rule.name,
            severity=severity,
            state=state,
            service=target.service,
            namespace=target.namespace,
            labels=dict(target.labels),
            summary=rule.summary(target),
            description=rule.description(target),
            runbook_url=rule.runbook_url,
            value=round(float(target.value), 4),
            threshold=rule.threshold,
            at=stamp,
        )

    async def _run(self) -> None:
        while True:
            try:
                self.evaluate()
            except Exception:
                log.exception("alert evaluation failed")
            await asyncio.sleep(self.interval_s)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alert-engine")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

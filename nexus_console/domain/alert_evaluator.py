"""RuleEvaluator: local alert rules run over the numeric samples of the payloads the console polls."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from nexus_console.domain.alert_links import CONDITION_LABEL
from nexus_console.domain.alert_rules import LOCAL_SOURCE, OPS, Rule
from nexus_console.domain.alerts import Alert, AlertState, label_fingerprint

LABEL_KEYS_FROM_LISTS = ("name", "service", "database", "endpoint")


def numeric_samples(source: str, payload: Mapping[str, Any]) -> list[tuple[str, dict[str, str], float]]:
    """(series, labels, value) for every number in a polled JSON payload.

    Nested objects extend the name with dots (`api_health.latency_ms.p95`); a list of objects is one
    series per item, labelled by the item's name / service / database / endpoint strings.
    """
    samples: list[tuple[str, dict[str, str], float]] = []

    def walk(prefix: str, value: Any, labels: dict[str, str]) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            if math.isfinite(value):
                samples.append((prefix, labels, float(value)))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item, labels)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    item_labels = dict(labels)
                    item_labels.update(
                        {k: item[k] for k in LABEL_KEYS_FROM_LISTS if isinstance(item.get(k), str)}
                    )
                    walk(prefix, {k: v for k, v in item.items() if k not in item_labels}, item_labels)

    walk(source, payload, {})
    return samples


class _Hold:
    """`for` / `keep_firing_for` bookkeeping for one condition on one series."""

    __slots__ = ("active_since", "firing_since", "last_true_at")

    def __init__(self) -> None:
        self.active_since: float | None = None
        self.last_true_at: float | None = None
        self.firing_since: float | None = None

    def observe(self, condition: bool, at: float) -> None:
        if condition:
            if self.active_since is None:
                self.active_since = at
            self.last_true_at = at
        else:
            self.active_since = None

    def state(self, rule: Rule, now: float) -> AlertState | None:
        if self.active_since is not None and now - self.active_since >= rule.for_s:
            if self.firing_since is None:
                self.firing_since = self.active_since + rule.for_s
            return AlertState.FIRING
        if (
            self.firing_since is not None
            and self.last_true_at is not None
            and now - self.last_true_at < rule.keep_firing_for_s
        ):
            return AlertState.FIRING
        self.firing_since = None
        return AlertState.PENDING if self.active_since is not None else None

    def started_at(self, rule: Rule) -> float | None:
        """When this episode began: it outlives the condition while the alert keeps firing."""
        if self.firing_since is not None:
            return self.firing_since - rule.for_s
        return self.active_since


class _SeriesState:
    __slots__ = ("count", "hold", "last_at", "last_value", "mean", "recent", "var", "z")

    def __init__(self, window: int) -> None:
        self.hold = _Hold()
        self.last_value: float | None = None
        self.last_at: float | None = None
        self.count = 0
        self.mean = 0.0
        self.var = 0.0
        self.recent: deque[float] = deque(maxlen=window)
        self.z: float | None = None


class RuleEvaluator:
    """Feeds samples to rules; `evaluate(now)` returns the local alerts (pending and firing)."""

    def __init__(self, rules: Iterable[Rule], started_at: float) -> None:
        self.rules = list(rules)
        self.started_at = started_at
        self._states: dict[tuple[str, tuple[tuple[str, str], ...]], _SeriesState] = {}

    def observe(self, series: str, labels: Mapping[str, str], at: float, value: float) -> None:
        label_items = tuple(sorted(labels.items()))
        for rule in self.rules:
            if not rule.selects(series, labels):
                continue
            state = self._states.get((rule.name, label_items))
            if state is None:
                state = self._states[(rule.name, label_items)] = _SeriesState(rule.window)
            if rule.kind == "threshold":
                state.hold.observe(OPS[rule.op](value, rule.threshold), at)
            elif rule.kind == "anomaly":
                state.hold.observe(_anomalous(rule, state, value), at)
            state.last_value, state.last_at = value, at

    def observe_payload(self, source: str, payload: Mapping[str, Any], at: float) -> None:
        for series, labels, value in numeric_samples(source, payload):
            self.observe(series, labels, at, value)

    def evaluate(self, now: float) -> list[Alert]:
        alerts = []
        for rule in self.rules:
            instances = [
                (dict(label_items), state)
                for (name, label_items), state in self._states.items()
                if name == rule.name
            ]
            if rule.kind == "no_data":
                alerts.extend(self._no_data(rule, instances, now))
                continue
            for labels, state in instances:
                alert_state = state.hold.state(rule, now)
                if alert_state is not None:
                    alerts.append(_alert(rule, labels, alert_state, state, state.hold.started_at(rule)))
        return alerts

    def _no_data(
        self, rule: Rule, instances: list[tuple[dict[str, str], _SeriesState]], now: float
    ) -> list[Alert]:
        if not instances:
            silent_since = self.started_at
            if now - silent_since >= rule.for_s:
                return [_alert(rule, dict(rule.match), AlertState.FIRING, None, silent_since)]
            return []
        alerts = []
        for labels, state in instances:
            silent_since = state.last_at if state.last_at is not None else self.started_at
            if now - silent_since >= rule.for_s:
                alerts.append(_alert(rule, labels, AlertState.FIRING, state, silent_since))
        return alerts


def _anomalous(rule: Rule, state: _SeriesState, value: float) -> bool:
    """Score `value` against the history before it, then add it to the history."""
    if rule.method == "ewma":
        mean, std = state.mean, math.sqrt(state.var)
        if state.count == 0:
            state.mean = value
        else:
            delta = value - state.mean
            state.mean += rule.alpha * delta
            state.var = (1 - rule.alpha) * (state.var + rule.alpha * delta * delta)
    else:
        history = state.recent
        mean = sum(history) / len(history) if history else value
        std = math.sqrt(sum((x - mean) ** 2 for x in history) / len(history)) if history else 0.0
        history.append(value)
    enough = state.count >= rule.min_samples
    state.count += 1
    if not enough:
        state.z = None
        return False
    if std == 0.0:
        z = 0.0 if value == mean else math.copysign(math.inf, value - mean)
    else:
        z = (value - mean) / std
    state.z = z
    if rule.direction == "up":
        return z >= rule.z
    if rule.direction == "down":
        return z <= -rule.z
    return abs(z) >= rule.z


def _alert(
    rule: Rule, labels: Mapping[str, str], state: AlertState, series: _SeriesState | None, since: float | None
) -> Alert:
    alert_labels = {**labels, "alertname": rule.name, "severity": rule.severity.value, "series": rule.series}
    if rule.condition:
        alert_labels[CONDITION_LABEL] = rule.condition
    value = series.last_value if series is not None else None
    summary = rule.summary or _default_summary(rule, value, series)
    return Alert(
        fingerprint=label_fingerprint(alert_labels),
        source=LOCAL_SOURCE,
        name=rule.name,
        severity=rule.severity,
        state=state,
        service=labels.get("service", ""),
        namespace=labels.get("namespace", ""),
        labels=alert_labels,
        summary=summary.replace("{value}", _fmt(value)).replace("{threshold}", _fmt(rule.threshold)),
        description=rule.description,
        runbook=rule.runbook,
        starts_at=since,
        pending_for_s=rule.for_s if state is AlertState.PENDING else None,
        value=value,
        threshold=rule.threshold if rule.kind == "threshold" else None,
    )


def _default_summary(rule: Rule, value: float | None, series: _SeriesState | None) -> str:
    if rule.kind == "threshold":
        return f"{rule.series} = {{value}} {rule.op} {{threshold}}"
    if rule.kind == "no_data":
        return f"no data for {rule.series}"
    z = series.z if series is not None else None
    return f"{rule.series} = {{value}} is anomalous (z = {_fmt(z)})"


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"

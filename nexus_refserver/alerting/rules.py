"""The alert rules: seed 000's Nexus thresholds and seed 002's scaling triggers.

Each rule looks at every target it applies to (a service or a database) and gives the current value;
the condition holds when the value is above the threshold. The engine turns that into pending / firing /
resolved with the rule's "for" duration.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nexus_refserver.telemetry.estate import Estate

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class Target:
    service: str
    namespace: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    severity: str
    threshold: float
    for_s: float
    runbook_url: str
    unit: str  # how the value reads: "ms", "%", "s"
    what: str  # "p95 latency", "5xx error rate", ...
    targets: Callable[[Estate], Iterator[Target]]
    escalation: tuple[float, str] | None = None  # above this value the severity becomes this one

    def severity_for(self, value: float) -> str:
        if self.escalation is not None and value > self.escalation[0]:
            return self.escalation[1]
        return self.severity

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and value > self.threshold

    def format_value(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:.1f} %"
        if self.unit == "ms":
            return f"{value:.0f} ms"
        return f"{value:.1f} {self.unit}".rstrip()

    def summary(self, target: Target) -> str:
        value, threshold = self.format_value(target.value), self.format_value(self.threshold)
        return f"{target.service}: {self.what} {value} > {threshold}"

    def description(self, target: Target) -> str:
        held = f"for {self.for_s / MINUTE:g} min" if self.for_s else "now"
        return (
            f"{self.what.capitalize()} of {target.service} ({target.namespace}) is "
            f"{self.format_value(target.value)}, above the {self.format_value(self.threshold)} "
            f"threshold {held}. "
            f"Rule {self.name}; see {self.runbook_url}."
        )


def _service_targets(measure: Callable[[object], float]) -> Callable[[Estate], Iterator[Target]]:
    def targets(estate: Estate) -> Iterator[Target]:
        for sim in estate.sims.values():
            spec = sim.spec
            labels = {"service": spec.name, "namespace": spec.namespace, "tier": str(spec.tier)}
            yield Target(spec.name, spec.namespace, labels, measure(sim))

    return targets


def _sync_targets(estate: Estate) -> Iterator[Target]:
    for sim in estate.sims.values():
        if sim.spec.sync_detection:
            spec = sim.spec
            labels = {"service": spec.name, "namespace": spec.namespace, "tier": str(spec.tier)}
            yield Target(spec.name, spec.namespace, labels, 1.0 - sim.sync_detection_rate)


def _database_targets(role: str, measure: Callable[[object], float]) -> Callable[[Estate], Iterator[Target]]:
    def targets(estate: Estate) -> Iterator[Target]:
        for db in estate.databases.values():
            name = db.name if role == "primary" else f"{db.name}-replica"
            labels = {
                "service": f"postgres-{name}",
                "namespace": "nexus-data",
                "database": db.name,
                "role": role,
            }
            yield Target(f"postgres-{name}", "nexus-data", labels, measure(db))

    return targets


def _p95(sim: object) -> float:
    return sim.window.p95_ms  # type: ignore[attr-defined]


def _error_rate(sim: object) -> float:
    return sim.window.error_rate if sim.window.requests else math.nan  # type: ignore[attr-defined]


def _cpu(sim: object) -> float:
    return sim.cpu_pct  # type: ignore[attr-defined]


def _memory(sim: object) -> float:
    return sim.memory_pct  # type: ignore[attr-defined]


def _down(sim: object) -> float:
    return 1.0 if sim.down else 0.0  # type: ignore[attr-defined]


RULES: tuple[Rule, ...] = (
    # seed 000: Nexus alerting on degradation
    Rule("ApiLatencyP95High", "high", 500.0, 5 * MINUTE, "runbook://performance", "ms", "p95 latency",
         _service_targets(_p95), escalation=(1000.0, "critical")),
    Rule("ApiErrorRateHigh", "critical", 0.05, 2 * MINUTE, "runbook://rollback", "%", "5xx error rate",
         _service_targets(_error_rate)),
    Rule("ServiceDown", "critical", 0.5, 30.0, "runbook://failover", "", "down",
         _service_targets(_down)),
    Rule("DatabaseCpuHigh", "high", 90.0, 10 * MINUTE, "runbook://performance", "% CPU", "database CPU",
         _database_targets("primary", lambda db: db.cpu_pct)),  # type: ignore[attr-defined]
    Rule("ReplicationLagHigh", "high", 10.0, 0.0, "runbook://failover", "s", "replication lag",
         _database_targets("replica", lambda db: db.replication_lag_s)),  # type: ignore[attr-defined]
    Rule("SyncDetectionFailureHigh", "high", 0.15, 0.0, "runbook://monitoring", "%", "sync detection failure",
         _sync_targets),
    # seed 002: scaling triggers
    Rule("ScaleOutCpu", "medium", 70.0, 5 * MINUTE, "runbook://performance", "% CPU", "CPU use",
         _service_targets(_cpu)),
    Rule("ScaleOutMemory", "medium", 80.0, 5 * MINUTE, "runbook://performance", "% memory", "memory use",
         _service_targets(_memory)),
    Rule("ScaleOutLatency", "medium", 500.0, 2 * MINUTE, "runbook://performance", "ms", "p95 latency",
         _service_targets(_p95)),
    Rule("ScaleOutErrorRate", "medium", 0.01, 1 * MINUTE, "runbook://daily-ops", "%", "5xx error rate",
         _service_targets(_error_rate)),
)  # fmt: skip

RULES_BY_NAME = {rule.name: rule for rule in RULES}

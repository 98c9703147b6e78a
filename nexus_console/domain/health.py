"""Probes and their results: one HTTP answer classified, a sweep of them, per-service states, the summary."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Probe(StrEnum):
    HEALTH = "health"
    LIVE = "live"
    READY = "ready"
    METRICS = "metrics"


PROBES: tuple[Probe, ...] = (Probe.HEALTH, Probe.LIVE, Probe.READY, Probe.METRICS)


class ProbeOutcome(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    TIMEOUT = "timeout"
    ERROR = "error"  # refused, reset, garbage body, unexpected status: the detail says which


# Short cell labels: a cell always carries text, never colour alone.
OUTCOME_LABELS = {
    ProbeOutcome.UP: "UP",
    ProbeOutcome.DEGRADED: "DEGR",
    ProbeOutcome.DOWN: "DOWN",
    ProbeOutcome.TIMEOUT: "TIMEOUT",
    ProbeOutcome.ERROR: "ERR",
}


STALE_AFTER_INTERVALS = 3  # a probe answer older than this many poll intervals is stale


class ServiceState(StrEnum):
    """One service's overall state for the summary line."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The health JSON of one service."""

    status: str
    service: str
    version: str
    uptime_s: float | None
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Any) -> HealthReport:
        if not isinstance(body, Mapping) or "status" not in body:
            raise ValueError("health body is not an object with a 'status'")
        checks = body.get("checks") or {}
        if not isinstance(checks, Mapping):
            raise ValueError("health 'checks' is not an object")
        uptime = body.get("uptime_s")
        return cls(
            status=str(body["status"]),
            service=str(body.get("service") or ""),
            version=str(body.get("version") or ""),
            uptime_s=float(uptime) if uptime is not None else None,
            checks={
                str(k): dict(v) if isinstance(v, Mapping) else {"status": str(v)} for k, v in checks.items()
            },
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "service": self.service,
            "version": self.version,
            "uptime_s": self.uptime_s,
            "checks": {k: dict(v) for k, v in self.checks.items()},
        }


@dataclass(frozen=True, slots=True)
class ProbeResult:
    service: str
    probe: Probe
    outcome: ProbeOutcome
    checked_at: float  # epoch s when the response (or the failure) arrived
    latency_ms: float | None
    http_status: int | None = None
    detail: str = ""  # the exact reason for anything but UP: "timeout after 2.0 s", "HTTP 500", ...
    report: HealthReport | None = None  # parsed health JSON, for the health probe

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "probe": self.probe.value,
            "outcome": self.outcome.value,
            "checked_at": self.checked_at,
            "latency_ms": self.latency_ms,
            "http_status": self.http_status,
            "detail": self.detail,
            "report": self.report.to_json() if self.report else None,
        }

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ProbeResult:
        report = item.get("report")
        return cls(
            service=str(item["service"]),
            probe=Probe(item["probe"]),
            outcome=ProbeOutcome(item["outcome"]),
            checked_at=float(item["checked_at"]),
            latency_ms=item.get("latency_ms"),
            http_status=item.get("http_status"),
            detail=str(item.get("detail") or ""),
            report=HealthReport.from_json(report) if report else None,
        )


def classify_probe_response(
    service: str,
    probe: Probe,
    http_status: int,
    content_type: str,
    body: bytes,
    checked_at: float,
    latency_ms: float,
) -> ProbeResult:
    """Turn one HTTP response into a probe result with a specific reason for anything but UP."""

    def result(outcome: ProbeOutcome, detail: str = "", report: HealthReport | None = None) -> ProbeResult:
        return ProbeResult(service, probe, outcome, checked_at, latency_ms, http_status, detail, report)

    if probe is Probe.HEALTH:
        if http_status not in (200, 503):
            return result(ProbeOutcome.ERROR, f"HTTP {http_status}")
        try:
            report = HealthReport.from_json(json.loads(body))
        except ValueError as exc:
            return result(ProbeOutcome.ERROR, f"invalid health JSON (HTTP {http_status}): {_short(str(exc))}")
        status = report.status.lower()
        if status == "up" and http_status == 200:
            return result(ProbeOutcome.UP, report=report)
        if status == "degraded":
            failing = [name for name, check in report.checks.items() if check.get("status") != "up"]
            detail = "degraded: " + ", ".join(failing) if failing else "degraded"
            return result(ProbeOutcome.DEGRADED, detail, report)
        if status == "down" or http_status == 503:
            return result(ProbeOutcome.DOWN, f"reports {status} (HTTP {http_status})", report)
        return result(ProbeOutcome.ERROR, f"unknown health status {report.status!r}", report)

    if http_status == 503:
        return result(ProbeOutcome.DOWN, "HTTP 503")
    if not 200 <= http_status < 300:
        return result(ProbeOutcome.ERROR, f"HTTP {http_status}")
    if probe is Probe.METRICS:
        if not content_type.startswith("text/plain") and not content_type.startswith(
            "application/openmetrics"
        ):
            return result(ProbeOutcome.ERROR, f"unexpected content type {content_type or 'none'!r}")
        if not body.lstrip().startswith((b"#", b"http_", b"process_")) and body.strip():
            return result(ProbeOutcome.ERROR, "body is not Prometheus text")
    return result(ProbeOutcome.UP)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class ProbeSweep:
    """All probe results of one fan-out round."""

    started_at: float
    finished_at: float
    results: tuple[ProbeResult, ...]

    def by_cell(self) -> dict[tuple[str, Probe], ProbeResult]:
        return {(r.service, r.probe): r for r in self.results}

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": [r.to_json() for r in self.results],
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ProbeSweep:
        return cls(
            float(body["started_at"]),
            float(body["finished_at"]),
            tuple(ProbeResult.from_json(r) for r in body["results"]),
        )


def service_state(results: Iterable[ProbeResult], now: float, stale_after_s: float) -> ServiceState:
    """Worst of a service's probes; STALE when no probe is known or the newest answer is too old."""
    results = list(results)
    if not results or now - max(r.checked_at for r in results) > stale_after_s:
        return ServiceState.STALE
    outcomes = {r.outcome for r in results}
    if outcomes & {ProbeOutcome.DOWN, ProbeOutcome.TIMEOUT, ProbeOutcome.ERROR}:
        return ServiceState.DOWN
    if ProbeOutcome.DEGRADED in outcomes:
        return ServiceState.DEGRADED
    return ServiceState.UP


@dataclass(frozen=True, slots=True)
class HealthSummary:
    up: int = 0
    degraded: int = 0
    down: int = 0
    stale: int = 0

    @property
    def total(self) -> int:
        return self.up + self.degraded + self.down + self.stale

    def text(self) -> str:
        return f"{self.up} up · {self.degraded} degraded · {self.down} down · {self.stale} stale"


def summarize(
    services: Sequence[str], sweep: ProbeSweep | None, now: float, stale_after_s: float
) -> HealthSummary:
    """Count services by overall state; a service with no results (or only old ones) counts as stale."""
    by_service: dict[str, list[ProbeResult]] = {name: [] for name in services}
    if sweep is not None:
        for r in sweep.results:
            if r.service in by_service:
                by_service[r.service].append(r)
    counts = {state: 0 for state in ServiceState}
    for results in by_service.values():
        counts[service_state(results, now, stale_after_s)] += 1
    return HealthSummary(
        counts[ServiceState.UP],
        counts[ServiceState.DEGRADED],
        counts[ServiceState.DOWN],
        counts[ServiceState.STALE],
    )

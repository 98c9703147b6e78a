"""Faults injected into the estate: by a scenario file or through the fault-control endpoint.

A fault has a scope (a service name, `*` for every service, `api` for the Nexus API routes, or
`db:<database>` for a database), a kind, an optional value, and a window in simulated time.
HTTP kinds change how endpoints answer; the simulation kinds change the simulated metrics; latency,
error rate, down and flapping do both.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from nexus_refserver.clock import SimClock
from nexus_refserver.telemetry.catalog import CATALOG_BY_NAME, DATABASES

ALL_SERVICES = "*"
API_SCOPE = "api"
DB_SCOPE_PREFIX = "db:"


class FaultKind(StrEnum):
    LATENCY_MS = "latency_ms"  # value: extra milliseconds per request
    ERROR_RATE = "error_rate"  # value: fraction 0..1 of requests answered with a 5xx
    DOWN = "down"
    FLAPPING_S = "flapping_s"  # value: period in simulated seconds, down for the first half of each period
    SLOW_BODY_S = "slow_body_s"  # value: real seconds over which the body is dribbled out
    GARBAGE_BODY = "garbage_body"
    TRUNCATED_BODY = "truncated_body"
    WRONG_CONTENT_TYPE = "wrong_content_type"
    HANG = "hang"
    # simulation-only kinds, for scenarios that need symptoms the HTTP kinds cannot cause
    CPU_PCT = "cpu_pct"  # value: CPU percent of a service or a database
    MEMORY_PCT = "memory_pct"  # value: percent of the memory limit
    REPLICATION_LAG_S = "replication_lag_s"  # value: seconds, scope db:<database>
    DETECTION_FAILURE_RATE = "detection_failure_rate"  # value: fraction 0..1, sync services


ALIASES = {"flapping": FaultKind.FLAPPING_S, "slow_body": FaultKind.SLOW_BODY_S}

# kind -> (needs a value, minimum, maximum)
VALUE_RULES: dict[FaultKind, tuple[bool, float, float]] = {
    FaultKind.LATENCY_MS: (True, 0.0, 600_000.0),
    FaultKind.ERROR_RATE: (True, 0.0, 1.0),
    FaultKind.DOWN: (False, 0.0, 0.0),
    FaultKind.FLAPPING_S: (True, 0.001, 86_400.0),
    FaultKind.SLOW_BODY_S: (True, 0.0, 600.0),
    FaultKind.GARBAGE_BODY: (False, 0.0, 0.0),
    FaultKind.TRUNCATED_BODY: (False, 0.0, 0.0),
    FaultKind.WRONG_CONTENT_TYPE: (False, 0.0, 0.0),
    FaultKind.HANG: (False, 0.0, 0.0),
    FaultKind.CPU_PCT: (True, 0.0, 100.0),
    FaultKind.MEMORY_PCT: (True, 0.0, 100.0),
    FaultKind.REPLICATION_LAG_S: (True, 0.0, 86_400.0),
    FaultKind.DETECTION_FAILURE_RATE: (True, 0.0, 1.0),
}

DB_KINDS = frozenset({FaultKind.REPLICATION_LAG_S, FaultKind.CPU_PCT, FaultKind.DOWN})


class FaultError(ValueError):
    """A fault description that cannot be applied; the message says why."""


@dataclass(frozen=True, slots=True)
class Fault:
    id: str
    scope: str
    kind: FaultKind
    value: float | None
    starts_at: float  # simulated epoch s
    ends_at: float | None  # simulated epoch s; None = until removed
    source: str = "control"

    def is_active(self, now: float) -> bool:
        return self.starts_at <= now and (self.ends_at is None or now < self.ends_at)

    def applies_to(self, scope: str) -> bool:
        if self.scope == scope:
            return True
        # `*` is every service of the estate (generated ones too), never the API or a database
        return self.scope == ALL_SERVICES and scope != API_SCOPE and not scope.startswith(DB_SCOPE_PREFIX)

    def to_dict(self, now: float) -> dict[str, object]:
        return {
            "id": self.id,
            "scope": self.scope,
            "kind": str(self.kind),
            "value": self.value,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "active": self.is_active(now),
            "source": self.source,
        }


def parse_kind(kind: object) -> FaultKind:
    if isinstance(kind, str):
        if kind in ALIASES:
            return ALIASES[kind]
        try:
            return FaultKind(kind)
        except ValueError:
            pass
    known = ", ".join(k.value for k in FaultKind)
    raise FaultError(f"unknown fault kind {kind!r}; known kinds: {known}")


def validate_scope(scope: object, kind: FaultKind, services: Collection[str] = CATALOG_BY_NAME) -> str:
    """The scope, checked against the estate's `services` (the seed's 44 unless `--services` says more)."""
    if not isinstance(scope, str) or not scope:
        raise FaultError(f"fault scope must be a non-empty string, got {scope!r}")
    if scope.startswith(DB_SCOPE_PREFIX):
        database = scope.removeprefix(DB_SCOPE_PREFIX)
        if database not in DATABASES:
            raise FaultError(
                f"unknown database {database!r} in scope {scope!r}; known: {', '.join(DATABASES)}"
            )
        if kind not in DB_KINDS:
            raise FaultError(f"fault kind {kind} does not apply to a database scope ({scope!r})")
        return scope
    if kind == FaultKind.REPLICATION_LAG_S:
        raise FaultError(f"replication_lag_s needs a database scope like 'db:marketplace', got {scope!r}")
    if scope in (ALL_SERVICES, API_SCOPE) or scope in services:
        return scope
    raise FaultError(f"unknown fault scope {scope!r}: use a service name, '*', 'api' or 'db:<database>'")


def validate_value(kind: FaultKind, value: object) -> float | None:
    needs_value, low, high = VALUE_RULES[kind]
    if value is None:
        if needs_value:
            raise FaultError(f"fault kind {kind} needs a numeric value")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError(f"fault value must be a finite number, got {value!r}")
    if needs_value and not low <= value <= high:
        raise FaultError(f"{kind} value must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def validate_duration(name: str, seconds: object) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise FaultError(f"{name} must be a finite number of seconds, got {seconds!r}")
    if seconds < 0:
        raise FaultError(f"{name} must not be negative, got {seconds:g}")
    return float(seconds)


class FaultBook:
    """The faults in force, read by the simulation tick, the HTTP handlers and the API middleware.

    Times are simulated: `delay_s` and `duration_s` are simulated seconds from now.
    """

    def __init__(self, clock: SimClock, services: Collection[str] = CATALOG_BY_NAME) -> None:
        self.clock = clock
        self.services = services  # the names a fault may be scoped to
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.generation = 0  # bumps on every change
        self.stopping = False  # set when the server stops, so hanging requests let go

    def add(
        self,
        scope: str,
        kind: str | FaultKind,
        value: float | None = None,
        *,
        duration_s: float | None = None,
        delay_s: float | None = None,
        source: str = "control",
    ) -> Fault:
        fault_kind = parse_kind(kind)
        valid_scope = validate_scope(scope, fault_kind, self.services)
        valid_value = validate_value(fault_kind, value)
        duration = validate_duration("duration_s", duration_s)
        delay = validate_duration("delay_s", delay_s) or 0.0
        starts_at = self.clock.now() + delay
        ends_at = None if duration is None else starts_at + duration
        with self._lock:
            fault = Fault(
                f"f{next(self._ids)}", valid_scope, fault_kind, valid_value, starts_at, ends_at, source
            )
            self._faults[fault.id] = fault
            self.generation += 1
        return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            removed = self._faults.pop(fault_id, None) is not None
            self.generation += 1
        return removed

    def clear(self) -> int:
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            self.generation += 1
        return count

    def all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def active(self, scope: str, now: float | None = None) -> list[Fault]:
        """Faults in force now for one scope (a service also gets the `*` faults)."""
        moment = self.clock.now() if now is None else now
        return [f for f in self.all() if f.applies_to(scope) and f.is_active(moment)]

    def value(self, scope: str, kind: FaultKind, now: float | None = None) -> float | None:
        """The strongest value of one kind in force for a scope, or None."""
        values = [f.value or 0.0 for f in self.active(scope, now) if f.kind == kind]
        return max(values) if values else None

    def has(self, scope: str, kind: FaultKind, now: float | None = None) -> bool:
        return any(f.kind == kind for f in self.active(scope, now))

    def is_down(self, scope: str, now: float | None = None) -> bool:
        """Down, or flapping and in the down half of its period."""
        moment = self.clock.now() if now is None else now
        for fault in self.active(scope, moment):
            if fault.kind == FaultKind.DOWN:
                return True
            if fault.kind == FaultKind.FLAPPING_S and fault.value:
                phase = ((moment - fault.starts_at) % fault.value) / fault.value
                if phase < 0.5:
                    return True
        return False

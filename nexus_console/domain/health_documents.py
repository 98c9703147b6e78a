"""The seeds' health thresholds and the API, database and sync health documents checked against them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Threshold:
    label: str
    limit: float
    unit: str

    def breached(self, value: float | None) -> bool:
        return value is not None and not math.isnan(value) and value > self.limit


# Seed 002 SLAs (drawn as lines on latency charts) and its scaling trigger.
SLA_P50_MS = Threshold("SLA p50", 50.0, "ms")
SLA_P95_MS = Threshold("SLA p95", 200.0, "ms")
SLA_P99_MS = Threshold("SLA p99", 500.0, "ms")
SCALE_P95_MS = Threshold("p95 scaling trigger", 500.0, "ms")
# Seed 000 monitoring thresholds.
API_P95_MS = Threshold("p95 > 500 ms", 500.0, "ms")
API_ERROR_RATE = Threshold("error rate > 5 %", 0.05, "ratio")
DB_CPU_PCT = Threshold("DB CPU > 90 %", 90.0, "%")
DB_REPLICATION_LAG_S = Threshold("replication lag > 10 s", 10.0, "s")
SYNC_DETECTION_FAILURE = Threshold("detection failure > 15 %", 0.15, "ratio")


def _num(body: Mapping[str, Any], key: str) -> float:
    value = body.get(key)
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key!r} is not a number: {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class ApiHealth:
    status: str
    uptime_pct: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    slowest_endpoints: tuple[Mapping[str, Any], ...]
    error_endpoints: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_json(cls, body: Any) -> ApiHealth:
        if not isinstance(body, Mapping):
            raise ValueError("API health body is not an object")
        latency = body.get("latency_ms") or {}
        if not isinstance(latency, Mapping):
            raise ValueError("'latency_ms' is not an object")
        return cls(
            status=str(body.get("status") or "unknown"),
            uptime_pct=_num(body, "uptime_pct"),
            rps=_num(body, "rps"),
            p50_ms=_num(latency, "p50"),
            p95_ms=_num(latency, "p95"),
            p99_ms=_num(latency, "p99"),
            error_rate=_num(body, "error_rate"),
            slowest_endpoints=tuple(body.get("slowest_endpoints") or ()),
            error_endpoints=tuple(body.get("error_endpoints") or ()),
        )

    def breaches(self) -> list[Threshold]:
        checks = ((API_P95_MS, self.p95_ms), (API_ERROR_RATE, self.error_rate))
        return [t for t, v in checks if t.breached(v)]


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    name: str
    role: str
    status: str
    replication_lag_s: float
    cpu_pct: float
    connections: float
    pool_in_use: float
    pool_size: float
    query_p95_ms: float
    disk_used_pct: float

    def breaches(self) -> list[Threshold]:
        checks = ((DB_CPU_PCT, self.cpu_pct), (DB_REPLICATION_LAG_S, self.replication_lag_s))
        return [t for t, v in checks if t.breached(v)]


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    databases: tuple[DatabaseStatus, ...]
    slow_queries: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_json(cls, body: Any) -> DatabaseHealth:
        if not isinstance(body, Mapping) or not isinstance(body.get("databases"), list):
            raise ValueError("database health body has no 'databases' list")
        databases = []
        for item in body["databases"]:
            pool = item.get("pool") or {}
            databases.append(
                DatabaseStatus(
                    name=str(item.get("name") or "?"),
                    role=str(item.get("role") or ""),
                    status=str(item.get("status") or "unknown"),
                    replication_lag_s=_num(item, "replication_lag_s"),
                    cpu_pct=_num(item, "cpu_pct"),
                    connections=_num(item, "connections"),
                    pool_in_use=_num(pool, "in_use"),
                    pool_size=_num(pool, "size"),
                    query_p95_ms=_num(item, "query_p95_ms"),
                    disk_used_pct=_num(item, "disk_used_pct"),
                )
            )
        return cls(tuple(databases), tuple(body.get("slow_queries") or ()))


@dataclass(frozen=True, slots=True)
class SyncQuality:
    detection_rate: float
    detection_failure_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    accuracy: float
    error_rate: float
    sessions_per_min: float

    @classmethod
    def from_json(cls, body: Any) -> SyncQuality:
        if not isinstance(body, Mapping):
            raise ValueError("sync quality body is not an object")
        latency = body.get("sync_latency_ms") or {}
        if not isinstance(latency, Mapping):
            raise ValueError("'sync_latency_ms' is not an object")
        return cls(
            detection_rate=_num(body, "detection_rate"),
            detection_failure_rate=_num(body, "detection_failure_rate"),
            latency_p50_ms=_num(latency, "p50"),
            latency_p95_ms=_num(latency, "p95"),
            accuracy=_num(body, "accuracy"),
            error_rate=_num(body, "error_rate"),
            sessions_per_min=_num(body, "sessions_per_min"),
        )

    def breaches(self) -> list[Threshold]:
        return (
            [SYNC_DETECTION_FAILURE] if SYNC_DETECTION_FAILURE.breached(self.detection_failure_rate) else []
        )

"""The simulated behaviour of each service and database, advanced one tick at a time in simulated time.

Each tick draws the tick's request count per endpoint from a Poisson law around the service's seasonal
rate, splits it over status codes, and spreads it over the latency buckets with a multinomial draw from
the exact bucket probabilities of the service's lognormal latency profile. So a tick costs a few numpy
calls per endpoint whatever the request count, and quantiles computed from bucket deltas follow the profile.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from nexus_refserver.telemetry.catalog import ServiceSpec
from nexus_refserver.telemetry.faults import DB_SCOPE_PREFIX, FaultBook, FaultKind
from nexus_refserver.telemetry.histogram import (
    BUCKET_LABELS,
    lognormal_bucket_probabilities,
    lognormal_mean_ms,
    quantile_from_buckets,
)

WINDOW_S = 60.0  # simulated seconds of history behind the "current" rates and quantiles
DAY_S = 86_400.0
STATUSES = ("200", "400", "404", "500", "503")
BASE_4XX_RATE = 0.012
BASE_5XX_RATE = 0.0005
_POST_WORDS = {
    "login", "logout", "token", "authorize", "publish", "pay", "reserve", "charges", "refunds", "invoices",
    "entries", "score", "dispatch", "optimize", "notify", "sign", "verify", "infer", "generate", "embeddings",
    "feedback", "uploads", "detect", "join", "run", "validate", "location", "applications", "transactions",
}  # fmt: skip


def seasonal_factor(now: float, phase_s: float) -> float:
    """Daily traffic shape: a trough at night and a peak in the (UTC) afternoon, between 0.55 and 1.45."""
    return 1.0 + 0.45 * math.sin(2.0 * math.pi * ((now + phase_s) % DAY_S) / DAY_S - math.pi / 2.0)


def endpoint_method(endpoint: str) -> str:
    last = endpoint.rstrip("/").rsplit("/", 1)[-1]
    return "POST" if last in _POST_WORDS else "GET"


@dataclass(slots=True)
class EndpointWindow:
    endpoint: str
    requests: float
    rps: float
    p95_ms: float
    error_rate: float


@dataclass(slots=True)
class ServiceWindow:
    """The service's traffic over the last WINDOW_S simulated seconds."""

    rps: float = 0.0
    requests: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    error_rate: float = 0.0  # share of 5xx
    error_rate_4xx: float = 0.0
    buckets: np.ndarray = field(default_factory=lambda: np.zeros(len(BUCKET_LABELS)))
    endpoints: list[EndpointWindow] = field(default_factory=list)


@dataclass(slots=True)
class _TickRecord:
    at: float
    dt: float
    buckets: dict[str, np.ndarray]
    statuses: dict[str, np.ndarray]  # endpoint -> counts per STATUSES


class ServiceSim:
    """One service: cumulative counters and histograms, gauges, and its recent window."""

    def __init__(self, spec: ServiceSpec, rng: np.random.Generator, started_at: float) -> None:
        self.spec = spec
        self.rng = rng
        self.started_at = started_at
        self.up_since = started_at
        self.last_tick = started_at
        self.down = False
        self.phase_s = float(rng.uniform(-3600.0, 3600.0))
        n = len(spec.endpoints)
        raw_weights = np.array([1.0 / (i + 1) for i in range(n)])
        self.endpoint_weights = raw_weights / raw_weights.sum()
        self.endpoint_latency_factor = [1.0 + 0.15 * i for i in range(n)]
        self.methods = {e: endpoint_method(e) for e in spec.endpoints}
        self.bucket_counts = {e: np.zeros(len(BUCKET_LABELS), dtype=np.int64) for e in spec.endpoints}
        self.duration_sum_s = dict.fromkeys(spec.endpoints, 0.0)
        self.status_counts = {e: np.zeros(len(STATUSES), dtype=np.int64) for e in spec.endpoints}
        self.history: deque[_TickRecord] = deque()
        # running sums over `history`, so a tick costs the same whatever the window holds
        self.window_buckets = {e: np.zeros(len(BUCKET_LABELS), dtype=np.int64) for e in spec.endpoints}
        self.window_statuses = {e: np.zeros(len(STATUSES), dtype=np.int64) for e in spec.endpoints}
        self.window_span_s = 0.0
        self.window = ServiceWindow()
        self.memory_limit_bytes = spec.memory_limit_mb * 1024 * 1024
        self.base_memory_pct = float(rng.uniform(38.0, 58.0))
        self.memory_pct = self.base_memory_pct
        self.base_cpu_pct = float(rng.uniform(12.0, 28.0))
        self.cpu_pct = self.base_cpu_pct
        self.pool_size = (40 if spec.tier == 1 else 20) if spec.database else 0
        self.pool_in_use = 0.0
        self.pool_waiting = 0.0
        self.replication_lag_s = 0.0
        self.sync_detection_rate = 0.94 if spec.sync_detection else math.nan
        self.order_queue_depth = 0.0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_ServiceCollector(self))

    def tick(self, now: float, faults: FaultBook, db_pressure: float, replication_lag_s: float) -> None:
        dt = now - self.last_tick
        if dt <= 0:
            return
        self.last_tick = now
        name = self.spec.name
        was_down = self.down
        self.down = faults.is_down(name, now)
        if was_down and not self.down:
            self.up_since = now
        extra_ms = faults.value(name, FaultKind.LATENCY_MS, now) or 0.0
        fault_error_rate = faults.value(name, FaultKind.ERROR_RATE, now) or 0.0
        rps = self.spec.base_rps * seasonal_factor(now, self.phase_s) * float(self.rng.lognormal(0.0, 0.06))
        slowdown = 1.0 + 0.6 * max(0.0, db_pressure - 0.7) / 0.3 if self.spec.database else 1.0

        record = _TickRecord(now, dt, {}, {})
        counts = self.rng.poisson(rps * dt * self.endpoint_weights)
        for endpoint, n, factor in zip(
            self.spec.endpoints, counts, self.endpoint_latency_factor, strict=True
        ):
            n = int(n)
            if self.down:
                statuses = np.array([0, 0, 0, 0, n], dtype=np.int64)
                probs = lognormal_bucket_probabilities(1.0, 3.0)
                mean_ms = 1.5
            else:
                server_error = min(1.0, BASE_5XX_RATE + fault_error_rate)
                client_error = BASE_4XX_RATE * (1.0 - server_error)
                status_probs = [
                    max(0.0, 1.0 - server_error - client_error),
                    client_error * 0.4,
                    client_error * 0.6,
                    server_error * 0.7,
                    server_error * 0.3,
                ]
                statuses = self.rng.multinomial(n, status_probs)
                p50 = self.spec.p50_ms * factor * slowdown
                p95 = self.spec.p95_ms * factor * slowdown
                probs = lognormal_bucket_probabilities(p50, p95, extra_ms)
                mean_ms = lognormal_mean_ms(p50, p95, extra_ms)
            buckets = self.rng.multinomial(n, probs)
            self.bucket_counts[endpoint] += buckets
            self.status_counts[endpoint] += statuses
            self.duration_sum_s[endpoint] += n * mean_ms / 1000.0
            record.buckets[endpoint] = buckets
            record.statuses[endpoint] = statuses
        self._remember(record, now)
        self._update_window()
        self._update_gauges(faults, now, rps, extra_ms, replication_lag_s)

    def _remember(self, record: _TickRecord, now: float) -> None:
        self.history.append(record)
        self.window_span_s += record.dt
        for endpoint in self.spec.endpoints:
            self.window_buckets[endpoint] += record.buckets[endpoint]
            self.window_statuses[endpoint] += record.statuses[endpoint]
        while len(self.history) > 1 and self.history[0].at <= now - WINDOW_S:
            old = self.history.popleft()
            self.window_span_s -= old.dt
            for endpoint in self.spec.endpoints:
                self.window_buckets[endpoint] -= old.buckets[endpoint]
                self.window_statuses[endpoint] -= old.statuses[endpoint]

    def _update_window(self) -> None:
        span = self.window_span_s or 1.0
        total_buckets = np.zeros(len(BUCKET_LABELS))
        total_statuses = np.zeros(len(STATUSES))
        endpoints = []
        for endpoint in self.spec.endpoints:
            buckets = self.window_buckets[endpoint]
            statuses = self.window_statuses[endpoint]
            requests = float(statuses.sum())
            total_buckets += buckets
            total_statuses += statuses
            endpoints.append(
                EndpointWindow(
                    endpoint,
                    requests,
                    requests / span,
                    quantile_from_buckets(0.95, buckets) * 1000.0,
                    float(statuses[3:].sum()) / requests if requests else 0.0,
                )
            )
        requests = float(total_statuses.sum())
        self.window = ServiceWindow(
            rps=requests / span,
            requests=requests,
            p50_ms=quantile_from_buckets(0.50, total_buckets) * 1000.0,
            p95_ms=quantile_from_buckets(0.95, total_buckets) * 1000.0,
            p99_ms=quantile_from_buckets(0.99, total_buckets) * 1000.0,
            error_rate=float(total_statuses[3:].sum()) / requests if requests else 0.0,
            error_rate_4xx=float(total_statuses[1:3].sum()) / requests if requests else 0.0,
            buckets=total_buckets,
            endpoints=endpoints,
        )

    def _update_gauges(
        self, faults: FaultBook, now: float, rps: float, extra_ms: float, replication_lag_s: float
    ) -> None:
        name = self.spec.name
        load = rps / self.spec.base_rps
        cpu_fault = faults.value(name, FaultKind.CPU_PCT, now)
        if self.down:
            self.cpu_pct = 0.0
        elif cpu_fault is not None:
            self.cpu_pct = cpu_fault + float(self.rng.normal(0.0, 0.8))
        else:
            busy = min(20.0, extra_ms / 50.0)
            self.cpu_pct = self.base_cpu_pct * (0.5 + 0.7 * load) + busy + float(self.rng.normal(0.0, 1.5))
        self.cpu_pct = float(np.clip(self.cpu_pct, 0.0, 100.0))
        memory_fault = faults.value(name, FaultKind.MEMORY_PCT, now)
        if memory_fault is not None:
            self.memory_pct = memory_fault + float(self.rng.normal(0.0, 0.3))
        else:
            drift = float(self.rng.normal(0.0, 0.4))
            self.memory_pct += drift + 0.1 * (self.base_memory_pct - self.memory_pct)
        self.memory_pct = float(np.clip(self.memory_pct, 1.0, 100.0))
        if self.pool_size:
            concurrency = rps * (self.window.p50_ms if not math.isnan(self.window.p50_ms) else 0.0) / 1000.0
            demand = concurrency * 0.6 + float(self.rng.uniform(0.0, 2.0))
            self.pool_in_use = float(min(self.pool_size, demand))
            self.pool_waiting = float(max(0.0, demand - self.pool_size))
            self.replication_lag_s = replication_lag_s
        if self.spec.sync_detection:
            failure = faults.value(name, FaultKind.DETECTION_FAILURE_RATE, now)
            if failure is None:
                failure = 0.05 + float(self.rng.normal(0.0, 0.008)) + min(0.2, extra_ms / 5000.0)
            self.sync_detection_rate = 0.0 if self.down else float(np.clip(1.0 - failure, 0.0, 1.0))
        if self.spec.order_queue:
            p95 = self.window.p95_ms if not math.isnan(self.window.p95_ms) else self.spec.p95_ms
            backlog = (
                rps * max(0.0, p95 - self.spec.p95_ms) / 1000.0 * 4.0 + self.window.error_rate * rps * 2.0
            )
            target = 3.0 + backlog
            self.order_queue_depth += 0.5 * (target - self.order_queue_depth)

    def uptime_s(self, now: float) -> float:
        return 0.0 if self.down else max(0.0, now - self.up_since)


class _ServiceCollector(Collector):
    """Exposes a ServiceSim in Prometheus form.

    A custom collector rather than Counter/Histogram objects: a tick adds thousands of observations at
    once as weighted bucket counts, which the Histogram API can only do one observation at a time.
    """

    def __init__(self, sim: ServiceSim) -> None:
        self.sim = sim

    def collect(self) -> Iterator[Metric]:
        sim = self.sim
        requests = CounterMetricFamily(
            "http_requests", "HTTP requests handled", labels=["endpoint", "method", "status"]
        )
        durations = HistogramMetricFamily(
            "http_request_duration_seconds", "HTTP request latency", labels=["endpoint"]
        )
        for endpoint in sim.spec.endpoints:
            method = sim.methods[endpoint]
            for status, count in zip(STATUSES, sim.status_counts[endpoint], strict=True):
                requests.add_metric([endpoint, method, status], float(count))
            cumulative = np.cumsum(sim.bucket_counts[endpoint])
            durations.add_metric(
                [endpoint],
                buckets=[(label, float(c)) for label, c in zip(BUCKET_LABELS, cumulative, strict=True)],
                sum_value=sim.duration_sum_s[endpoint],
            )
        yield requests
        yield durations
        yield GaugeMetricFamily("process_cpu_percent", "CPU use in percent of one core", value=sim.cpu_pct)
        yield GaugeMetricFamily(
            "process_resident_memory_bytes",
            "Resident memory",
            value=sim.memory_pct / 100.0 * sim.memory_limit_bytes,
        )
        yield GaugeMetricFamily(
            "process_memory_limit_bytes", "Container memory limit", value=sim.memory_limit_bytes
        )
        yield GaugeMetricFamily(
            "service_up", "1 when the service answers health checks", value=0 if sim.down else 1
        )
        if sim.pool_size:
            yield GaugeMetricFamily("db_pool_size", "Database connection pool size", value=sim.pool_size)
            yield GaugeMetricFamily("db_pool_in_use", "Pool connections in use", value=round(sim.pool_in_use))
            yield GaugeMetricFamily(
                "db_pool_waiting", "Requests waiting for a connection", value=round(sim.pool_waiting)
            )
            yield GaugeMetricFamily(
                "db_replication_lag_seconds",
                "Lag of the read replica this service reads from",
                value=sim.replication_lag_s,
            )
        if sim.spec.sync_detection:
            yield GaugeMetricFamily(
                "sync_detection_rate",
                "Share of ultrasound sync detections that succeed",
                value=sim.sync_detection_rate,
            )
        if sim.spec.order_queue:
            yield GaugeMetricFamily(
                "order_queue_depth", "Orders waiting to be processed", value=round(sim.order_queue_depth)
            )


_DB_PROFILES = {
    # name: (base cpu %, base query p95 ms, disk used %, slow queries)
    "users": (
        32.0, 12.0, 46.0,
        ("SELECT * FROM users WHERE lower(email) LIKE $1", "UPDATE sessions SET seen = now() WHERE id = $1"),
    ),
    "workstation": (
        28.0, 25.0, 61.0,
        ("SELECT * FROM assets WHERE project_id = $1 ORDER BY updated_at", "INSERT INTO render_jobs ..."),
    ),
    "marketplace": (
        41.0, 18.0, 54.0,
        (
            "SELECT o.* FROM orders o JOIN order_items i ON ... WHERE o.status = $1",
            "UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2",
        ),
    ),
    "nexus": (
        36.0, 15.0, 38.0,
        (
            "SELECT count(*) FROM events WHERE at > $1 GROUP BY kind",
            "SELECT * FROM deliveries WHERE driver_id = $1 AND status <> 'done'",
        ),
    ),
}  # fmt: skip


class DatabaseSim:
    """One database: a primary and a read replica, loaded by the services that use it."""

    def __init__(self, name: str, rng: np.random.Generator) -> None:
        self.name = name
        self.rng = rng
        base_cpu, base_p95, disk, queries = _DB_PROFILES[name]
        self.base_cpu = base_cpu
        self.base_query_p95_ms = base_p95
        self.disk_used_pct = disk
        self.queries = queries
        self.cpu_pct = base_cpu
        self.replication_lag_s = 0.3
        self.query_p95_ms = base_p95
        self.down = False
        self.pool_size = 0
        self.pool_in_use = 0.0
        self.pool_waiting = 0.0
        self.load = 1.0

    @property
    def scope(self) -> str:
        return DB_SCOPE_PREFIX + self.name

    @property
    def pressure(self) -> float:
        """0..1: how close the primary's CPU is to saturation."""
        return self.cpu_pct / 100.0

    def tick(self, now: float, faults: FaultBook, services: list[ServiceSim]) -> None:
        self.down = faults.is_down(self.scope, now)
        expected = sum(s.spec.base_rps for s in services) or 1.0
        actual = sum(s.window.rps for s in services)
        self.load = actual / expected
        self.pool_size = sum(s.pool_size for s in services)
        self.pool_in_use = sum(s.pool_in_use for s in services)
        self.pool_waiting = sum(s.pool_waiting for s in services)
        cpu_fault = faults.value(self.scope, FaultKind.CPU_PCT, now)
        if cpu_fault is not None:
            self.cpu_pct = cpu_fault + float(self.rng.normal(0.0, 0.5))
        else:
            self.cpu_pct = self.base_cpu * (0.6 + 0.5 * self.load) + float(self.rng.normal(0.0, 1.2))
        self.cpu_pct = float(np.clip(self.cpu_pct, 0.0, 100.0))
        lag_fault = faults.value(self.scope, FaultKind.REPLICATION_LAG_S, now)
        if lag_fault is not None:
            self.replication_lag_s = lag_fault * float(self.rng.uniform(1.0, 1.08))
        else:
            target = 0.2 + 0.8 * max(0.0, self.pressure - 0.5) * 10.0
            self.replication_lag_s = max(0.0, target + float(self.rng.normal(0.0, 0.08)))
        self.query_p95_ms = self.base_query_p95_ms * (1.0 + 4.0 * max(0.0, self.pressure - 0.6) ** 2 * 6.0)
        self.query_p95_ms *= float(self.rng.lognormal(0.0, 0.05))
        self.disk_used_pct = min(99.0, self.disk_used_pct + 0.00001)

    def primary_status(self) -> str:
        if self.down:
            return "down"
        return "degraded" if self.cpu_pct > 90.0 else "up"

    def replica_status(self) -> str:
        if self.down:
            return "down"
        return "degraded" if self.replication_lag_s > 10.0 else "up"

    def status(self) -> str:
        """The worse of primary and replica, as a dependent service sees the database."""
        statuses = {self.primary_status(), self.replica_status()}
        return next(s for s in ("down", "degraded", "up") if s in statuses)

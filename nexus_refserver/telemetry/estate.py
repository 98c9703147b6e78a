"""The simulated estate: 44 services (or `--services N`) and 4 databases moving together in simulated time,
with faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import fastapi
import numpy as np
from prometheus_client import generate_latest

from nexus_refserver.clock import SimClock
from nexus_refserver.telemetry.catalog import CATALOG, DATABASES, ServiceSpec
from nexus_refserver.telemetry.faults import FaultBook
from nexus_refserver.telemetry.histogram import BUCKET_LABELS, quantile_from_buckets
from nexus_refserver.telemetry.http_faults import ApiFaultMiddleware
from nexus_refserver.telemetry.multiport import ServiceListeners
from nexus_refserver.telemetry.routes import ServiceEndpoints, fault_control_router, service_router
from nexus_refserver.telemetry.scenario import NO_SCENARIO, Scenario
from nexus_refserver.telemetry.simulation import WINDOW_S, DatabaseSim, ServiceSim

log = logging.getLogger(__name__)

TICK_INTERVAL_S = 1.0  # real seconds between simulation ticks
TOP_ENDPOINTS = 5


def rfc3339(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def finite(value: float, digits: int = 3) -> float:
    """A JSON-safe rounded number: NaN (no traffic yet) becomes 0."""
    return 0.0 if math.isnan(value) or math.isinf(value) else round(float(value), digits)


class Estate:
    """Owns the clock, the fault book and the simulation; serves health, metrics and aggregates."""

    def __init__(
        self,
        clock: SimClock,
        *,
        seed: int = 42,
        multi_port: bool = False,
        port_offset: int = 20000,
        host: str = "127.0.0.1",
        tick_interval_s: float = TICK_INTERVAL_S,
        wall_clock: Callable[[], float] = time.time,
        catalog: Sequence[ServiceSpec] = CATALOG,
    ) -> None:
        self.clock = clock
        # `generated_at` is when the figures were produced, on the wall clock, so that clients can judge
        # their age; simulated time runs ahead of it whenever the clock factor is above 1
        self.wall_clock = wall_clock
        self.catalog: list[ServiceSpec] = list(catalog)
        self.faults = FaultBook(clock, frozenset(spec.name for spec in self.catalog))
        # the scenario whose faults are scheduled in the book (build_estate sets it)
        self.scenario: Scenario = NO_SCENARIO
        self.multi_port = multi_port
        self.port_offset = port_offset
        self.host = host
        self.tick_interval_s = tick_interval_s
        root = np.random.default_rng(seed)
        # history starts one window before "now", so every figure has data from the first request on
        origin = clock.now() - WINDOW_S
        # the seed's services and the databases draw their generators first, so services added by
        # `--services` leave them as they are without it
        seeded = len(CATALOG)
        self.sims: dict[str, ServiceSim] = {
            spec.name: ServiceSim(spec, np.random.default_rng(root.integers(2**63)), origin)
            for spec in self.catalog[:seeded]
        }
        self.databases: dict[str, DatabaseSim] = {
            name: DatabaseSim(name, np.random.default_rng(root.integers(2**63))) for name in DATABASES
        }
        for spec in self.catalog[seeded:]:
            self.sims[spec.name] = ServiceSim(spec, np.random.default_rng(root.integers(2**63)), origin)
        self._db_services = {
            name: [s for s in self.sims.values() if s.spec.database == name] for name in DATABASES
        }
        self.up_seconds = 0.0
        self.service_seconds = 0.0
        self.last_tick_ms = 0.0
        self.max_tick_ms = 0.0
        self.ticks = 0
        self.base_url = ""
        self._task: asyncio.Task[None] | None = None
        self._listeners: ServiceListeners | None = None
        self.service_endpoints = ServiceEndpoints(self)
        self._metrics_text: dict[str, tuple[int, bytes]] = {}  # name -> (tick number, text)
        self.tick(clock.now())

    # ----------------------------------------------------------------- simulation

    def tick(self, now: float | None = None) -> None:
        """Advance every service and database to `now` (simulated epoch s)."""
        moment = self.clock.now() if now is None else now
        started = time.perf_counter()
        for sim in self.sims.values():
            database = self.databases.get(sim.spec.database or "")
            previous = sim.last_tick
            pressure = database.pressure if database else 0.0
            lag = database.replication_lag_s if database else 0.0
            sim.tick(moment, self.faults, pressure, lag)
            dt = sim.last_tick - previous
            if dt > 0:
                self.service_seconds += dt
                self.up_seconds += 0.0 if sim.down else dt
        for name, database in self.databases.items():
            database.tick(moment, self.faults, self._db_services[name])
        self.last_tick_ms = (time.perf_counter() - started) * 1000.0
        self.max_tick_ms = max(self.max_tick_ms, self.last_tick_ms) if self.ticks else self.last_tick_ms
        self.ticks += 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            try:
                self.tick()
            except Exception:  # a broken tick must not stop the simulation for good
                log.exception("simulation tick failed")

    async def start(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.faults.stopping = False
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="estate-simulation")
        if self.multi_port and self._listeners is None:
            self._listeners = ServiceListeners(self)
            await self._listeners.start()

    async def stop(self) -> None:
        self.faults.stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        listeners, self._listeners = self._listeners, None
        if listeners is not None:
            await listeners.stop()

    # ----------------------------------------------------------------- HTTP

    def router(self) -> fastapi.APIRouter:
        """`/svc/{name}/health`, `/health/live`, `/health/ready` and `/metrics` for every service."""
        return service_router(self)

    def control_router(self) -> fastapi.APIRouter:
        """`/_control/faults`; mount it only when fault control is enabled."""
        return fault_control_router(self)

    def api_fault_middleware(self) -> type[ApiFaultMiddleware]:
        """The middleware class; add it with `app.add_middleware(cls, estate=estate)`."""
        return ApiFaultMiddleware

    def service_urls(self, spec: ServiceSpec, base_url: str) -> dict[str, str]:
        if self._listeners is not None and spec.name in self._listeners.ports:
            root = f"http://{self.host}:{self._listeners.ports[spec.name]}"
        else:
            root = f"{base_url.rstrip('/')}/svc/{spec.name}"
        return {
            "health_url": f"{root}/health",
            "live_url": f"{root}/health/live",
            "ready_url": f"{root}/health/ready",
            "metrics_url": f"{root}/metrics",
        }

    def services(self, base_url: str) -> list[dict[str, Any]]:
        return [{**spec.info(), **self.service_urls(spec, base_url)} for spec in self.catalog]

    # ----------------------------------------------------------------- health of one service

    def dependency_checks(self, sim: ServiceSim) -> dict[str, dict[str, Any]]:
        checks: dict[str, dict[str, Any]] = {
            "redis": {"status": "up", "latency_ms": round(0.4 + 0.02 * sim.cpu_pct, 2)},
        }
        if sim.spec.database:
            database = self.databases[sim.spec.database]
            checks[f"postgres:{database.name}"] = {
                "status": database.status(),
                "latency_ms": round(database.query_p95_ms, 2),
            }
        return checks

    def health(self, name: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of /health for one service, as of now."""
        sim = self.sims[name]
        now = self.clock.now()
        checks = self.dependency_checks(sim)
        if self.faults.is_down(name, now):
            status = "down"
        elif (
            finite(sim.window.p95_ms) > 500.0
            or sim.window.error_rate > 0.05
            or any(c["status"] != "up" for c in checks.values())
        ):
            status = "degraded"
        else:
            status = "up"
        body = {
            "status": status,
            "service": name,
            "version": sim.spec.version,
            "uptime_s": 0.0 if status == "down" else round(max(0.0, now - sim.up_since), 1),
            "checks": {} if status == "down" else checks,
        }
        return (503 if status == "down" else 200), body

    def liveness(self, name: str) -> tuple[int, dict[str, Any]]:
        code, body = self.health(name)
        return code, {k: body[k] for k in ("status", "service", "version", "uptime_s")}

    def readiness(self, name: str) -> tuple[int, dict[str, Any]]:
        code, body = self.health(name)
        ready = code == 200 and all(c["status"] != "down" for c in body["checks"].values())
        return (200 if ready else 503), {**body, "ready": ready}

    def metrics_text(self, name: str) -> bytes:
        """The service's metrics in the Prometheus text format, once per tick (they move only then)."""
        cached = self._metrics_text.get(name)
        if cached is not None and cached[0] == self.ticks:
            return cached[1]
        text = generate_latest(self.sims[name].registry)
        self._metrics_text[name] = (self.ticks, text)
        return text

    # ----------------------------------------------------------------- estate aggregates

    def api_health(self) -> dict[str, Any]:
        sims = list(self.sims.values())
        buckets = np.sum([s.window.buckets for s in sims], axis=0) if sims else np.zeros(len(BUCKET_LABELS))
        requests = sum(s.window.requests for s in sims)
        errors_5xx = sum(s.window.error_rate * s.window.requests for s in sims)
        errors_4xx = sum(s.window.error_rate_4xx * s.window.requests for s in sims)
        endpoints = [(s, e) for s in sims for e in s.window.endpoints if e.requests > 0]
        slowest = sorted(endpoints, key=lambda se: finite(se[1].p95_ms), reverse=True)[:TOP_ENDPOINTS]
        erroring = sorted(endpoints, key=lambda se: (se[1].error_rate, se[1].rps), reverse=True)[
            :TOP_ENDPOINTS
        ]
        error_rate = errors_5xx / requests if requests else 0.0
        p95_ms = quantile_from_buckets(0.95, buckets) * 1000.0
        down = sum(1 for s in sims if s.down)
        if down > len(sims) // 2 or self.sims["backend-api"].down:
            status = "down"
        elif (
            down
            or error_rate > 0.05
            or finite(p95_ms) > 500.0
            or any(finite(s.window.p95_ms) > 500.0 or s.window.error_rate > 0.05 for s in sims)
        ):
            status = "degraded"
        else:
            status = "up"
        return {
            "generated_at": rfc3339(self.wall_clock()),
            "window_s": WINDOW_S,
            "status": status,
            "uptime_pct": finite(
                100.0 * self.up_seconds / self.service_seconds if self.service_seconds else 100.0, 4
            ),
            "rps": finite(sum(s.window.rps for s in sims), 2),
            "latency_ms": {
                "p50": finite(quantile_from_buckets(0.50, buckets) * 1000.0, 1),
                "p95": finite(p95_ms, 1),
                "p99": finite(quantile_from_buckets(0.99, buckets) * 1000.0, 1),
            },
            "error_rate": finite(error_rate, 5),
            "error_rate_4xx": finite(errors_4xx / requests if requests else 0.0, 5),
            "error_rate_5xx": finite(error_rate, 5),
            "slowest_endpoints": [
                {
                    "service": s.spec.name,
                    "endpoint": e.endpoint,
                    "p95_ms": finite(e.p95_ms, 1),
                    "rps": finite(e.rps, 2),
                }
                for s, e in slowest
            ],
            "error_endpoints": [
                {
                    "service": s.spec.name,
                    "endpoint": e.endpoint,
                    "error_rate": finite(e.error_rate, 5),
                    "rps": finite(e.rps, 2),
                }
                for s, e in erroring
            ],
        }

    def database_health(self) -> dict[str, Any]:
        databases = []
        slow_queries = []
        for db in self.databases.values():
            connections = round(db.pool_in_use) + 5
            pool = {
                "size": db.pool_size,
                "in_use": round(db.pool_in_use),
                "waiting": round(db.pool_waiting),
            }
            slow_per_min = finite(2.0 + 60.0 * max(0.0, db.pressure - 0.6) ** 2 * 10.0 * db.load, 1)
            databases.append(
                {
                    "name": db.name,
                    "role": "primary",
                    "status": db.primary_status(),
                    "replication_lag_s": None,
                    "cpu_pct": finite(db.cpu_pct, 1),
                    "connections": connections,
                    "pool": pool,
                    "query_p95_ms": finite(db.query_p95_ms, 1),
                    "slow_queries_per_min": slow_per_min,
                    "disk_used_pct": finite(db.disk_used_pct, 2),
                }
            )
            databases.append(
                {
                    "name": f"{db.name}-replica",
                    "role": "replica",
                    "status": db.replica_status(),
                    "replication_lag_s": finite(db.replication_lag_s, 2),
                    "cpu_pct": finite(db.cpu_pct * 0.6, 1),
                    "connections": connections // 2 + 3,
                    "pool": {"size": db.pool_size // 2, "in_use": pool["in_use"] // 2, "waiting": 0},
                    "query_p95_ms": finite(db.query_p95_ms * 0.8, 1),
                    "slow_queries_per_min": finite(slow_per_min / 2.0, 1),
                    "disk_used_pct": finite(db.disk_used_pct, 2),
                }
            )
            for index, query in enumerate(db.queries):
                slow_queries.append(
                    {
                        "database": db.name,
                        "query": query,
                        "mean_ms": finite(db.query_p95_ms * (14.0 + 9.0 * index), 1),
                        "calls": int(max(1.0, slow_per_min * (3 - index))),
                    }
                )
        slow_queries.sort(key=lambda q: q["mean_ms"], reverse=True)
        return {
            "generated_at": rfc3339(self.wall_clock()),
            "databases": databases,
            "slow_queries": slow_queries,
        }

    def sync_quality(self) -> dict[str, Any]:
        sims = [s for s in self.sims.values() if s.spec.sync_detection]
        weights = [max(s.window.rps, 1e-9) for s in sims]
        total = sum(weights)
        detection = sum(w * s.sync_detection_rate for w, s in zip(weights, sims, strict=True)) / total
        error_rate = sum(w * s.window.error_rate for w, s in zip(weights, sims, strict=True)) / total
        p50 = sum(w * finite(s.window.p50_ms) for w, s in zip(weights, sims, strict=True)) / total
        p95 = max(finite(s.window.p95_ms) for s in sims)
        return {
            "generated_at": rfc3339(self.wall_clock()),
            "detection_rate": finite(detection, 4),
            "detection_failure_rate": finite(1.0 - detection, 4),
            "sync_latency_ms": {"p50": finite(380.0 + 2.0 * p50, 1), "p95": finite(820.0 + 2.0 * p95, 1)},
            "accuracy": finite(max(0.0, 0.985 - 0.5 * (1.0 - detection - 0.05) - error_rate), 4),
            "error_rate": finite(error_rate, 5),
            "sessions_per_min": finite(sum(s.window.rps for s in sims) * 60.0 * 0.05, 1),
        }

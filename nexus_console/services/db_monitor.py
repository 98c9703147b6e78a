"""The Database pane's source: every PostgreSQL server of the profile, read from its own statistics views.

The servers are the distinct host:port of the profile's replica DSNs, each read through the first database
it serves, and the optional `monitoring_dsn` (a role with pg_monitor, usually on the primary). Each server
is read on the replica pool (`services.replicas`: read-only sessions, a statement timeout, a bounded pool of
one connection a server) in one transaction, all servers at once. A server that fails keeps its last good
reading, marked with the error; the poller fails only when no server answers.

SQLAlchemy and the queries are imported on a worker thread at the first reading, not when the session
starts (a tenth of a second the first frame does not wait for).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nexus_console.domain.db_health import (
    SLOW_RUNNING_S,
    DatabaseCounters,
    DatabaseSnapshot,
    ServerReading,
    ServerRef,
    server_name,
)
from nexus_console.services.keychain import Keychain, database_password_key
from nexus_console.services.polling import Poller, PollerRegistry
from nexus_console.services.profiles import Profile

if TYPE_CHECKING:
    from nexus_console.services.replicas import ReplicaSet

DATABASE_POLLER = "database"
MONITORING_KEY = "monitoring"  # the keychain entry of the monitoring DSN's password: database:monitoring


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    interval_s: float = 10.0
    timeout_s: float = 10.0
    statement_timeout_ms: int = 3000
    slow_running_s: float = SLOW_RUNNING_S  # an active statement this old is listed as slow while it runs


@dataclass(frozen=True, slots=True)
class MonitoredServer:
    ref: ServerRef
    dsn: str  # without its password
    password_key: str  # the keychain entry that holds it


def monitored_servers(profile: Profile) -> list[MonitoredServer]:
    """The profile's PostgreSQL servers, the monitoring DSN first, each host:port once."""
    candidates: list[tuple[str, str, bool]] = []
    if profile.monitoring_dsn:
        candidates.append((profile.monitoring_dsn, database_password_key(MONITORING_KEY), True))
    for name, dsns in profile.replicas.items():
        candidates += [(dsn, database_password_key(name), False) for dsn in dsns]
    servers: list[MonitoredServer] = []
    seen: set[tuple[str, int]] = set()
    for dsn, key, monitoring in candidates:
        parts = urlsplit(dsn)
        if not parts.scheme.startswith("postgresql"):
            continue
        where = (parts.hostname or "localhost", parts.port or 5432)
        if where in seen:
            continue
        seen.add(where)
        name = server_name(monitoring, [s.ref.name for s in servers])
        database = parts.path.lstrip("/") or "postgres"
        servers.append(MonitoredServer(ServerRef(name, where[0], where[1], database), dsn, key))
    return servers


class DatabaseMonitor:
    """Reads every monitored server at each poll; `readings` keep each server's last good health."""

    def __init__(
        self, profile: Profile, keychain: Keychain | None, settings: DatabaseSettings | None = None
    ) -> None:
        self.settings = settings or DatabaseSettings()
        self.keychain = keychain
        self.servers = monitored_servers(profile)
        self.readings = tuple(ServerReading(server.ref) for server in self.servers)
        self._counters: dict[str, DatabaseCounters] = {}
        self._replicas: ReplicaSet | None = None
        self._queries: Any = None

    @property
    def note(self) -> str | None:
        if self.servers:
            return None
        return (
            "This profile names no PostgreSQL server: the Database pane reads PostgreSQL's own statistics "
            "views. Add replica DSNs or a monitoring_dsn (a role with pg_monitor) to the profile."
        )

    async def poll(self) -> DatabaseSnapshot:
        if not self.servers:
            return DatabaseSnapshot((), time.time(), self.note)
        if self._replicas is None:
            self._replicas = await self._open()
        await asyncio.gather(
            *(
                self._read(server, reading)
                for server, reading in zip(self.servers, self.readings, strict=True)
            )
        )
        failing = [r for r in self.readings if r.error is not None]
        if len(failing) == len(self.readings):
            raise RuntimeError(" ".join(r.error or "" for r in failing))
        return DatabaseSnapshot(self.readings, time.time())

    async def _read(self, server: MonitoredServer, reading: ServerReading) -> None:
        replicas, queries = self._replicas, self._queries
        assert replicas is not None
        name = server.ref.name
        try:
            result = await replicas.run(
                name,
                lambda conn: queries.read_server(
                    conn, server.ref, self._counters.get(name), slow_s=self.settings.slow_running_s
                ),
                timeout_s=self.settings.timeout_s,
            )
        except Exception as exc:  # every failure is a sentence on that server's row
            reading.fail(failure_sentence(server.ref, exc, self.settings.statement_timeout_ms), time.time())
            return
        health, self._counters[name] = result.value
        reading.record(health)

    async def _open(self) -> ReplicaSet:
        """The pool over every server, passwords from the keychain; SQLAlchemy imported on a worker."""
        loop = asyncio.get_running_loop()
        replicas_module = await loop.run_in_executor(
            None, importlib.import_module, "nexus_console.services.replicas"
        )
        self._queries = await loop.run_in_executor(
            None, importlib.import_module, "nexus_console.services.db_queries"
        )
        configs = []
        for server in self.servers:
            url = server.dsn
            password = await self.keychain.get(server.password_key) if self.keychain is not None else None
            if password:
                url = replicas_module.with_password(url, password)
            configs.append(
                replicas_module.ReplicaConfig(
                    server.ref.name,
                    (url,),
                    statement_timeout_ms=self.settings.statement_timeout_ms,
                    pool_size=1,
                    connect_timeout_s=2,
                )
            )
        return replicas_module.ReplicaSet(configs)

    async def aclose(self) -> None:
        if self._replicas is not None:
            await self._replicas.aclose()
            self._replicas = None


def failure_sentence(server: ServerRef, exc: BaseException, statement_timeout_ms: int) -> str:
    """What went wrong on one server, in words; the driver's own first line at the end, passwords never."""
    kind = type(exc).__name__
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else kind
    if kind == "ReplicaUnavailable":
        reason = detail.split(": ")[-1] if ": " in detail else detail
        return f"{server.label} does not answer ({reason})."
    if kind == "QueryTimeout":
        return f"{server.label} took longer than {statement_timeout_ms} ms to answer the statistics queries."
    if isinstance(exc, TimeoutError):
        return f"{server.label} did not answer within the poll's time limit."
    return f"{server.label} could not be read: {detail}"


def add_database_poller(
    registry: PollerRegistry, monitor: DatabaseMonitor, settings: DatabaseSettings
) -> Poller[DatabaseSnapshot]:
    return registry.add(
        Poller(DATABASE_POLLER, monitor.poll, settings.interval_s, timeout_s=settings.timeout_s)
    )

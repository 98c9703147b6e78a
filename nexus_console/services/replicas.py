"""Read-only access to the platform databases' replicas, with failover and a lag stamp on every result.

Each logical database (users, workstation, marketplace) has one or more URLs, tried in order: when the
one in use fails to connect or drops the connection, the next one takes over. Sessions are read-only
(`default_transaction_read_only`, SQLite `query_only`), every statement has a timeout, and each URL has
a small bounded pool.

Why a bounded thread pool and not psycopg's async mode: SQLite files are the demo default and have no
async driver here, so threads give one code path for both; SQLAlchemy Core's sync API is the mature one
(reflection, pool pre-ping, failover on `OperationalError`); and the work per lookup is a few
milliseconds of I/O, where a thread hop costs little. The pool holds as many threads as connections, so
a job never queues for a connection while holding a thread, and a slow query is ended by the server's
statement_timeout rather than by abandoning a thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from nexus_console.domain.replica_reads import ReplicaLag, ReplicaResult, parse_lsn
from nexus_console.services.blocking import run_blocking
from nexus_console.services.keychain import Keychain, database_password_key
from nexus_console.services.profiles import Profile

T = TypeVar("T")

REPLICA_NAMES = ("users", "workstation", "marketplace")
ENV_VARS = {"users": "USERS_DB_URL", "workstation": "WORKSTATION_DB_URL", "marketplace": "MARKETPLACE_DB_URL"}


class ReplicaUnavailable(RuntimeError):
    """Every URL of a replica failed; the message names each URL's error (without passwords)."""


class QueryTimeout(RuntimeError):
    """The replica ended a statement that ran past the statement timeout."""


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    name: str
    urls: tuple[str, ...]
    statement_timeout_ms: int = 5000
    connect_timeout_s: int = 3
    pool_size: int = 2
    # after failing over, try the first URL again once this long has passed
    failback_after_s: float = 60.0


def urls_from_env(value: str | None) -> tuple[str, ...]:
    """`USERS_DB_URL` may list several URLs separated by commas or whitespace, tried in that order."""
    if not value:
        return ()
    return tuple(part for part in value.replace(",", " ").split() if part)


def redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def with_password(url: str, password: str) -> str:
    """The DSN with its password (from the keychain) set, for the engine only: never logged or shown."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


_PG_LAG_SQL = text(
    """SELECT pg_is_in_recovery() AS in_recovery,
              pg_last_wal_replay_lsn()::text AS replay_lsn,
              pg_last_wal_receive_lsn()::text AS receive_lsn,
              r.latest_end_lsn::text AS primary_end_lsn,
              r.status AS receiver_status,
              EXTRACT(EPOCH FROM now() - r.last_msg_receipt_time)::float8 AS since_primary_s,
              EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_replay_s
       FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"""
)


def measure_lag(conn: Connection, name: str, url_index: int) -> ReplicaLag:
    """The lag of the replica behind `conn`, by WAL position.

    The primary's WAL end comes from `pg_stat_wal_receiver.latest_end_lsn`, which the primary reports in
    every message, keepalives included: while the primary is idle it equals the replayed position and the
    lag is 0, where `now() - pg_last_xact_replay_timestamp()` would keep growing.
    """
    now = time.time()
    if conn.dialect.name != "postgresql":
        return ReplicaLag(name, url_index, False, None, 0, 0.0, True, now)
    row = conn.execute(_PG_LAG_SQL).mappings().one()
    if not row["in_recovery"]:
        return ReplicaLag(name, url_index, False, None, 0, 0.0, True, now)
    replay = parse_lsn(row["replay_lsn"])
    ends = [v for v in (parse_lsn(row["primary_end_lsn"]), parse_lsn(row["receive_lsn"])) if v is not None]
    connected = row["receiver_status"] == "streaming"
    lag_bytes = None if replay is None or not ends else max(0, max(ends) - replay)
    if not connected:
        lag_s = row["since_primary_s"]
        lag_bytes = None
    elif lag_bytes == 0:
        lag_s = 0.0
    else:
        lag_s = row["since_replay_s"]
    return ReplicaLag(name, url_index, True, replay, lag_bytes, lag_s, connected, now)


_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error", "file is not a database")


def _is_connection_failure(exc: DBAPIError) -> bool:
    """Errors that mean "this URL is unusable now" (fail over), as opposed to errors in the query."""
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return any(text_ in str(exc.orig).lower() for text_ in _SQLITE_UNREACHABLE)
    if not isinstance(exc, OperationalError):
        return False
    return not _is_statement_timeout(exc)


def _is_statement_timeout(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "57014":  # query_canceled: statement_timeout
        return True
    return isinstance(orig, sqlite3.OperationalError) and "interrupted" in str(orig)


class Replica:
    """One logical database behind one or more replica URLs; sticks to the URL that last worked."""

    def __init__(self, config: ReplicaConfig) -> None:
        if not config.urls:
            raise ValueError(f"replica {config.name!r} has no URL")
        self.config = config
        self.name = config.name
        self._engines: dict[int, Engine] = {}
        self._lock = threading.Lock()
        self.active_index = 0
        self.failovers = 0
        self._failed_over_at = 0.0

    @property
    def dialect(self) -> str:
        return make_url(self.config.urls[self.active_index]).get_backend_name()

    def _engine(self, index: int) -> Engine:
        with self._lock:
            engine = self._engines.get(index)
            if engine is None:
                engine = self._engines[index] = self._create_engine(self.config.urls[index])
            return engine

    def _create_engine(self, url: str) -> Engine:
        config = self.config
        if make_url(url).get_backend_name() == "sqlite":
            return _sqlite_engine(url, config)
        options = (
            f"-c default_transaction_read_only=on -c statement_timeout={config.statement_timeout_ms}"
            " -c application_name=nexus-console"
        )
        return create_engine(
            url,
            pool_size=config.pool_size,
            max_overflow=0,
            pool_timeout=config.connect_timeout_s + config.statement_timeout_ms / 1000,
            pool_pre_ping=True,
            connect_args={"connect_timeout": config.connect_timeout_s, "options": options},
        )

    def run(self, work: Callable[[Connection], T]) -> ReplicaResult[T]:
        """Run `work` in one read-only transaction on the first URL that answers, from the one in use."""
        errors = []
        count = len(self.config.urls)
        if self.active_index and time.monotonic() - self._failed_over_at >= self.config.failback_after_s:
            self.active_index = 0  # the preferred replica may be back
        start = self.active_index
        for step in range(count):
            index = (start + step) % count
            try:
                with self._engine(index).connect() as conn:
                    value = work(conn)
                    lag = measure_lag(conn, self.name, index)
                    conn.rollback()
            except DBAPIError as exc:
                if _is_statement_timeout(exc):
                    raise QueryTimeout(
                        f"{self.name}: query ran past {self.config.statement_timeout_ms} ms"
                    ) from exc
                if not _is_connection_failure(exc):
                    raise
                errors.append(f"{redact(self.config.urls[index])}: {str(exc.orig or exc).strip()}")
                self._engine(index).dispose()
                continue
            if index != self.active_index:
                if index != 0:
                    self.failovers += 1
                    self._failed_over_at = time.monotonic()
                self.active_index = index
            return ReplicaResult(value, lag, time.time())
        raise ReplicaUnavailable(f"{self.name}: every replica URL failed: " + "; ".join(errors))

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _sqlite_engine(url: str, config: ReplicaConfig) -> Engine:
    """A read-only SQLite engine: opened with mode=ro, query_only, and a per-statement time limit."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an SQLite replica needs a file path")
    uri = f"file:{database}?mode=ro"
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(
            uri, uri=True, check_same_thread=False, timeout=config.connect_timeout_s
        ),
        poolclass=QueuePool,
        pool_size=config.pool_size,
        max_overflow=0,
    )
    limit_s = config.statement_timeout_ms / 1000

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    @event.listens_for(engine, "before_cursor_execute")
    def _arm_timeout(conn: Connection, *_args: Any) -> None:
        deadline = time.monotonic() + limit_s
        raw = conn.connection.dbapi_connection
        # returning non-zero interrupts the statement ("interrupted"), like statement_timeout
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)  # type: ignore[union-attr]

    return engine


class ReplicaSet:
    """The console's replicas, and the bounded executor every database call runs on."""

    def __init__(self, configs: Sequence[ReplicaConfig], *, max_workers: int | None = None) -> None:
        self.replicas = {config.name: Replica(config) for config in configs}
        workers = max_workers or max(2, sum(c.pool_size for c in configs))
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replica-db")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **config: Any) -> ReplicaSet:
        environ = os.environ if environ is None else environ
        configs = []
        for name in REPLICA_NAMES:
            urls = urls_from_env(environ.get(ENV_VARS[name]))
            if urls:
                configs.append(ReplicaConfig(name, urls, **config))
        return cls(configs)

    @classmethod
    def sqlite_directory(cls, data_dir: Path, **config: Any) -> ReplicaSet:
        """The demo default: `<name>.sqlite3` files (the reference server's data dir), opened read-only."""
        configs = [
            ReplicaConfig(name, (f"sqlite:///{Path(data_dir) / (name + '.sqlite3')}",), **config)
            for name in REPLICA_NAMES
            if (Path(data_dir) / (name + ".sqlite3")).exists()
        ]
        return cls(configs)

    def replica(self, name: str) -> Replica:
        try:
            return self.replicas[name]
        except KeyError:
            raise ReplicaUnavailable(
                f"no {name} replica configured (set {ENV_VARS.get(name, name)})"
            ) from None

    async def run(
        self, name: str, work: Callable[[Connection], T], *, timeout_s: float = 30.0
    ) -> ReplicaResult[T]:
        """Run `work(connection)` on the named replica, off the event loop's thread."""
        replica = self.replica(name)
        return await run_blocking(self._executor, replica.run, work, timeout_s=timeout_s)

    async def aclose(self) -> None:
        # Waiting threads are idle or bounded by statement_timeout, so this returns promptly.
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for replica in self.replicas.values():
            replica.dispose()


async def replicas_from_profile(
    profile: Profile, keychain: Keychain | None, *, statement_timeout_ms: int = 5000
) -> ReplicaSet:
    """The profile's replica DSNs (no passwords in them) with their passwords from the keychain."""
    configs = []
    for name, dsns in profile.replicas.items():
        urls = []
        for url in dsns:
            password = None
            if keychain is not None and not url.startswith("sqlite"):
                password = await keychain.get(database_password_key(name))
            urls.append(with_password(url, password) if password else url)
        if urls:
            configs.append(ReplicaConfig(name, tuple(urls), statement_timeout_ms=statement_timeout_ms))
    if not configs:
        raise RuntimeError(f"profile {profile.name!r} has no database replicas configured")
    return ReplicaSet(configs)

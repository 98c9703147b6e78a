"""What the Database pane shows of one PostgreSQL server, read from its own statistics views: sessions and
who blocks whom, transaction and cache figures, the slowest statements, replication by LSN, sizes, unused
indexes and a summary of its locks. Pure data and rules; `services.db_queries` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nexus_console.domain.ringbuffer import TimeSeriesRing

SLOW_RUNNING_S = 5.0  # an active statement running this long is listed as slow while it runs
HISTORY_COLUMNS = ("tps", "cache_hit_pct", "connections", "waiting", "lag_bytes")


@dataclass(frozen=True, slots=True)
class ServerRef:
    """One monitored server: the name the pane shows, where it is, and the database it is read through."""

    name: str
    host: str
    port: int
    database: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.host}:{self.port})"


@dataclass(frozen=True, slots=True)
class Backend:
    """One client session of `pg_stat_activity`."""

    pid: int
    user: str
    database: str
    application: str
    client: str
    state: str
    wait: str  # "Lock: transactionid", "" when not waiting
    query: str
    query_age_s: float | None  # since the current (or last) statement started
    transaction_age_s: float | None
    blocked_by: tuple[int, ...] = ()

    @property
    def idle_in_transaction(self) -> bool:
        return self.state.startswith("idle in transaction")


@dataclass(frozen=True, slots=True)
class ChainLine:
    """One session in a blocking chain: `depth` 0 blocks the others and waits for nobody in the chain."""

    depth: int
    backend: Backend
    blocks: int  # how many sessions wait for this one, directly or not


def blocking_chains(backends: Iterable[Backend]) -> list[ChainLine]:
    """Who blocks whom, as trees: each root (a blocker that waits for no one) followed by those waiting for
    it, depth first, the longest waits first. A deadlock cycle (PostgreSQL ends it within a second) or a
    blocker outside the list shows with its waiters at the top."""
    by_pid = {b.pid: b for b in backends}
    waiters: dict[int, list[Backend]] = {}
    for backend in by_pid.values():
        for blocker in backend.blocked_by:
            waiters.setdefault(blocker, []).append(backend)
    if not waiters:
        return []

    def reach(pid: int, seen: set[int]) -> int:
        count = 0
        for waiter in waiters.get(pid, ()):
            if waiter.pid not in seen:
                seen.add(waiter.pid)
                count += 1 + reach(waiter.pid, seen)
        return count

    lines: list[ChainLine] = []
    placed: set[int] = set()

    def place(pid: int, depth: int) -> None:
        placed.add(pid)
        backend = by_pid.get(pid) or Backend(pid, "", "", "", "", "not visible here", "", "", None, None)
        lines.append(ChainLine(depth, backend, reach(pid, {pid})))
        ordered = sorted(waiters.get(pid, ()), key=lambda b: -(b.query_age_s or 0.0))
        for waiter in ordered:
            if waiter.pid not in placed:
                place(waiter.pid, depth + 1)

    roots = [pid for pid in waiters if not (by_pid.get(pid) and by_pid[pid].blocked_by)]
    for pid in sorted(roots, key=lambda p: -reach(p, {p})):
        place(pid, 0)
    for pid in waiters:  # cycles: no root reaches them
        if pid not in placed:
            place(pid, 0)
    return lines


@dataclass(frozen=True, slots=True)
class DatabaseCounters:
    """`pg_stat_database` summed over the server's databases at one instant."""

    at: float
    commits: int
    rollbacks: int
    blocks_read: int
    blocks_hit: int
    deadlocks: int
    temp_files: int
    temp_bytes: int


@dataclass(frozen=True, slots=True)
class DatabaseRates:
    """The counters' change since the previous reading (None on the first)."""

    tps: float | None
    cache_hit_pct: float | None  # over the interval; since the statistics reset on the first reading
    deadlocks: int  # since the statistics reset
    temp_files: int
    temp_bytes: int
    new_deadlocks: int | None


def rates(previous: DatabaseCounters | None, current: DatabaseCounters) -> DatabaseRates:
    def hit_pct(hit: int, read: int) -> float | None:
        return 100.0 * hit / (hit + read) if hit + read > 0 else None

    if previous is None or current.at <= previous.at or current.commits < previous.commits:
        return DatabaseRates(
            None, hit_pct(current.blocks_hit, current.blocks_read), current.deadlocks, current.temp_files,
            current.temp_bytes, None,
        )  # fmt: skip
    seconds = current.at - previous.at
    transactions = current.commits + current.rollbacks - previous.commits - previous.rollbacks
    hit = current.blocks_hit - previous.blocks_hit
    read = current.blocks_read - previous.blocks_read
    cumulative = hit_pct(current.blocks_hit, current.blocks_read)
    return DatabaseRates(
        tps=max(0.0, transactions / seconds),
        cache_hit_pct=hit_pct(hit, read) if hit + read > 0 else cumulative,
        deadlocks=current.deadlocks,
        temp_files=current.temp_files,
        temp_bytes=current.temp_bytes,
        new_deadlocks=max(0, current.deadlocks - previous.deadlocks),
    )


@dataclass(frozen=True, slots=True)
class Statement:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass(frozen=True, slots=True)
class Statements:
    """`pg_stat_statements`, or the sentence saying why it cannot be read on this server."""

    slowest: tuple[Statement, ...] = ()  # by mean time
    most_expensive: tuple[Statement, ...] = ()  # by total time
    missing: str | None = None


@dataclass(frozen=True, slots=True)
class ReplicationLink:
    """A standby as its primary sees it (`pg_stat_replication`), or a slot with no standby attached."""

    name: str
    client: str
    state: str  # streaming, catchup, … or "not connected" for an inactive slot
    replay_lsn: str
    lag_bytes: int | None
    replay_lag_s: float | None


@dataclass(frozen=True, slots=True)
class StandbyState:
    """This server is a standby: how far behind its primary it is."""

    receiving: bool
    replay_lsn: str
    lag_bytes: int | None
    lag_s: float | None
    replay_paused: bool


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    size_bytes: int
    detail: str = ""  # for an index: its table and its scans


@dataclass(frozen=True, slots=True)
class LockCount:
    locktype: str
    mode: str
    granted: bool
    count: int


@dataclass(frozen=True, slots=True)
class LockSummary:
    """pg_locks counted on the server, never listed whole: a busy database holds tens of thousands."""

    total: int
    waiting: int
    by_mode: tuple[LockCount, ...]
    by_relation: tuple[tuple[str, int, int], ...]  # (relation, held, waiting), the most locked first


@dataclass(frozen=True, slots=True)
class ServerHealth:
    server: ServerRef
    read_at: float
    role: str  # "primary" or "standby"
    version: str
    max_connections: int
    connections: Mapping[str, int]  # client backends by state
    backends: tuple[Backend, ...]  # the interesting ones: waiting, blocking, idle in transaction, slow
    chains: tuple[ChainLine, ...]
    rates: DatabaseRates
    statements: Statements
    replication: tuple[ReplicationLink, ...]
    standby: StandbyState | None
    database_sizes: tuple[Relation, ...]
    tables: tuple[Relation, ...]
    indexes: tuple[Relation, ...]
    unused_indexes: tuple[Relation, ...]
    locks: LockSummary

    @property
    def connection_total(self) -> int:
        return sum(self.connections.values())

    @property
    def idle_in_transaction(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.idle_in_transaction)

    def running_longer_than(self, seconds: float) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.state == "active" and (b.query_age_s or 0.0) >= seconds)

    @property
    def lag_bytes(self) -> int | None:
        """A standby's own lag; on a primary, its most lagging standby's (None without standbys)."""
        if self.standby is not None:
            return self.standby.lag_bytes
        lags = [link.lag_bytes for link in self.replication if link.lag_bytes is not None]
        return max(lags, default=None)


@dataclass(slots=True)
class ServerReading:
    """The latest reading of one server: its last good health (kept while it fails) and the error."""

    server: ServerRef
    health: ServerHealth | None = None
    error: str | None = None
    failed_at: float | None = None
    history: TimeSeriesRing = field(default_factory=lambda: TimeSeriesRing(360, HISTORY_COLUMNS))

    def record(self, health: ServerHealth) -> None:
        self.health, self.error, self.failed_at = health, None, None
        lag = health.lag_bytes
        self.history.append(
            health.read_at,
            [
                _nan(health.rates.tps),
                _nan(health.rates.cache_hit_pct),
                float(health.connection_total),
                float(sum(1 for b in health.backends if b.blocked_by)),
                _nan(lag),
            ],
        )

    def fail(self, error: str, at: float) -> None:
        self.error = error
        self.failed_at = self.failed_at or at


@dataclass(frozen=True, slots=True)
class DatabaseSnapshot:
    """Every monitored server's latest reading, in the profile's order."""

    readings: tuple[ServerReading, ...]
    read_at: float
    note: str | None = None  # why there is nothing to read (no PostgreSQL in the profile)

    def failing(self) -> list[ServerReading]:
        return [r for r in self.readings if r.error is not None]


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def server_name(monitoring: bool, taken: Sequence[str]) -> str:
    """A short unique name: "primary" for the monitoring DSN, "replica 1", "replica 2"… for the others."""
    if monitoring and "primary" not in taken:
        return "primary"
    index = 1
    while f"replica {index}" in taken:
        index += 1
    return f"replica {index}"

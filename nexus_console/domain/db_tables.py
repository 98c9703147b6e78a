"""The Database pane's tables as rows of text and numbers: one function per table, from `db_health` values.
Pure, so the wording (ages, sizes, "not installed") is tested without widgets."""

from __future__ import annotations

import time

from nexus_console.domain.db_health import (
    ChainLine,
    ReplicationLink,
    ServerHealth,
    ServerReading,
    Statement,
)
from nexus_console.domain.freshness import format_age
from nexus_console.domain.units import size_text

Row = tuple[object, ...]

SERVER_COLUMNS = (
    "Server", "Role", "State", "Connections", "Waiting", "Idle in txn", "Tx/s", "Cache hit", "Lag", "Read",
)  # fmt: skip
CHAIN_COLUMNS = ("Session", "Blocks", "User", "State", "Waiting on", "For", "Statement")
BACKEND_COLUMNS = (
    "PID",
    "User",
    "Database",
    "Client",
    "State",
    "Transaction age",
    "Statement age",
    "Statement",
)
STATEMENT_COLUMNS = ("Mean (ms)", "Total (ms)", "Calls", "Rows", "Statement")
REPLICATION_COLUMNS = ("Standby", "Client", "State", "Replayed up to", "Behind", "Replay lag")
RELATION_COLUMNS = ("Name", "Size", "Detail")
LOCK_MODE_COLUMNS = ("Lock type", "Mode", "Granted", "Count")
LOCK_RELATION_COLUMNS = ("Relation", "Locks", "Waiting")


def format_seconds(seconds: float | None) -> str:
    return "–" if seconds is None else format_age(max(0.0, seconds))


def server_row(reading: ServerReading, now: float | None = None) -> Row:
    now = time.time() if now is None else now
    health = reading.health
    if health is None:
        state = reading.error or "reading…"
        return (reading.server.label, "–", state, "–", "–", "–", "–", "–", "–", "never")
    state = "does not answer" if reading.error else "ok"
    if not reading.error and health.chains:
        state = f"{sum(1 for line in health.chains if line.depth == 0)} blocking"
    return (
        reading.server.label,
        health.role,
        state,
        f"{health.connection_total} / {health.max_connections}",
        sum(1 for b in health.backends if b.blocked_by),
        len(health.idle_in_transaction),
        "–" if health.rates.tps is None else f"{health.rates.tps:,.1f}",
        "–" if health.rates.cache_hit_pct is None else f"{health.rates.cache_hit_pct:.1f} %",
        lag_text(health),
        f"{format_age(now - health.read_at)} ago",
    )


def lag_text(health: ServerHealth) -> str:
    standby = health.standby
    if standby is None:
        return "primary"
    paused = ", replay paused" if standby.replay_paused else ""
    if standby.lag_bytes is None:
        return f"not receiving{paused}"
    return f"{size_text(standby.lag_bytes)} · {format_seconds(standby.lag_s)}{paused}"


def chain_rows(chains: tuple[ChainLine, ...]) -> list[Row]:
    return [
        (
            ("    " * line.depth + ("└ " if line.depth else "")) + str(line.backend.pid),
            line.blocks,
            line.backend.user,
            line.backend.state,
            line.backend.wait or "–",
            format_seconds(line.backend.query_age_s if line.depth else line.backend.transaction_age_s),
            line.backend.query,
        )
        for line in chains
    ]


def backend_rows(health: ServerHealth, slow_s: float) -> list[Row]:
    shown = [*health.idle_in_transaction, *health.running_longer_than(slow_s)]
    return [
        (
            b.pid,
            b.user,
            b.database,
            b.client,
            b.state,
            format_seconds(b.transaction_age_s),
            format_seconds(b.query_age_s),
            b.query,
        )
        for b in sorted(shown, key=lambda b: -(b.transaction_age_s or 0.0))
    ]


def statement_rows(statements: tuple[Statement, ...]) -> list[Row]:
    return [(s.mean_ms, s.total_ms, s.calls, s.rows, s.query) for s in statements]


def replication_rows(health: ServerHealth) -> list[Row]:
    if health.standby is not None:
        s = health.standby
        state = "receiving" if s.receiving else "not receiving from its primary"
        return [("this server", "", state, s.replay_lsn, size_text(s.lag_bytes), format_seconds(s.lag_s))]
    return [_link_row(link) for link in health.replication]


def _link_row(link: ReplicationLink) -> Row:
    return (link.name, link.client, link.state, link.replay_lsn, size_text(link.lag_bytes),
            format_seconds(link.replay_lag_s))  # fmt: skip


def relation_rows(health: ServerHealth) -> list[Row]:
    rows: list[Row] = [("Databases", "", "")]
    rows += [(f"  {r.name}", size_text(r.size_bytes), r.detail) for r in health.database_sizes]
    rows.append(("Largest tables (with indexes and TOAST)", "", ""))
    rows += [(f"  {r.name}", size_text(r.size_bytes), r.detail) for r in health.tables]
    rows.append(("Largest indexes", "", ""))
    rows += [(f"  {r.name}", size_text(r.size_bytes), r.detail) for r in health.indexes]
    rows.append(("Unused or rarely used indexes (fewer than 50 scans on this server)", "", ""))
    rows += [(f"  {r.name}", size_text(r.size_bytes), r.detail) for r in health.unused_indexes]
    return rows


def lock_rows(health: ServerHealth) -> tuple[list[Row], list[Row]]:
    modes = [(c.locktype, c.mode, "yes" if c.granted else "WAITING", c.count) for c in health.locks.by_mode]
    relations = [(name, held, waiting) for name, held, waiting in health.locks.by_relation]
    return modes, relations


def chain_title(health: ServerHealth) -> str:
    waiting = sum(1 for line in health.chains if line.depth)
    if not waiting:
        return "Who blocks whom: no session is waiting for a lock"
    roots = sum(1 for line in health.chains if line.depth == 0)
    return f"Who blocks whom: {waiting} sessions waiting behind {roots} blocking"


def backends_title(health: ServerHealth, slow_s: float) -> str:
    idle, slow = len(health.idle_in_transaction), len(health.running_longer_than(slow_s))
    if not idle and not slow:
        return f"No session idle in a transaction or running longer than {slow_s:.0f} s"
    return f"{idle} idle in a transaction, {slow} running longer than {slow_s:.0f} s"


def server_figures(health: ServerHealth) -> str:
    """The figures of one server that have no table: connections by state, deadlocks and temporary files."""
    states = ", ".join(
        f"{count} {state}" for state, count in sorted(health.connections.items(), key=lambda i: -i[1])
    )
    r = health.rates
    new = f" ({r.new_deadlocks} in the last interval)" if r.new_deadlocks else ""
    return (
        f"Connections: {states or 'none'} (of {health.max_connections}) · deadlocks since the statistics "
        f"reset: {r.deadlocks:,}{new} · temporary files: {r.temp_files:,} ({size_text(r.temp_bytes)})"
    )

"""The Database pane's reading of one PostgreSQL server: a handful of statements on its statistics views in
one read-only transaction (the replica pool's sessions: `default_transaction_read_only`, `statement_timeout`).

Everything that can be large is counted or capped in SQL, never fetched whole: locks are grouped by mode
and by relation, sessions are only the waiting, blocking, idle-in-transaction and long-running ones,
statements and relations the top ten. `pg_blocking_pids()` takes the lock manager's locks, so it runs only
for sessions that wait on a lock.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from nexus_console.domain.db_health import (
    SLOW_RUNNING_S,
    Backend,
    DatabaseCounters,
    LockCount,
    LockSummary,
    Relation,
    ReplicationLink,
    ServerHealth,
    ServerRef,
    StandbyState,
    Statement,
    Statements,
    blocking_chains,
    rates,
)

BACKEND_LIMIT = 200
_LOCKED_NOTE = " (locked: size estimated)"
_LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '500ms'")
TOP = 10
QUERY_CHARS = 400

_SERVER = text(
    """SELECT pg_is_in_recovery() AS standby, current_setting('server_version') AS version,
              current_setting('max_connections')::int AS max_connections"""
)
_CONNECTIONS = text(
    """SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM pg_stat_activity
       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1"""
)
_BACKENDS = text(
    f"""WITH b AS (
          SELECT pid, coalesce(usename, '') AS usr, coalesce(datname, '') AS db,
                 coalesce(application_name, '') AS app, coalesce(host(client_addr), 'local') AS client,
                 coalesce(state, '') AS state,
                 CASE WHEN wait_event_type IS NULL THEN ''
                      ELSE wait_event_type || ': ' || wait_event END AS wait,
                 left(coalesce(query, ''), {QUERY_CHARS}) AS query,
                 EXTRACT(EPOCH FROM now() - query_start)::float8 AS query_age,
                 EXTRACT(EPOCH FROM now() - xact_start)::float8 AS xact_age,
                 CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid)
                      ELSE '{{}}'::int[] END AS blocked_by
          FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())
        SELECT * FROM b
        WHERE cardinality(blocked_by) > 0
           OR pid IN (SELECT unnest(blocked_by) FROM b)
           OR state LIKE 'idle in transaction%'
           OR (state = 'active' AND query_age >= :slow_s)
        ORDER BY cardinality(blocked_by) > 0 DESC, xact_age DESC NULLS LAST
        LIMIT {BACKEND_LIMIT}"""
)
_COUNTERS = text(
    """SELECT coalesce(sum(xact_commit), 0)::bigint AS commits,
              coalesce(sum(xact_rollback), 0)::bigint AS rollbacks,
              coalesce(sum(blks_read), 0)::bigint AS blocks_read,
              coalesce(sum(blks_hit), 0)::bigint AS blocks_hit,
              coalesce(sum(deadlocks), 0)::bigint AS deadlocks,
              coalesce(sum(temp_files), 0)::bigint AS temp_files,
              coalesce(sum(temp_bytes), 0)::bigint AS temp_bytes
       FROM pg_stat_database WHERE datname IS NOT NULL"""
)
_HAS_STATEMENTS = text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
_STATEMENTS = """SELECT left(query, {chars}) AS query, calls, total_exec_time AS total_ms,
                        mean_exec_time AS mean_ms, rows
                 FROM pg_stat_statements WHERE query NOT LIKE '%%pg_stat_statements%%'
                 ORDER BY {order} DESC LIMIT {top}"""
_REPLICATION = text(
    """SELECT coalesce(s.slot_name, r.application_name) AS name, coalesce(host(r.client_addr), '') AS client,
              coalesce(r.state, 'not connected') AS state, coalesce(r.replay_lsn, s.restart_lsn)::text AS lsn,
              pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(r.replay_lsn, s.restart_lsn))::bigint
                  AS lag_bytes,
              EXTRACT(EPOCH FROM r.replay_lag)::float8 AS lag_s
       FROM pg_stat_replication AS r
       FULL JOIN pg_replication_slots AS s ON s.active_pid = r.pid
       WHERE r.pid IS NOT NULL OR NOT s.active
       ORDER BY 1"""
)
_STANDBY = text(
    """SELECT r.status IS NOT NULL AND r.status = 'streaming' AS receiving,
              pg_last_wal_replay_lsn()::text AS replay_lsn,
              pg_wal_lsn_diff(greatest(r.latest_end_lsn, pg_last_wal_receive_lsn()),
                              pg_last_wal_replay_lsn())::bigint AS lag_bytes,
              EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 AS since_replay_s,
              pg_is_wal_replay_paused() AS paused
       FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true"""
)
_DATABASE_SIZES = text(
    f"""SELECT datname AS name, pg_database_size(oid) AS size FROM pg_database
        WHERE datallowconn ORDER BY 2 DESC LIMIT {TOP}"""
)
# A relation under an ACCESS EXCLUSIVE lock (ALTER TABLE, LOCK TABLE, VACUUM FULL) cannot be opened to
# measure it without queueing behind that lock: its size is estimated from pg_class instead.
_LOCKED = """(SELECT relation FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation IS NOT NULL
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"""
_TABLES = text(
    f"""SELECT c.oid::regclass::text AS name, c.oid IN {_LOCKED} AS locked,
               CASE WHEN c.oid IN {_LOCKED} THEN c.relpages::bigint * current_setting('block_size')::bigint
                    ELSE pg_total_relation_size(c.oid) END AS size,
               coalesce(s.n_live_tup, 0)::bigint AS live_rows
        FROM pg_class AS c LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid
        WHERE c.relkind IN ('r', 'p', 'm') AND c.relnamespace NOT IN
              (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast'))
        ORDER BY 3 DESC LIMIT {TOP}"""
)
_INDEXES = """SELECT s.indexrelid::regclass::text AS name, s.relid::regclass::text AS tbl,
                      s.idx_scan AS scans, s.indexrelid IN {locked} AS locked,
                      CASE WHEN s.indexrelid IN {locked}
                           THEN c.relpages::bigint * current_setting('block_size')::bigint
                           ELSE pg_relation_size(s.indexrelid) END AS size
               FROM pg_stat_user_indexes AS s JOIN pg_index AS i ON i.indexrelid = s.indexrelid
               JOIN pg_class AS c ON c.oid = s.indexrelid
               WHERE {where} ORDER BY {order} LIMIT {top}"""
_LOCK_MODES = text(
    """SELECT locktype, mode, granted, count(*) AS n FROM pg_locks
       WHERE pid <> pg_backend_pid() GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 40"""
)
_LOCK_RELATIONS = text(
    f"""SELECT CASE WHEN l.database = d.oid THEN l.relation::regclass::text
                    ELSE coalesce(o.datname, '?') || '.' || l.relation::text END AS relation,
               count(*) AS held, count(*) FILTER (WHERE NOT l.granted) AS waiting
        FROM pg_locks AS l
        CROSS JOIN (SELECT oid FROM pg_database WHERE datname = current_database()) AS d
        LEFT JOIN pg_database AS o ON o.oid = l.database
        WHERE l.relation IS NOT NULL AND l.pid <> pg_backend_pid()
        GROUP BY 1 ORDER BY 2 DESC LIMIT {TOP}"""
)


def read_server(
    conn: Connection, server: ServerRef, previous: DatabaseCounters | None, *, slow_s: float = SLOW_RUNNING_S
) -> tuple[ServerHealth, DatabaseCounters]:
    """Every figure of the Database pane for one server, through `conn` (one transaction), and the
    counters the next reading's rates start from."""
    conn.execute(_LOCK_TIMEOUT)  # a catalogue lock behind a long ALTER must fail the reading, not hang it
    info = conn.execute(_SERVER).mappings().one()
    now = time.time()
    counters = DatabaseCounters(now, **conn.execute(_COUNTERS).mappings().one())
    backends = tuple(_backend(row) for row in conn.execute(_BACKENDS, {"slow_s": slow_s}).mappings())
    standby = _standby(conn) if info["standby"] else None
    lock_modes = [
        LockCount(r["locktype"], r["mode"], r["granted"], r["n"])
        for r in conn.execute(_LOCK_MODES).mappings()
    ]
    health = ServerHealth(
        server=server,
        read_at=now,
        role="standby" if info["standby"] else "primary",
        version=str(info["version"]),
        max_connections=int(info["max_connections"]),
        connections={row["state"]: int(row["n"]) for row in conn.execute(_CONNECTIONS).mappings()},
        backends=backends,
        chains=tuple(blocking_chains(backends)),
        rates=rates(previous, counters),
        statements=_statements(conn, server),
        replication=() if info["standby"] else _replication(conn),
        standby=standby,
        database_sizes=tuple(
            Relation(r["name"], int(r["size"])) for r in conn.execute(_DATABASE_SIZES).mappings()
        ),
        tables=tuple(
            Relation(r["name"], int(r["size"]), f"{r['live_rows']:,} rows" + _LOCKED_NOTE * r["locked"])
            for r in conn.execute(_TABLES).mappings()
        ),
        indexes=_indexes(conn, "size DESC"),
        unused_indexes=_indexes(
            conn,
            "s.idx_scan ASC, size DESC",
            where="NOT i.indisunique AND s.idx_scan < 50",
        ),
        locks=LockSummary(
            total=sum(c.count for c in lock_modes),
            waiting=sum(c.count for c in lock_modes if not c.granted),
            by_mode=tuple(lock_modes),
            by_relation=tuple(
                (r["relation"], int(r["held"]), int(r["waiting"]))
                for r in conn.execute(_LOCK_RELATIONS).mappings()
            ),
        ),
    )
    return health, counters


def _backend(row: Any) -> Backend:
    return Backend(
        pid=int(row["pid"]),
        user=row["usr"],
        database=row["db"],
        application=row["app"],
        client=row["client"],
        state=row["state"],
        wait=row["wait"],
        query=" ".join(row["query"].split()),
        query_age_s=row["query_age"],
        transaction_age_s=row["xact_age"],
        blocked_by=tuple(int(p) for p in row["blocked_by"] or ()),
    )


def _statements(conn: Connection, server: ServerRef) -> Statements:
    where = f"{server.label}, database {server.database}"
    if not conn.execute(_HAS_STATEMENTS).scalar():
        return Statements(
            missing=f"pg_stat_statements is not installed on {where}: slow statements cannot be read there "
            "(CREATE EXTENSION pg_stat_statements, with the library in shared_preload_libraries)."
        )
    found: dict[str, tuple[Statement, ...]] = {}
    for order in ("mean_exec_time", "total_exec_time"):
        sql = text(_STATEMENTS.format(chars=QUERY_CHARS, order=order, top=TOP))
        try:
            with conn.begin_nested():
                rows = conn.execute(sql).mappings().all()
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0]
            return Statements(missing=f"pg_stat_statements cannot be read on {where}: {reason}.")
        found[order] = tuple(
            Statement(
                " ".join(r["query"].split()),
                int(r["calls"]),
                float(r["total_ms"]),
                float(r["mean_ms"]),
                int(r["rows"]),
            )
            for r in rows
        )
    return Statements(found["mean_exec_time"], found["total_exec_time"])


def _replication(conn: Connection) -> tuple[ReplicationLink, ...]:
    return tuple(
        ReplicationLink(r["name"] or "?", r["client"], r["state"], r["lsn"] or "", r["lag_bytes"], r["lag_s"])
        for r in conn.execute(_REPLICATION).mappings()
    )


def _standby(conn: Connection) -> StandbyState:
    row = conn.execute(_STANDBY).mappings().one()
    lag_bytes = row["lag_bytes"]
    lag_s = 0.0 if lag_bytes == 0 and row["receiving"] else row["since_replay_s"]
    return StandbyState(
        bool(row["receiving"]), row["replay_lsn"] or "", lag_bytes, lag_s, bool(row["paused"])
    )


def _indexes(conn: Connection, order: str, where: str = "true") -> tuple[Relation, ...]:
    sql = text(_INDEXES.format(where=where, order=order, top=TOP, locked=_LOCKED))
    return tuple(
        Relation(
            r["name"], int(r["size"]), f"on {r['tbl']}, {r['scans']:,} scans" + _LOCKED_NOTE * r["locked"]
        )
        for r in conn.execute(sql).mappings()
    )

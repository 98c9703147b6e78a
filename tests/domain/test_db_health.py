"""The Database pane's rules without a database: blocking chains as trees (a queue behind a queue, a
deadlock cycle, a blocker that is not listed), rates from two readings (a statistics reset is not a
negative rate), and the words the tables use."""

from __future__ import annotations

import math

from nexus_console.domain.db_health import (
    Backend,
    DatabaseCounters,
    LockSummary,
    ServerHealth,
    ServerReading,
    ServerRef,
    StandbyState,
    Statements,
    blocking_chains,
    rates,
)
from nexus_console.domain.db_tables import chain_title, lag_text, server_figures, server_row
from nexus_console.domain.units import size_text

SERVER = ServerRef("replica 1", "127.0.0.1", 5433, "users")


def backend(pid: int, *blocked_by: int, age: float = 1.0, state: str = "active") -> Backend:
    wait = "Lock: relation" if blocked_by else ""
    return Backend(pid, "app", "users", "", "local", state, wait, "q", age, age, tuple(blocked_by))


def health(**changes: object) -> ServerHealth:
    values: dict[str, object] = dict(
        server=SERVER, read_at=1000.0, role="standby", version="15", max_connections=100,
        connections={"active": 2}, backends=(), chains=(), rates=rates(None, counters(1000.0, 10)),
        statements=Statements(), replication=(), standby=StandbyState(True, "0/1", 0, 0.0, False),
        database_sizes=(), tables=(), indexes=(), unused_indexes=(), locks=LockSummary(0, 0, (), ()),
    )  # fmt: skip
    values.update(changes)
    return ServerHealth(**values)  # type: ignore[arg-type]


def counters(at: float, commits: int, hit: int = 90, read: int = 10, deadlocks: int = 0) -> DatabaseCounters:
    return DatabaseCounters(at, commits, 0, read, hit, deadlocks, 0, 0)


def test_a_queue_behind_a_holder_is_one_tree_with_the_longest_wait_first() -> None:
    holder = backend(1, state="idle in transaction")
    first = backend(2, 1, age=9.0)
    second = backend(3, 1, 2, age=4.0)  # PostgreSQL queues it behind the holder and the first waiter
    other = backend(4, 1, age=2.0)
    lines = blocking_chains([second, holder, other, first])
    assert [(line.depth, line.backend.pid) for line in lines] == [(0, 1), (1, 2), (2, 3), (1, 4)]
    assert lines[0].blocks == 3 and lines[1].blocks == 1 and lines[3].blocks == 0


def test_no_waiting_session_means_no_chain() -> None:
    assert blocking_chains([backend(1), backend(2)]) == []


def test_a_deadlock_cycle_and_an_unlisted_blocker_still_show() -> None:
    lines = blocking_chains([backend(1, 2), backend(2, 1), backend(5, 99)])
    pids = [line.backend.pid for line in lines]
    assert sorted(pids) == [1, 2, 5, 99]
    unlisted = next(line for line in lines if line.backend.pid == 99)
    assert unlisted.depth == 0 and unlisted.backend.state == "not visible here"


def test_rates_come_from_two_readings_and_a_statistics_reset_starts_over() -> None:
    first = rates(None, counters(100.0, 1000, hit=900, read=100))
    assert first.tps is None and math.isclose(first.cache_hit_pct or 0, 90.0)
    second = rates(counters(100.0, 1000, hit=900, read=100), counters(110.0, 1500, hit=1890, read=110))
    assert math.isclose(second.tps or 0, 50.0) and math.isclose(second.cache_hit_pct or 0, 99.0)
    after_reset = rates(counters(110.0, 1500), counters(120.0, 20))
    assert after_reset.tps is None


def test_a_primary_s_lag_history_is_its_most_lagging_standby() -> None:
    from nexus_console.domain.db_health import ReplicationLink

    links = (
        ReplicationLink("replica1", "127.0.0.1", "streaming", "0/10", 4096, 0.5),
        ReplicationLink("replica2", "", "not connected", "0/1", 90_000, None),
    )
    primary = health(role="primary", standby=None, replication=links)
    reading = ServerReading(SERVER)
    reading.record(primary)
    assert reading.history.column("lag_bytes")[-1] == 90_000
    assert lag_text(primary) == "primary"


def test_the_tables_say_sizes_lags_and_errors_in_words() -> None:
    assert [size_text(v) for v in (512, 2048, 5 * 1024**3)] == ["512 B", "2.0 kB", "5.0 GB"]
    paused = health(standby=StandbyState(True, "0/1", 3 * 1024**2, 12.0, True))
    assert lag_text(paused) == "3.0 MB · 12 s, replay paused"
    assert lag_text(health(standby=StandbyState(False, "0/1", None, None, False))) == "not receiving"
    reading = ServerReading(SERVER)
    reading.record(health())
    reading.fail("replica 1 (127.0.0.1:5433) does not answer (Connection refused).", 1005.0)
    row = server_row(reading, now=1010.0)
    assert row[2] == "does not answer" and row[9] == "10 s ago"  # the last reading, with its age
    assert server_row(ServerReading(SERVER))[9] == "never"
    assert chain_title(health()) == "Who blocks whom: no session is waiting for a lock"


def test_a_server_s_connections_by_state_deadlocks_and_temp_files_are_one_line() -> None:
    counted = health(
        connections={"idle": 3, "active": 5, "idle in transaction": 1},
        rates=rates(counters(100.0, 10, deadlocks=2), counters(110.0, 20, deadlocks=3)),
    )
    assert server_figures(counted).startswith("Connections: 5 active, 3 idle, 1 idle in transaction (of 100)")
    assert "deadlocks since the statistics reset: 3 (1 in the last interval)" in server_figures(counted)

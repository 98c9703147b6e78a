"""Replica access against a real PostgreSQL 15 primary with two streaming replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from nexus_console.domain.replica_reads import ReplicaLag
from nexus_console.services.replicas import QueryTimeout, Replica, ReplicaConfig, ReplicaSet
from tests.admin.conftest import wait_for_replicas
from tests.support.postgres import PgCluster, free_port

pytestmark = pytest.mark.postgres


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def scratch_table(pg_cluster: PgCluster) -> str:
    """A table on the primary (workstation database) the tests write to, replicated like any other."""
    with psycopg.connect(_plain(pg_cluster.primary_url("workstation")), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS lag_probe (id bigserial PRIMARY KEY, payload text)")
    wait_for_replicas(pg_cluster)
    return "lag_probe"


def _lag(replica: Replica) -> ReplicaLag:
    return replica.run(lambda conn: None).lag


def test_replica_sessions_are_read_only_even_on_a_primary_url(
    pg_cluster: PgCluster, scratch_table: str
) -> None:
    urls = (pg_cluster.replica_url("workstation"), pg_cluster.primary_url("workstation"))
    for url in urls:
        replica = Replica(ReplicaConfig("workstation", (url,)))
        try:
            with pytest.raises(DBAPIError, match="read-only transaction"):
                replica.run(lambda conn: conn.execute(text("INSERT INTO lag_probe (payload) VALUES ('x')")))
        finally:
            replica.dispose()


@pytest.fixture(scope="module")
def idle_cluster() -> Iterator[PgCluster]:
    """A primary nobody else writes to (the shared one serves a busy reference server)."""
    cluster = PgCluster(("workstation",), replicas=1)
    cluster.start()
    try:
        with psycopg.connect(_plain(cluster.primary_url("workstation")), autocommit=True) as conn:
            conn.execute("CREATE TABLE lag_probe (id bigserial PRIMARY KEY, payload text)")
            conn.execute("INSERT INTO lag_probe (payload) VALUES ('one write, then silence')")
        wait_for_replicas(cluster, database="workstation")
        yield cluster
    finally:
        cluster.destroy()


def test_lag_is_zero_while_the_primary_is_idle(idle_cluster: PgCluster) -> None:
    replica = Replica(ReplicaConfig("workstation", (idle_cluster.replica_url("workstation"),)))
    try:
        time.sleep(1.2)  # idle: the last replayed commit gets older, the replica is not behind
        lag = _lag(replica)
        since_last_commit = replica.run(
            lambda conn: conn.execute(
                text("SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8")
            ).scalar_one()
        ).value
    finally:
        replica.dispose()
    assert lag.is_replica and lag.receiver_connected
    assert since_last_commit > 1.0  # the timestamp measure would call this lag
    assert (lag.lag_bytes, lag.lag_s) == (0, 0.0)
    assert lag.describe() == "workstation replica: caught up"


def test_lag_shows_while_the_replica_is_behind_and_clears_when_it_catches_up(
    pg_cluster: PgCluster, scratch_table: str
) -> None:
    replica = Replica(ReplicaConfig("workstation", (pg_cluster.replica_url("workstation", 0),)))
    pg_cluster.pause_replay(0)
    try:
        with psycopg.connect(_plain(pg_cluster.primary_url("workstation")), autocommit=True) as primary:
            primary.execute(
                "INSERT INTO lag_probe (payload) SELECT repeat('x', 200) FROM generate_series(1, 2000)"
            )
        deadline = time.monotonic() + 10
        # the replica receives the ~0.5 MB of WAL but does not replay it
        while ((lag := _lag(replica)).lag_bytes or 0) < 100_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lag.lag_bytes is not None and lag.lag_bytes >= 100_000
        assert lag.lag_s is not None and lag.lag_s >= 0
        assert "bytes behind" in lag.describe()
    finally:
        pg_cluster.resume_replay(0)
    deadline = time.monotonic() + 10
    while (lag := _lag(replica)).lag_bytes != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    replica.dispose()
    assert lag.lag_bytes == 0


def test_a_stopped_first_replica_fails_over_to_the_second(pg_cluster: PgCluster, scratch_table: str) -> None:
    replica = Replica(
        ReplicaConfig(
            "workstation",
            (pg_cluster.replica_url("workstation", 0), pg_cluster.replica_url("workstation", 1)),
            connect_timeout_s=2,
        )
    )
    count = text("SELECT COUNT(*) FROM lag_probe")
    try:
        before = replica.run(lambda conn: conn.execute(count).scalar_one())
        assert before.lag.url_index == 0
        pg_cluster.stop("replica1")
        try:
            after = replica.run(lambda conn: conn.execute(count).scalar_one())
            assert after.lag.url_index == 1 and replica.failovers == 1
            assert after.value == before.value
            assert after.lag.is_replica
        finally:
            pg_cluster.start()
        # once the first replica is back and the failback delay has passed, it is preferred again
        replica._failed_over_at -= replica.config.failback_after_s
        back = replica.run(lambda conn: conn.execute(count).scalar_one())
        assert back.lag.url_index == 0 and replica.failovers == 1
    finally:
        replica.dispose()


def test_a_dead_first_url_is_skipped_from_the_start(pg_cluster: PgCluster, scratch_table: str) -> None:
    dead = f"postgresql+psycopg://app:apppw@127.0.0.1:{free_port()}/workstation"
    replica = Replica(ReplicaConfig("workstation", (dead, pg_cluster.replica_url("workstation", 1))))
    try:
        assert replica.run(lambda conn: conn.execute(text("SELECT 1")).scalar_one()).lag.url_index == 1
    finally:
        replica.dispose()


def test_a_slow_query_is_ended_by_the_statement_timeout(pg_cluster: PgCluster) -> None:
    replica = Replica(
        ReplicaConfig("workstation", (pg_cluster.replica_url("workstation"),), statement_timeout_ms=300)
    )
    try:
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            replica.run(lambda conn: conn.execute(text("SELECT pg_sleep(5)")))
        assert time.monotonic() - started < 3
        assert replica.active_index == 0  # a timeout is not a reason to fail over
    finally:
        replica.dispose()


@pytest.mark.asyncio
async def test_the_pool_is_bounded(pg_cluster: PgCluster) -> None:
    url = pg_cluster.replica_url("workstation")
    replicas = ReplicaSet([ReplicaConfig("workstation", (url,), pool_size=2)], max_workers=4)
    seen: list[int] = []

    def busy(conn):  # type: ignore[no-untyped-def]
        conn.execute(text("SELECT pg_sleep(0.2)"))
        return conn.execute(
            text("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'nexus-console'")
        ).scalar_one()

    try:
        results = await asyncio.gather(*(replicas.run("workstation", busy) for _ in range(6)))
        seen = [r.value for r in results]
    finally:
        await replicas.aclose()
    assert max(seen) <= 2

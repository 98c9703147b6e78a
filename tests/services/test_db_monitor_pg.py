"""The Database pane's source against the real PostgreSQL primary and its two streaming replicas: what a DBA
asks of it (who blocks whom, what runs slow, how far behind each replica is) read from PostgreSQL's own
views through the monitoring role and the replica DSNs of a profile."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import psycopg
import pytest
import pytest_asyncio

from nexus_console.domain.db_health import DatabaseSnapshot, ServerReading
from nexus_console.services.db_monitor import DatabaseMonitor, DatabaseSettings, monitored_servers
from nexus_console.services.keychain import Keychain, database_password_key
from nexus_console.services.profiles import Profile
from tests.support.memory_keyring import MemoryKeyring
from tests.support.postgres import APP_PASSWORD, MONITOR_PASSWORD, PgCluster
from tests.support.postgres_fixtures import wait_for_replicas

pytestmark = pytest.mark.postgres  # the real cluster; without its binaries the fixture fails, saying so


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _profile(cluster: PgCluster, monitoring_database: str = "users") -> Profile:
    def bare(url: str) -> str:
        return url.replace(f":{APP_PASSWORD}@", "@")

    return Profile(
        "pg",
        "http://127.0.0.1:1",
        replicas={
            "users": tuple(bare(cluster.replica_url("users", i)) for i in range(2)),
            "marketplace": (bare(cluster.replica_url("marketplace", 0)),),
        },
        monitoring_dsn=cluster.monitor_url(monitoring_database, password=False),
    )


@pytest_asyncio.fixture
async def keychain() -> Keychain:
    chain = Keychain("nexus-console:pg", backend=MemoryKeyring())
    await chain.set(database_password_key("users"), APP_PASSWORD)
    await chain.set(database_password_key("marketplace"), APP_PASSWORD)
    await chain.set(database_password_key("monitoring"), MONITOR_PASSWORD)
    return chain


@pytest_asyncio.fixture
async def monitor(pg_cluster: PgCluster, keychain: Keychain) -> AsyncIterator[DatabaseMonitor]:
    wait_for_replicas(pg_cluster)
    monitor = DatabaseMonitor(_profile(pg_cluster), keychain, DatabaseSettings(slow_running_s=1.0))
    try:
        yield monitor
    finally:
        await monitor.aclose()


def _reading(snapshot: DatabaseSnapshot, name: str) -> ServerReading:
    return next(r for r in snapshot.readings if r.server.name == name)


class Holder:
    """A session on one server that runs statements on a thread of its own and stays open until closed."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(_plain(url), autocommit=True)
        self.pid = self.conn.info.backend_pid
        self.thread: threading.Thread | None = None

    def run(self, sql: str) -> None:
        self.conn.execute(sql)

    def run_in_background(self, sql: str) -> None:
        def work() -> None:
            with contextlib.suppress(psycopg.Error):  # cancelled at the end of the test
                self.conn.execute(sql)

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.conn.cancel_safe() if self.thread is not None else None
        if self.thread is not None:
            self.thread.join(10)
        self.conn.close()


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    opened: list[Holder] = []
    yield opened
    for holder in reversed(opened):
        holder.close()


async def _until(
    monitor: DatabaseMonitor, check: Callable[[DatabaseSnapshot], bool], timeout_s: float = 15.0
) -> DatabaseSnapshot:
    deadline = time.monotonic() + timeout_s
    while True:
        snapshot = await monitor.poll()
        if check(snapshot):
            return snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout_s} s; last errors: {snapshot.failing()}")
        await asyncio.sleep(0.2)


def test_servers_are_the_monitoring_dsn_and_each_replica_once(pg_cluster: PgCluster) -> None:
    servers = monitored_servers(_profile(pg_cluster))
    assert [(s.ref.name, s.ref.port, s.ref.database) for s in servers] == [
        ("primary", pg_cluster.primary_port, "users"),
        ("replica 1", pg_cluster.replica_ports[0], "users"),
        ("replica 2", pg_cluster.replica_ports[1], "users"),
    ]


@pytest.mark.asyncio
async def test_a_blocking_chain_on_a_replica_shows_who_blocks_whom(
    monitor: DatabaseMonitor, pg_cluster: PgCluster, holders: list[Holder]
) -> None:
    url = pg_cluster.replica_url("users", 0)
    blocker, first, second = Holder(url), Holder(url), Holder(url)
    holders += [blocker, first, second]
    blocker.run("BEGIN")
    blocker.run("SELECT pg_advisory_xact_lock(4242)")
    first.run_in_background("SELECT pg_advisory_xact_lock(4242)")
    time.sleep(0.3)
    second.run_in_background("SELECT pg_advisory_xact_lock(4242)")

    def chained(snapshot: DatabaseSnapshot) -> bool:
        health = _reading(snapshot, "replica 1").health
        return health is not None and len(health.chains) >= 3

    health = _reading(await _until(monitor, chained), "replica 1").health
    assert health is not None
    chain = [(line.depth, line.backend.pid, line.blocks) for line in health.chains]
    assert chain[0] == (0, blocker.pid, 2)
    assert chain[1][:2] == (1, first.pid)  # the longest wait first
    assert second.pid in [pid for _, pid, _ in chain[2:]]
    waiting = {b.pid: b for b in health.backends if b.blocked_by}
    assert waiting[first.pid].blocked_by == (blocker.pid,)
    # PostgreSQL queues the second behind the first as well as behind the holder
    assert set(waiting[second.pid].blocked_by) == {blocker.pid, first.pid}
    assert waiting[first.pid].wait.startswith("Lock")
    assert health.locks.waiting >= 2
    assert any(c.locktype == "advisory" and not c.granted and c.count >= 2 for c in health.locks.by_mode)


@pytest.mark.asyncio
async def test_an_idle_in_transaction_session_shows_its_age(
    monitor: DatabaseMonitor, pg_cluster: PgCluster, holders: list[Holder]
) -> None:
    idle = Holder(pg_cluster.replica_url("users", 1))
    holders.append(idle)
    idle.run("BEGIN")
    idle.run("SELECT 1")
    began = time.monotonic()
    await asyncio.sleep(1.2)

    def shows_idle(snapshot: DatabaseSnapshot) -> bool:
        health = _reading(snapshot, "replica 2").health
        return health is not None and any(b.pid == idle.pid for b in health.idle_in_transaction)

    health = _reading(await _until(monitor, shows_idle), "replica 2").health
    assert health is not None
    session = next(b for b in health.idle_in_transaction if b.pid == idle.pid)
    assert 1.0 <= (session.transaction_age_s or 0) <= time.monotonic() - began + 1.0
    assert health.connections.get("idle in transaction", 0) >= 1


@pytest.mark.asyncio
async def test_a_long_running_statement_shows_as_slow_and_then_among_the_slowest(
    monitor: DatabaseMonitor, pg_cluster: PgCluster, holders: list[Holder]
) -> None:
    slow = Holder(pg_cluster.replica_url("users", 0))
    holders.append(slow)
    slow.run_in_background("SELECT pg_sleep(2.5) AS nexus_slow_statement")

    def running(snapshot: DatabaseSnapshot) -> bool:
        health = _reading(snapshot, "replica 1").health
        return health is not None and any(b.pid == slow.pid for b in health.running_longer_than(1.0))

    await _until(monitor, running)
    assert slow.thread is not None
    slow.thread.join(10)

    def ranked(snapshot: DatabaseSnapshot) -> bool:
        health = _reading(snapshot, "replica 1").health
        return health is not None and any(
            "nexus_slow_statement" in s.query for s in health.statements.slowest
        )

    health = _reading(await _until(monitor, ranked), "replica 1").health
    assert health is not None and health.statements.missing is None
    top = next(s for s in health.statements.slowest if "nexus_slow_statement" in s.query)
    assert top.mean_ms >= 2400
    assert health.statements.slowest[0].mean_ms >= top.mean_ms


@pytest.mark.asyncio
async def test_replication_lag_shows_by_lsn_and_clears_when_replay_resumes(
    monitor: DatabaseMonitor, pg_cluster: PgCluster
) -> None:
    await monitor.poll()
    pg_cluster.pause_replay(0)
    try:
        with psycopg.connect(_plain(pg_cluster.primary_url("users")), autocommit=True) as primary:
            primary.execute("CREATE TABLE IF NOT EXISTS lag_probe (n int)")
            primary.execute("INSERT INTO lag_probe SELECT generate_series(1, 2000)")

        def lagging(snapshot: DatabaseSnapshot) -> bool:
            replica = _reading(snapshot, "replica 1").health
            return replica is not None and (replica.lag_bytes or 0) > 0

        snapshot = await _until(monitor, lagging)
        replica = _reading(snapshot, "replica 1").health
        primary_health = _reading(snapshot, "primary").health
        assert replica is not None and replica.standby is not None and replica.standby.replay_paused
        assert primary_health is not None and primary_health.role == "primary"
        links = {link.name: link for link in primary_health.replication}
        assert (links["replica1"].lag_bytes or 0) > 0 and links["replica1"].state == "streaming"
    finally:
        pg_cluster.resume_replay(0)

    def caught_up(snapshot: DatabaseSnapshot) -> bool:
        replica = _reading(snapshot, "replica 1").health
        return replica is not None and replica.lag_bytes == 0

    await _until(monitor, caught_up)
    history = _reading(await monitor.poll(), "replica 1").history
    assert history.column("lag_bytes").max() > 0 and history.column("lag_bytes")[-1] == 0


@pytest.mark.asyncio
async def test_a_stopped_replica_keeps_its_last_reading_with_the_error_and_recovers(
    monitor: DatabaseMonitor, pg_cluster: PgCluster
) -> None:
    before = _reading(await monitor.poll(), "replica 2").health
    assert before is not None
    pg_cluster.stop("replica2")
    try:

        def down(snapshot: DatabaseSnapshot) -> bool:
            primary = _reading(snapshot, "primary").health
            links = {link.name: link for link in primary.replication} if primary else {}
            return _reading(snapshot, "replica 2").error is not None and "replica2" in links

        snapshot = await _until(monitor, down)
        reading = _reading(snapshot, "replica 2")
        assert reading.health is before  # the last good reading, not blank
        assert reading.error is not None and "does not answer" in reading.error
        assert str(pg_cluster.replica_ports[1]) in reading.error and APP_PASSWORD not in reading.error
        primary = _reading(snapshot, "primary").health
        assert primary is not None
        slot = next(link for link in primary.replication if link.name == "replica2")
        assert slot.state == "not connected"
    finally:
        pg_cluster.start()
        wait_for_replicas(pg_cluster)

    def back(snapshot: DatabaseSnapshot) -> bool:
        reading = _reading(snapshot, "replica 2")
        return reading.error is None and reading.health is not before and reading.health.lag_bytes == 0

    await _until(monitor, back, timeout_s=30)


@pytest.mark.asyncio
async def test_pg_stat_statements_missing_on_one_server_is_said_and_the_rest_still_reads(
    pg_cluster: PgCluster, keychain: Keychain
) -> None:
    monitor = DatabaseMonitor(_profile(pg_cluster, monitoring_database="marketplace"), keychain)
    try:
        snapshot = await monitor.poll()
    finally:
        await monitor.aclose()
    primary = _reading(snapshot, "primary")
    assert primary.error is None and primary.health is not None
    missing = primary.health.statements.missing
    assert (
        missing is not None and "pg_stat_statements is not installed" in missing and "marketplace" in missing
    )
    assert primary.health.database_sizes  # the rest of the server's figures are there
    replica = _reading(snapshot, "replica 1").health
    assert replica is not None and replica.statements.missing is None


def test_the_monitoring_role_cannot_write(pg_cluster: PgCluster) -> None:
    with psycopg.connect(_plain(pg_cluster.primary_url("users")), autocommit=True) as owner:
        owner.execute("CREATE TABLE IF NOT EXISTS monitor_write_probe (n int)")
    with psycopg.connect(_plain(pg_cluster.monitor_url("users")), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0] >= 1  # it reads the views
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO monitor_write_probe VALUES (1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE monitor_owned (n int)")

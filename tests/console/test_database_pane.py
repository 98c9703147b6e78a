"""The Database pane on the real primary and replicas: a DBA sees the servers with their roles and lag, who
blocks whom on the primary (a table lock and two sessions queued behind it), the locks counted by relation,
the slowest statements, and a server that stops answering keeps its figures, greyed, under its error. A
profile without PostgreSQL gets a sentence, not an empty pane."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from nexus_console.domain.db_health import DatabaseSnapshot
from nexus_console.services.auth import Credentials
from nexus_console.services.db_monitor import DatabaseSettings
from nexus_console.services.keychain import Keychain, database_password_key
from nexus_console.services.profiles import Profile
from nexus_console.views.database.pane import DatabasePane
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.memory_keyring import MemoryKeyring
from tests.support.postgres import APP_PASSWORD, MONITOR_PASSWORD, PgCluster
from tests.support.postgres_fixtures import _plain, wait_for_replicas
from tests.support.refserver import RefServer
from tests.support.session import console_session

pytestmark = pytest.mark.postgres

FAST = SessionSettings(database=DatabaseSettings(interval_s=0.5, timeout_s=5.0, slow_running_s=1.0))


def _profile(server: RefServer, cluster: PgCluster | None) -> Profile:
    if cluster is None:
        replicas = {"users": (f"sqlite:///{server.data_dir / 'users.sqlite3'}",)}
        return Profile("lab", server.base_url, replicas=replicas)
    bare = [cluster.replica_url("users", i).replace(f":{APP_PASSWORD}@", "@") for i in range(2)]
    return Profile(
        "lab",
        server.base_url,
        replicas={"users": tuple(bare)},
        monitoring_dsn=cluster.monitor_url("users", password=False),
    )


def run_pane(
    server: RefServer,
    cluster: PgCluster | None,
    check: Callable[[ConsoleSession, DatabasePane], Awaitable[None]],
) -> Any:
    async def scenario() -> None:
        keychain = Keychain("nexus-console:lab", backend=MemoryKeyring())
        await keychain.set(database_password_key("users"), APP_PASSWORD)
        await keychain.set(database_password_key("monitoring"), MONITOR_PASSWORD)
        async with api_stack(server.base_url) as stack:
            me = await stack.auth.login(Credentials("analyst@nexus.test", DEMO_PASSWORD))
            profile = _profile(server, cluster)
            async with console_session(
                profile, stack.api, stack.http, me, settings=FAST, keychain=keychain
            ) as session:
                pane = DatabasePane(session)
                pane.resize(1366, 768)
                pane.show()
                try:
                    await check(session, pane)
                finally:
                    pane.shutdown()
                    pane.hide()
                    pane.deleteLater()

    return scenario


def rows(pane: DatabasePane, table: str) -> list[tuple[Any, ...]]:
    return pane.tables[table][0].items()


def test_a_dba_sees_who_blocks_whom_on_the_primary_and_the_locks_by_relation(
    qloop: QLoop, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    wait_for_replicas(pg_cluster)
    url = _plain(pg_cluster.primary_url("users"))
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS pane_lock_probe (n int)")
    holder = psycopg.connect(url, autocommit=True)
    waiters = [psycopg.connect(url, autocommit=True) for _ in range(2)]

    async def check(session: ConsoleSession, pane: DatabasePane) -> None:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE pane_lock_probe IN ACCESS EXCLUSIVE MODE")
        loop = asyncio.get_running_loop()
        blocked = [
            loop.run_in_executor(None, w.execute, "SELECT count(*) FROM pane_lock_probe") for w in waiters
        ]
        try:
            # the primary is read while a table is locked: its size is estimated, never queued for
            await wait_until(lambda: len(rows(pane, "chains")) >= 3, timeout_s=20)
            servers = [row[0] for row in pane.servers.items()]
            assert servers == [
                f"primary (127.0.0.1:{pg_cluster.primary_port})",
                f"replica 1 (127.0.0.1:{pg_cluster.replica_ports[0]})",
                f"replica 2 (127.0.0.1:{pg_cluster.replica_ports[1]})",
            ]
            roles = [row[1] for row in pane.servers.items()]
            assert roles == ["primary", "standby", "standby"]
            assert pane.servers.items()[0][2] == "1 blocking"
            chain = rows(pane, "chains")
            assert chain[0][0] == str(holder.info.backend_pid) and chain[0][1] == 2
            assert {row[0].strip(" └") for row in chain[1:]} == {str(w.info.backend_pid) for w in waiters}
            assert all(row[4].startswith("Lock") for row in chain[1:])
            # the holder sits idle in its transaction, listed with its age
            assert holder.info.backend_pid in [row[0] for row in rows(pane, "backends")]
            relations = {row[0]: (row[1], row[2]) for row in rows(pane, "lock_relations")}
            assert relations["pane_lock_probe"][0] >= 3 and relations["pane_lock_probe"][1] == 2
            assert "waiting" in pane.lock_totals.text()
            standby_lag = pane.servers.items()[1][8]  # "0 B · 0 s", or a few bytes while WAL streams
            assert re.fullmatch(r"[\d.]+ [kMG]?B · \d+ (s|min)", standby_lag), standby_lag
            assert (
                "primary (127.0.0.1" in pane.server_title.text()
                and "PostgreSQL 15" in pane.server_title.text()
            )
        finally:
            holder.execute("ROLLBACK")
            await asyncio.gather(*blocked)

    try:
        qloop.run(run_pane(pg_refserver, pg_cluster, check)(), timeout_s=90)
    finally:
        for conn in (holder, *waiters):
            conn.close()


def test_a_server_that_stops_answering_keeps_its_figures_greyed_under_its_error(
    qloop: QLoop, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    wait_for_replicas(pg_cluster)

    async def check(session: ConsoleSession, pane: DatabasePane) -> None:
        await wait_until(lambda: len(pane.servers.items()) == 3 and pane.servers.items()[2][9] != "never")
        pane.select_server("replica 2")
        pg_cluster.stop("replica2")
        try:
            await wait_until(lambda: pane.servers.items()[2][2] == "does not answer", timeout_s=20)
            assert pane.server_error.isVisible()
            assert (
                "does not answer" in pane.server_error.text() and APP_PASSWORD not in pane.server_error.text()
            )
            assert pane.details.graphicsEffect() is not None  # the last figures stay, greyed
            assert rows(pane, "relations"), "the last good figures are still shown"
            assert "1 not answering" in pane.info.text()
        finally:
            pg_cluster.start()
            wait_for_replicas(pg_cluster)
        await wait_until(lambda: pane.servers.items()[2][2] != "does not answer", timeout_s=30)
        assert not pane.server_error.isVisible()

    qloop.run(run_pane(pg_refserver, pg_cluster, check)(), timeout_s=90)


def test_a_profile_without_postgresql_is_told_so_in_a_sentence(qloop: QLoop, pg_refserver: RefServer) -> None:
    async def check(session: ConsoleSession, pane: DatabasePane) -> None:
        assert session.database_poller is not None
        await wait_until(lambda: pane.snapshot is not None)
        snapshot: DatabaseSnapshot = pane.snapshot
        assert snapshot.readings == ()
        assert "names no PostgreSQL server" in pane.info.text() and "monitoring_dsn" in pane.info.text()

    qloop.run(run_pane(pg_refserver, None, check)(), timeout_s=60)

"""Replica access on SQLite files, the demo default: read-only, failover to the next URL, a statement
time limit, and a lag stamp that says there is no replication."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from nexus_console.services.lookups import users
from nexus_console.services.replicas import (
    QueryTimeout,
    Replica,
    ReplicaConfig,
    ReplicaSet,
    ReplicaUnavailable,
    urls_from_env,
)


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    users.metadata.create_all(engine, tables=[users])
    with engine.begin() as conn:
        conn.execute(
            insert(users),
            [
                {
                    "id": i,
                    "email": f"u{i}@example.com",
                    "name": f"User {i}",
                    "country": "NO",
                    "status": "active",
                    "email_verified": True,
                    "version": 1,
                }
                for i in range(1, 21)
            ],
        )
    engine.dispose()
    return path


def test_urls_from_the_environment_are_tried_in_order() -> None:
    assert urls_from_env("sqlite:///a.db, sqlite:///b.db  sqlite:///c.db") == (
        "sqlite:///a.db",
        "sqlite:///b.db",
        "sqlite:///c.db",
    )
    assert urls_from_env(None) == ()


def test_sqlite_replica_reads_and_refuses_writes(users_file: Path) -> None:
    replica = Replica(ReplicaConfig("users", (f"sqlite:///{users_file}",)))
    try:
        result = replica.run(
            lambda conn: conn.execute(select(users.c.id).order_by(users.c.id)).scalars().all()
        )
        assert result.value == list(range(1, 21))
        assert result.lag.is_replica is False and result.lag.lag_bytes == 0
        with pytest.raises(DBAPIError, match=r"readonly|read-only|query_only"):
            replica.run(lambda conn: conn.execute(text("DELETE FROM users")))
    finally:
        replica.dispose()
    check = sqlite3.connect(users_file)
    assert check.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 20
    check.close()


def test_a_missing_first_url_fails_over_to_the_next(users_file: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "users.sqlite3"
    replica = Replica(ReplicaConfig("users", (f"sqlite:///{missing}", f"sqlite:///{users_file}")))
    try:
        result = replica.run(
            lambda conn: conn.execute(select(users.c.email).where(users.c.id == 3)).scalar_one()
        )
        assert result.value == "u3@example.com"
        assert result.lag.url_index == 1 and replica.active_index == 1 and replica.failovers == 1
    finally:
        replica.dispose()


def test_every_url_down_names_each_failure(tmp_path: Path) -> None:
    replica = Replica(
        ReplicaConfig("users", (f"sqlite:///{tmp_path}/a/x.db", f"sqlite:///{tmp_path}/b/y.db"))
    )
    try:
        with pytest.raises(ReplicaUnavailable, match=r"x\.db.*y\.db"):
            replica.run(lambda conn: conn.execute(text("SELECT 1")).scalar_one())
    finally:
        replica.dispose()


def test_a_runaway_sqlite_query_is_stopped_by_the_statement_timeout(users_file: Path) -> None:
    replica = Replica(ReplicaConfig("users", (f"sqlite:///{users_file}",), statement_timeout_ms=200))
    endless = text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n")
    try:
        with pytest.raises(QueryTimeout, match="200 ms"):
            replica.run(lambda conn: conn.execute(endless).scalar_one())
        # the connection is still usable afterwards
        assert replica.run(lambda conn: conn.execute(text("SELECT 7")).scalar_one()).value == 7
    finally:
        replica.dispose()


@pytest.mark.asyncio
async def test_replica_set_runs_work_off_the_event_loop_thread(users_file: Path) -> None:
    import threading

    replicas = ReplicaSet([ReplicaConfig("users", (f"sqlite:///{users_file}",))])
    loop_thread = threading.get_ident()
    try:
        result = await replicas.run("users", lambda conn: threading.get_ident())
        assert result.value != loop_thread
        with pytest.raises(ReplicaUnavailable, match="MARKETPLACE_DB_URL"):
            await replicas.run("marketplace", lambda conn: 1)
        results = await asyncio.gather(
            *(
                replicas.run("users", lambda conn: conn.execute(text("SELECT 1")).scalar_one())
                for _ in range(10)
            )
        )
        assert [r.value for r in results] == [1] * 10
    finally:
        await replicas.aclose()


@pytest.mark.asyncio
async def test_replicas_come_from_the_seed_environment_variables(users_file: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "users.sqlite3"
    replicas = ReplicaSet.from_env(
        {"USERS_DB_URL": f"sqlite:///{missing}, sqlite:///{users_file}", "WORKSTATION_DB_URL": ""},
        statement_timeout_ms=1000,
    )
    try:
        assert set(replicas.replicas) == {"users"}
        assert replicas.replica("users").config.statement_timeout_ms == 1000
        result = await replicas.run(
            "users", lambda conn: conn.execute(text("SELECT COUNT(*) FROM users")).scalar_one()
        )
        assert (result.value, result.lag.url_index) == (20, 1)
    finally:
        await replicas.aclose()

"""The console's own table definitions match what the reference server really creates, on PostgreSQL
(the replica) and on SQLite (the demo default)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Boolean, DateTime, Float, Integer, String, create_engine, inspect

from nexus_console.services.lookups import CONSOLE_TABLES, TABLE_REPLICA
from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer

# SQLAlchemy type families: what the console reads must come back as the same kind of value
FAMILIES = (Boolean, DateTime, Float, Integer, String)


def _family(sql_type: object) -> type:
    for family in FAMILIES:
        if isinstance(sql_type, family):
            return family
    raise AssertionError(f"unexpected column type {sql_type!r}")


def _assert_tables_match(url_for: dict[str, str]) -> None:
    for name, table in CONSOLE_TABLES.items():
        engine = create_engine(url_for[TABLE_REPLICA[name]])
        try:
            real = {column["name"]: column for column in inspect(engine).get_columns(name)}
        finally:
            engine.dispose()
        assert real, f"table {name} is missing"
        for column in table.columns:
            assert column.name in real, f"{name}.{column.name} does not exist in the real schema"
            assert _family(column.type) is _family(real[column.name]["type"]), f"{name}.{column.name}"


@pytest.mark.postgres
def test_console_tables_match_the_postgresql_replica(pg_cluster: PgCluster, pg_refserver: RefServer) -> None:
    _assert_tables_match({db: pg_cluster.replica_url(db) for db in ("users", "workstation", "marketplace")})


def test_console_tables_match_the_sqlite_demo_files(refserver_session: RefServer) -> None:
    data = Path(refserver_session.data_dir)
    _assert_tables_match(
        {db: f"sqlite:///{data / (db + '.sqlite3')}" for db in ("users", "workstation", "marketplace")}
    )

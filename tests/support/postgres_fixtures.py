"""Real PostgreSQL for the tests: a primary with two streaming replicas, and a reference server that writes to
the primary. The console reads the replicas. Both are session-scoped (one cluster for the whole run, shared
by tests/admin and the console's admin panes) and started only when a test asks for them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer

DATABASES = ("users", "workstation", "marketplace", "nexus")
PLATFORM_DATABASES = ("users", "workstation", "marketplace")
ADMIN_EMAIL = "admin@nexus.test"
DEMO_PASSWORD = "nexus-demo"
REFSERVER_SCALE = "0.02"  # 1,000 users


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster(DATABASES, replicas=2)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def wait_for_replicas(cluster: PgCluster, timeout_s: float = 30.0, database: str = "users") -> None:
    """Until every running replica has replayed everything the primary has written so far."""
    with psycopg.connect(_plain(cluster.primary_url(database)), autocommit=True) as primary:
        target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout_s
    for index, _port in enumerate(cluster.replica_ports):
        if f"replica{index + 1}" not in cluster.pids:
            continue
        with psycopg.connect(_plain(cluster.replica_url(database, index)), autocommit=True) as replica:
            while True:
                caught_up = replica.execute(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (str(target),)
                ).fetchone()[0]
                if caught_up:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replica{index + 1} did not catch up with {target}")
                time.sleep(0.05)


@pytest.fixture(scope="session")
def pg_refserver(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    """The reference server on the PostgreSQL primary (all four databases), small data."""
    args = ["--seed", "11", "--scale", REFSERVER_SCALE, "--scenario", "none"]
    for name in DATABASES:
        args += [f"--{name}-db-url", pg_cluster.primary_url(name)]
    server = RefServer(tmp_path_factory.mktemp("refserver-pg"), *args, session_owned=True)
    server.start(timeout_s=120)
    try:
        wait_for_replicas(pg_cluster)
        yield server
    finally:
        server.stop()


@pytest.fixture
def replica_urls(pg_cluster: PgCluster) -> dict[str, tuple[str, ...]]:
    """Each platform database: replica1 first, replica2 as failover."""
    return {
        name: tuple(pg_cluster.replica_url(name, i) for i in range(len(pg_cluster.replica_ports)))
        for name in PLATFORM_DATABASES
    }


def primary_rows(cluster: PgCluster, database: str, sql: str, params: tuple = ()) -> list[dict]:
    """Ground truth for assertions, read straight from the primary."""
    with psycopg.connect(_plain(cluster.primary_url(database)), autocommit=True) as conn:
        cursor = conn.execute(sql, params or None)
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def login(base_url: str) -> str:
    import httpx

    response = httpx.post(f"{base_url}/auth/login", json={"email": ADMIN_EMAIL, "password": DEMO_PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


def audit_counts_by_key(base_url: str, keys: set[str], entity_type: str = "user") -> dict[str, int]:
    """How many audit entries the server holds for each of `keys` (reads the whole trail, paged)."""
    import httpx

    headers = {"Authorization": f"Bearer {login(base_url)}"}
    counts = dict.fromkeys(keys, 0)
    cursor = None
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        while True:
            params = {"entity_type": entity_type, "actor": ADMIN_EMAIL, "limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/audit", params=params)
            page.raise_for_status()
            body = page.json()
            for item in body["items"]:
                if item["idempotency_key"] in counts:
                    counts[item["idempotency_key"]] += 1
            cursor = body["next_cursor"]
            if not cursor:
                return counts

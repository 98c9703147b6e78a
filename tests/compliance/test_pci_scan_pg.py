"""The PCI check on a real PostgreSQL replica: card numbers planted on the primary (whole and grouped, in
two databases) are found on the replica by table, column and row, masked; digit strings that fail Luhn are
not; the full number appears nowhere in the report."""

from __future__ import annotations

import psycopg
import pytest

from nexus_console.domain.card_numbers import luhn_valid
from nexus_console.services.pci_scan import scan_replicas
from nexus_console.services.replicas import ReplicaConfig, ReplicaSet
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import _plain, wait_for_replicas
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.postgres, pytest.mark.asyncio]

PLANTED = {  # (database, table, id) -> the text written there
    ("users", "search_queries", 90_000_001): "refund to 4111 1111 1111 1111 please",
    ("users", "search_queries", 90_000_002): "card 5555-5555-5555-4444 exp 12/29",
    ("users", "search_queries", 90_000_003): "order 4111111111111112 not a card",  # fails Luhn
    ("marketplace", "products", 90_000_004): "Gift card 378282246310005 (test)",
}


def _plant(cluster: PgCluster) -> None:
    with psycopg.connect(_plain(cluster.primary_url("users")), autocommit=True) as users:
        for (_database, table, row_id), value in PLANTED.items():
            if table == "search_queries":
                users.execute(
                    "INSERT INTO search_queries (id, user_id, query, at) VALUES (%s, 1, %s, now())",
                    (row_id, value),
                )
    with psycopg.connect(_plain(cluster.primary_url("marketplace")), autocommit=True) as marketplace:
        marketplace.execute(
            "INSERT INTO products (id, vendor_id, title, category, price_cents, created_at, status, flagged,"
            " version) VALUES (%s, 1, %s, 'books', 100, now(), 'approved', false, 1)",
            (90_000_004, PLANTED[("marketplace", "products", 90_000_004)]),
        )
    for database in ("users", "marketplace"):
        wait_for_replicas(cluster, database=database)


def _remove(cluster: PgCluster) -> None:
    with psycopg.connect(_plain(cluster.primary_url("users")), autocommit=True) as users:
        users.execute("DELETE FROM search_queries WHERE id >= 90000000")
    with psycopg.connect(_plain(cluster.primary_url("marketplace")), autocommit=True) as marketplace:
        marketplace.execute("DELETE FROM products WHERE id >= 90000000")


async def test_planted_card_numbers_are_found_on_the_replica_masked_and_luhn_failures_are_not(
    pg_cluster: PgCluster, pg_refserver: RefServer, replica_urls: dict[str, tuple[str, ...]]
) -> None:
    assert not luhn_valid("4111111111111112")
    _plant(pg_cluster)
    replicas = ReplicaSet([ReplicaConfig(name, urls) for name, urls in replica_urls.items()])
    try:
        report = await scan_replicas(replicas)
    finally:
        await replicas.aclose()
        _remove(pg_cluster)
    assert report.errors == []
    found = {(f.database, f.table, f.column, f.row): (f.masked, f.brand) for f in report.findings}
    assert found == {
        ("users", "search_queries", "query", "90000001"): ("411111******1111", "Visa"),
        ("users", "search_queries", "query", "90000002"): ("555555******4444", "Mastercard"),
        ("marketplace", "products", "title", "90000004"): ("378282*****0005", "American Express"),
    }
    assert not report.passed
    assert "users.search_queries.query" in report.columns and "users.users.email" in report.columns
    shown = repr(report)
    for number in ("4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"):
        assert number not in shown

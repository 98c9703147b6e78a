"""Lookups on the PostgreSQL replica of a reference server's data, checked against the primary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
import pytest_asyncio

from nexus_console.domain.replica_reads import Page
from nexus_console.services.lookups import Lookups, ProductQueue, ProductSearch, UserSearch, VendorSearch
from nexus_console.services.lookups import queries as lookup_queries
from nexus_console.services.replicas import ReplicaConfig, ReplicaSet
from tests.admin.conftest import primary_rows, wait_for_replicas
from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.postgres, pytest.mark.asyncio]

INJECTION_PAYLOADS = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    '" OR ""="',
    "1; DELETE FROM vendors",
    "%",
    "_",
    "\\",
    "%' OR 1=1 --",
    "a@%",
    "x') UNION SELECT id, email, name FROM users --",
    "$1",
    "%(name)s",
    "\x00' OR 1=1 --",
]


@pytest_asyncio.fixture
async def lookups(
    pg_refserver: RefServer, replica_urls: dict[str, tuple[str, ...]]
) -> AsyncIterator[Lookups]:
    replicas = ReplicaSet([ReplicaConfig(name, urls) for name, urls in replica_urls.items()])
    try:
        yield Lookups(replicas)
    finally:
        await replicas.aclose()


async def _all_user_pages(lookups: Lookups, search: UserSearch, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        result = await lookups.search_users(search, after=after, limit=limit)
        assert result.lag.is_replica
        page: Page[dict[str, Any]] = result.value
        rows.extend(page.rows)
        if page.next_after is None:
            return rows
        after = page.next_after


async def test_user_by_id(lookups: Lookups, pg_cluster: PgCluster) -> None:
    [truth] = primary_rows(pg_cluster, "users", "SELECT id, email, version FROM users WHERE id = 17")
    result = await lookups.search_users(UserSearch("17"))
    assert [(r["id"], r["email"], r["version"]) for r in result.value.rows] == [
        (truth["id"], truth["email"], truth["version"])
    ]
    assert result.value.next_after is None


async def test_user_by_email_prefix_pages_in_email_order(lookups: Lookups, pg_cluster: PgCluster) -> None:
    [sample] = primary_rows(pg_cluster, "users", "SELECT email FROM users WHERE id = 23")
    prefix = sample["email"].split(".")[0] + "."  # "anna." : every Anna
    expected = [
        r["id"]
        for r in primary_rows(
            pg_cluster, "users", "SELECT id FROM users WHERE email LIKE %s ORDER BY email", (prefix + "%",)
        )
    ]
    assert len(expected) > 3
    # an upper-case query still finds the lower-case emails
    rows = await _all_user_pages(lookups, UserSearch(prefix.upper()), limit=3)
    assert [r["id"] for r in rows] == expected
    full = await lookups.search_users(UserSearch(sample["email"]))
    assert [r["email"] for r in full.value.rows] == [sample["email"]]


@pytest.mark.parametrize("id_window", [50_000, 7, 40])
async def test_user_by_name_substring_pages_by_id(
    lookups: Lookups, pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch, id_window: int
) -> None:
    # small windows make each page cross from the ordered walk to the trigram index
    monkeypatch.setattr(lookup_queries, "NAME_SEARCH_ID_WINDOW", id_window)
    expected = [
        r["id"]
        for r in primary_rows(
            pg_cluster, "users", "SELECT id FROM users WHERE name ILIKE '%sen%' ORDER BY id"
        )
    ]
    assert len(expected) > 50
    rows = await _all_user_pages(lookups, UserSearch("SEN"), limit=20)
    assert [r["id"] for r in rows] == expected
    suspended = await _all_user_pages(lookups, UserSearch("sen", status="suspended"), limit=20)
    assert all(r["status"] == "suspended" and "sen" in r["name"].lower() for r in suspended)
    assert {r["id"] for r in suspended} <= set(expected)


async def test_counts_are_exact_when_small_and_estimated_when_large(
    lookups: Lookups, pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    [truth] = primary_rows(pg_cluster, "users", "SELECT COUNT(*) AS n FROM users WHERE name ILIKE '%lars%'")
    small = await lookups.count_users(UserSearch("lars"))
    assert small.value.exact and small.value.value == truth["n"]
    monkeypatch.setattr(lookup_queries, "COUNT_CAP", 100)
    with psycopg.connect(pg_cluster.primary_url("users").replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ANALYZE users")  # what autovacuum does on a real database
    wait_for_replicas(pg_cluster)
    [total] = primary_rows(pg_cluster, "users", "SELECT COUNT(*) AS n FROM users")
    estimated = (await lookups.count_users(UserSearch())).value
    assert not estimated.exact and estimated.value > 100
    assert total["n"] / 3 <= estimated.value <= total["n"] * 3
    assert estimated.describe().startswith("~")
    [many] = primary_rows(pg_cluster, "users", "SELECT COUNT(*) AS n FROM users WHERE name ILIKE '%%a%%'")
    filtered = (await lookups.count_users(UserSearch("a", status="active"))).value
    assert not filtered.exact and many["n"] / 5 <= filtered.value <= many["n"] * 3


async def test_vendor_search_and_product_queues(lookups: Lookups, pg_cluster: PgCluster) -> None:
    vendors = (await lookups.search_vendors(VendorSearch(status="approved"), limit=500)).value.rows
    truth = primary_rows(
        pg_cluster, "marketplace", "SELECT id FROM vendors WHERE status = 'approved' ORDER BY id"
    )
    assert [v["id"] for v in vendors] == [t["id"] for t in truth]

    flagged = (await lookups.search_products(ProductSearch(queue=ProductQueue.FLAGGED), limit=500)).value.rows
    truth = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT id FROM products WHERE flagged AND status <> 'removed' ORDER BY id",
    )
    assert [p["id"] for p in flagged] == [t["id"] for t in truth]
    pending = (await lookups.search_products(ProductSearch(queue=ProductQueue.PENDING), limit=500)).value.rows
    truth = primary_rows(
        pg_cluster, "marketplace", "SELECT id FROM products WHERE status = 'pending' ORDER BY id"
    )
    assert [p["id"] for p in pending] == [t["id"] for t in truth] and pending


async def test_details_of_a_user_a_vendor_and_a_product(lookups: Lookups, pg_cluster: PgCluster) -> None:
    [busy] = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT user_id FROM orders GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT 1",
    )
    user = await lookups.user_detail(busy["user_id"])
    assert user.profile.value is not None and user.profile.value["id"] == busy["user_id"]
    orders = user.orders.value if user.orders else []
    truth = primary_rows(
        pg_cluster, "marketplace", "SELECT id FROM orders WHERE user_id = %s", (busy["user_id"],)
    )
    assert {o["id"] for o in orders} == {t["id"] for t in truth}
    sessions = user.sync_history.value
    assert all(s["user_id"] == busy["user_id"] for s in sessions)
    assert [s["started_at"] for s in sessions] == sorted((s["started_at"] for s in sessions), reverse=True)

    vendor = await lookups.vendor_detail(1)
    [sales] = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT COUNT(*) AS orders, COALESCE(SUM(amount_cents), 0) AS revenue_cents FROM orders "
        "WHERE vendor_id = 1 AND status <> 'failed'",
    )
    assert vendor.sales.value["orders"] == sales["orders"]
    assert vendor.sales.value["revenue_cents"] == sales["revenue_cents"]
    assert {"commission_pct", "warnings", "products_removed", "late_shipments"} <= set(
        vendor.profile.value or {}
    )
    assert all(p["vendor_id"] == 1 for p in vendor.products.value.rows)

    product = await lookups.product_detail(1)
    assert product.product.value is not None and {"flagged", "flag_reason"} <= set(product.product.value)
    assert product.vendor.value is not None
    assert product.vendor.value["id"] == product.product.value["vendor_id"]


async def test_user_activity_and_product_subject_links(lookups: Lookups, pg_cluster: PgCluster) -> None:
    [busy] = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT user_id FROM cart_events GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT 1",
    )
    user = await lookups.user_detail(busy["user_id"])
    assert user.cart is not None and user.cart.lag.is_replica
    cart_truth = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT id FROM cart_events WHERE user_id = %s ORDER BY at DESC, id DESC LIMIT 20",
        (busy["user_id"],),
    )
    assert [e["id"] for e in user.cart.value] == [t["id"] for t in cart_truth] and cart_truth
    search_truth = primary_rows(
        pg_cluster,
        "users",
        "SELECT id, query FROM search_queries WHERE user_id = %s ORDER BY at DESC, id DESC LIMIT 20",
        (busy["user_id"],),
    )
    assert [(q["id"], q["query"]) for q in user.search_activity.value] == [
        (t["id"], t["query"]) for t in search_truth
    ]

    [linked] = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT product_id FROM product_subject_links GROUP BY product_id "
        "ORDER BY COUNT(*) DESC, product_id LIMIT 1",
    )
    product = await lookups.product_detail(linked["product_id"])
    truth = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT content_id, subject, status FROM product_subject_links WHERE product_id = %s "
        "ORDER BY created_at DESC, id DESC LIMIT 20",
        (linked["product_id"],),
    )
    assert [(x["content_id"], x["subject"], x["status"]) for x in product.subject_links.value] == [
        (t["content_id"], t["subject"], t["status"]) for t in truth
    ]
    assert product.subject_links.lag.is_replica


async def test_detail_queries_use_the_new_indexes(pg_cluster: PgCluster, pg_refserver: RefServer) -> None:
    indexes = {
        row["indexname"]
        for database in ("users", "marketplace")
        for row in primary_rows(pg_cluster, database, "SELECT indexname FROM pg_indexes")
    }
    assert {
        "ix_orders_user_placed",
        "ix_orders_vendor",
        "ix_sync_sessions_user_started",
        "ix_search_queries_user_at",
        "ix_cart_events_user_at",
        "ix_product_subject_links_product",
    } <= indexes


@pytest.mark.parametrize("payload", INJECTION_PAYLOADS)
async def test_injection_payloads_in_every_search_field_are_only_data(
    lookups: Lookups, pg_cluster: PgCluster, payload: str
) -> None:
    before = primary_rows(pg_cluster, "users", "SELECT COUNT(*) AS n FROM users")[0]["n"]
    searches = [
        lambda: lookups.search_users(UserSearch(payload)),
        lambda: lookups.search_users(UserSearch(payload + "@")),
        lambda: lookups.search_users(UserSearch("anna", status=payload)),
        lambda: lookups.search_vendors(VendorSearch(payload)),
        lambda: lookups.search_vendors(VendorSearch(status=payload)),
        lambda: lookups.search_products(ProductSearch(payload)),
        lambda: lookups.search_products(ProductSearch(status=payload)),
    ]
    for search in searches:
        rows = (await search()).value.rows
        # no name, email, title or status contains these strings: an injection would return rows
        assert rows == (), f"{payload!r} matched {len(rows)} rows"
    assert (await lookups.count_users(UserSearch(payload))).value.value == 0
    wait_for_replicas(pg_cluster)
    after = primary_rows(pg_cluster, "users", "SELECT COUNT(*) AS n FROM users")[0]["n"]
    assert after == before

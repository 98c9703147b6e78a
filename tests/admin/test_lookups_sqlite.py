"""Lookups on the SQLite files of a reference server in its demo default mode."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from nexus_console.services.lookups import Lookups, ProductQueue, ProductSearch, UserSearch, VendorSearch
from nexus_console.services.replicas import ReplicaSet
from tests.admin.test_lookups_pg import INJECTION_PAYLOADS
from tests.support.refserver import RefServer

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def lookups(refserver_session: RefServer) -> AsyncIterator[Lookups]:
    replicas = ReplicaSet.sqlite_directory(Path(refserver_session.data_dir))
    assert set(replicas.replicas) == {"users", "workstation", "marketplace"}
    try:
        yield Lookups(replicas)
    finally:
        await replicas.aclose()


def _truth(server: RefServer, database: str, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(f"file:{Path(server.data_dir) / (database + '.sqlite3')}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


async def test_user_search_on_sqlite_matches_the_file(lookups: Lookups, refserver_session: RefServer) -> None:
    expected = [
        r[0]
        for r in _truth(
            refserver_session, "users", "SELECT id FROM users WHERE name LIKE '%ols%' ORDER BY id"
        )
    ]
    rows, after = [], None
    while True:
        page = (await lookups.search_users(UserSearch("OLS"), after=after, limit=25)).value
        rows += [r["id"] for r in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert rows == expected and rows
    [(email,)] = _truth(refserver_session, "users", "SELECT email FROM users WHERE id = 9")
    result = await lookups.search_users(UserSearch(email[:-3]))
    assert email in [r["email"] for r in result.value.rows]
    assert result.lag.is_replica is False and result.lag.lag_bytes == 0
    count = (await lookups.count_users(UserSearch("ols"))).value
    assert count.exact and count.value == len(expected)


async def test_vendor_and_product_queues_on_sqlite(lookups: Lookups, refserver_session: RefServer) -> None:
    pending = (await lookups.search_products(ProductSearch(queue=ProductQueue.PENDING), limit=500)).value.rows
    truth = _truth(
        refserver_session, "marketplace", "SELECT id FROM products WHERE status = 'pending' ORDER BY id"
    )
    assert [p["id"] for p in pending] == [t[0] for t in truth]
    [(name,)] = _truth(refserver_session, "marketplace", "SELECT name FROM vendors WHERE id = 3")
    word = name.split()[1]  # "Fjord Supply 3" -> "Supply"
    truth = _truth(
        refserver_session,
        "marketplace",
        "SELECT id FROM vendors WHERE name LIKE ? OR email LIKE ? ORDER BY id",
        (f"%{word}%", f"%{word}%"),
    )
    vendors = (await lookups.search_vendors(VendorSearch(word.upper()), limit=500)).value.rows
    assert [v["id"] for v in vendors] == [t[0] for t in truth] and vendors


@pytest.mark.parametrize("payload", INJECTION_PAYLOADS)
async def test_injection_payloads_are_only_data_on_sqlite(lookups: Lookups, payload: str) -> None:
    for search in (
        lambda: lookups.search_users(UserSearch(payload)),
        lambda: lookups.search_users(UserSearch(payload + "@")),
        lambda: lookups.search_vendors(VendorSearch(payload)),
        lambda: lookups.search_products(ProductSearch(payload)),
        lambda: lookups.search_products(ProductSearch(status=payload)),
    ):
        assert (await search()).value.rows == ()


async def test_user_detail_has_cart_and_search_activity_newest_first(
    lookups: Lookups, refserver_session: RefServer
) -> None:
    [(busy,)] = _truth(
        refserver_session,
        "marketplace",
        "SELECT user_id FROM cart_events GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT 1",
    )
    detail = await lookups.user_detail(busy)
    assert detail.cart is not None
    cart_truth = _truth(
        refserver_session,
        "marketplace",
        "SELECT id, product_id, kind FROM cart_events WHERE user_id = ? ORDER BY at DESC, id DESC",
        (busy,),
    )
    assert [(e["id"], e["product_id"], e["kind"]) for e in detail.cart.value] == cart_truth[:20]
    search_truth = _truth(
        refserver_session,
        "users",
        "SELECT id, query FROM search_queries WHERE user_id = ? ORDER BY at DESC, id DESC",
        (busy,),
    )
    assert [(q["id"], q["query"]) for q in detail.search_activity.value] == search_truth[:20]
    times = [q["at"] for q in detail.search_activity.value]
    assert times == sorted(times, reverse=True)


async def test_product_detail_has_its_subject_links(lookups: Lookups, refserver_session: RefServer) -> None:
    [(linked,)] = _truth(
        refserver_session,
        "marketplace",
        "SELECT product_id FROM product_subject_links GROUP BY product_id "
        "ORDER BY COUNT(*) DESC, product_id LIMIT 1",
    )
    detail = await lookups.product_detail(linked)
    truth = _truth(
        refserver_session,
        "marketplace",
        "SELECT content_id, subject, status FROM product_subject_links WHERE product_id = ? "
        "ORDER BY created_at DESC, id DESC",
        (linked,),
    )
    links = detail.subject_links.value
    assert [(link["content_id"], link["subject"], link["status"]) for link in links] == truth[:20] and links
    [(unlinked,)] = _truth(
        refserver_session,
        "marketplace",
        "SELECT MIN(id) FROM products WHERE id NOT IN (SELECT product_id FROM product_subject_links)",
    )
    assert (await lookups.product_detail(unlinked)).subject_links.value == []

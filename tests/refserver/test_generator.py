"""The platform data generator: deterministic for a seed and scale, reused across starts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from nexus_refserver.config import ServerConfig
from nexus_refserver.databases import Databases
from nexus_refserver.generator import DatasetSize, ensure_generated, generate
from nexus_refserver.schema import (
    cart_events,
    contents,
    orders,
    product_subject_links,
    products,
    search_queries,
    sync_sessions,
    users,
    vendors,
)

TABLES = {
    "users": [users, sync_sessions, search_queries],
    "workstation": [contents],
    "marketplace": [vendors, products, orders, cart_events, product_subject_links],
}
SCALE = 0.004  # 200 users


def open_databases(data_dir: Path) -> Databases:
    dbs = Databases.open(ServerConfig(data_dir=data_dir))
    dbs.create_schema()
    return dbs


def dump(dbs: Databases) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {}
    for database, tables in TABLES.items():
        with dbs.engine(database).connect() as conn:
            for table in tables:
                rows[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
    return rows


def generated(tmp_path: Path, name: str, seed: int, scale: float = SCALE) -> dict[str, list[tuple]]:
    dbs = open_databases(tmp_path / name)
    try:
        generate(dbs, seed, scale)
        return dump(dbs)
    finally:
        dbs.dispose()


def test_same_seed_and_scale_give_identical_rows(tmp_path: Path) -> None:
    first = generated(tmp_path, "a", seed=5)
    second = generated(tmp_path, "b", seed=5)
    assert first == second
    size = DatasetSize.for_scale(SCALE)
    assert len(first["users"]) == size.users == 200
    assert len(first["vendors"]) == size.vendors
    assert len(first["products"]) == size.products
    assert all(len(rows) > 0 for rows in first.values())


def test_another_seed_gives_other_rows(tmp_path: Path) -> None:
    first = generated(tmp_path, "a", seed=5)
    other = generated(tmp_path, "b", seed=6)
    assert len(first["users"]) == len(other["users"])
    for table in (
        "users",
        "vendors",
        "products",
        "orders",
        "sync_sessions",
        "contents",
        "cart_events",
        "search_queries",
        "product_subject_links",
    ):
        assert first[table] != other[table], table


def test_generated_data_has_every_status_the_admin_screens_need(tmp_path: Path) -> None:
    rows = generated(tmp_path, "a", seed=5, scale=0.02)
    user_status = {row[list(users.c.keys()).index("status")] for row in rows["users"]}
    vendor_status = {row[list(vendors.c.keys()).index("status")] for row in rows["vendors"]}
    product_index = list(products.c.keys())
    assert user_status == {"active", "suspended", "banned"}
    assert {"pending", "approved"} <= vendor_status
    assert any(row[product_index.index("flagged")] for row in rows["products"])
    assert any(row[product_index.index("status")] == "pending" for row in rows["products"])
    emails = [row[list(users.c.keys()).index("email")] for row in rows["users"]]
    assert len(set(emails)) == len(emails)
    assert all("@" in email and email == email.lower() for email in emails)


def _column(rows: list[tuple], table, name: str) -> list:  # type: ignore[no-untyped-def]
    index = list(table.c.keys()).index(name)
    return [row[index] for row in rows]


def test_activity_and_subject_links_point_at_real_rows(tmp_path: Path) -> None:
    rows = generated(tmp_path, "a", seed=5)
    size = DatasetSize.for_scale(SCALE)
    user_ids = set(_column(rows["users"], users, "id"))
    product_ids = set(_column(rows["products"], products, "id"))
    content_ids = set(_column(rows["contents"], contents, "id"))
    assert len(rows["cart_events"]) == size.cart_events > 0
    assert len(rows["search_queries"]) == size.search_queries > 0
    assert len(rows["product_subject_links"]) == size.product_subject_links > 0
    assert set(_column(rows["cart_events"], cart_events, "user_id")) <= user_ids
    assert set(_column(rows["cart_events"], cart_events, "product_id")) <= product_ids
    assert set(_column(rows["cart_events"], cart_events, "kind")) == {"add", "remove", "checkout"}
    assert set(_column(rows["search_queries"], search_queries, "user_id")) <= user_ids
    assert all(_column(rows["search_queries"], search_queries, "query"))
    assert set(_column(rows["product_subject_links"], product_subject_links, "product_id")) <= product_ids
    assert set(_column(rows["product_subject_links"], product_subject_links, "content_id")) <= content_ids
    statuses = set(_column(rows["product_subject_links"], product_subject_links, "status"))
    assert statuses == {"verified", "pending", "rejected"}


def test_scale_maps_to_user_counts() -> None:
    assert DatasetSize.for_scale(1.0).users == 50_000
    assert DatasetSize.for_scale(20).users == 1_000_000


def test_data_is_generated_once_and_regenerated_for_another_scale(tmp_path: Path) -> None:
    dbs = open_databases(tmp_path / "data")
    try:
        assert ensure_generated(dbs, 3, SCALE) is True
        before = dump(dbs)
        assert ensure_generated(dbs, 3, SCALE) is False
        assert dump(dbs) == before
        assert ensure_generated(dbs, 3, SCALE * 2) is True
        assert len(dump(dbs)["users"]) == 400
    finally:
        dbs.dispose()

"""The platform data generator: deterministic for a seed and scale, reused across starts."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from nexus_refserver.config import ServerConfig
from nexus_refserver.databases import Databases
from nexus_refserver.generator import DATA_AS_OF, DatasetSize, ensure_generated, generate
from nexus_refserver.generator_activity import ACTIVITY_START, FUNNEL_START, VISITOR_ID_BASE
from nexus_refserver.schema import (
    cart_events,
    contents,
    funnel_events,
    orders,
    product_subject_links,
    products,
    search_queries,
    sync_sessions,
    user_activity,
    users,
    vendors,
)

TABLES = {
    "users": [users, sync_sessions, search_queries, funnel_events],
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
    with dbs.users.connect() as conn:
        ordered = select(user_activity).order_by(user_activity.c.user_id, user_activity.c.day)
        rows["user_activity"] = [tuple(row) for row in conn.execute(ordered)]
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
        "funnel_events",
        "user_activity",
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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def test_activity_and_funnel_events_agree_with_the_users(tmp_path: Path) -> None:
    rows = generated(tmp_path, "a", seed=5, scale=0.02)
    people = {
        row[0]: (_utc(row[4]), _utc(row[5]), row[7])  # signup_at, last_active_at, email_verified
        for row in rows["users"]
    }
    days: dict[int, list[date]] = defaultdict(list)
    for user_id, day in rows["user_activity"]:
        days[user_id].append(day)
    assert min(day for active in days.values() for day in active) == ACTIVITY_START
    for user_id, (signup, last_active, _) in people.items():
        if last_active.date() < ACTIVITY_START:
            assert user_id not in days
            continue
        # nothing before the signup; the last active day is last_active_at's
        assert days[user_id][0] >= signup.date() and days[user_id][-1] == last_active.date(), user_id
    journeys: dict[tuple[int, str], dict[int, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for _, user_id, funnel, step, at in rows["funnel_events"]:
        journeys[user_id, funnel][step].append(_utc(at))
    visitors = 0
    for (user_id, funnel), steps in journeys.items():
        if user_id > VISITOR_ID_BASE:
            visitors += 1
            assert funnel == "registration" and set(steps) <= {1, 2}
            assert FUNNEL_START <= min(steps[1]) < DATA_AS_OF
            continue
        signup, last_active, email_verified = people[user_id]
        if funnel == "registration":
            times = [steps[step][0] for step in sorted(steps)]
            assert sorted(steps) == list(range(1, len(steps) + 1)) and times == sorted(times)
            assert steps[3] == [signup] and signup >= FUNNEL_START
            assert (4 in steps) == email_verified
            after_signup = [t for step in steps if step >= 3 for t in steps[step]]
        else:
            after_signup = [t for times in steps.values() for t in times]
        for at in after_signup:  # every step of a user's own: on an active day, within their active life
            assert signup <= at <= last_active and at.date() in days[user_id], (user_id, funnel, at)
    assert visitors > len({user for user, funnel in journeys if funnel == "registration"}) - visitors > 0


def test_each_funnel_drops_at_every_step_and_day_n_retention_decays(tmp_path: Path) -> None:
    rows = generated(tmp_path, "a", seed=5, scale=0.02)
    per_step: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for _, _, funnel, step, _ in rows["funnel_events"]:
        per_step[funnel][step - 1] += 1
    assert set(per_step) == {"registration", "subject_to_purchase", "content_discovery"}
    for funnel, counts in per_step.items():
        assert all(a > b > 0 for a, b in itertools.pairwise(counts)), (funnel, counts)
    active = set(rows["user_activity"])
    signups = [(row[0], row[4].date()) for row in rows["users"] if row[4].date() >= ACTIVITY_START]
    retention = []
    for n in (1, 7, 30):
        eligible = [(user, day) for user, day in signups if day + timedelta(days=n) < DATA_AS_OF.date()]
        retention.append(
            sum((user, day + timedelta(days=n)) in active for user, day in eligible) / len(eligible)
        )
    d1, d7, d30 = retention
    assert 0.3 < d1 < 0.5 and 0.13 < d7 < 0.28 and 0.05 < d30 < 0.16, retention

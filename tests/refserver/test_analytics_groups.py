"""Users by acquisition source, age band and gender; subject click-through; vendors by link quality; and the
funnel broken down by acquisition source, over HTTP on the shared reference server, each checked against
SQL written here over the server's own SQLite files (read-only); and on PostgreSQL against SQL over the
primary."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from nexus_refserver.analytics_groups import MIN_DECIDED_LINKS, MIN_DETECTED_SESSIONS
from nexus_refserver.generator import DatasetSize
from nexus_refserver.generator_profiles import profile_rows, subject_click_rows
from tests.refserver.conftest import bearer, login
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import DATABASES, REFSERVER_SCALE, primary_rows
from tests.support.refserver import RefServer

AS_OF = "2026-11-01 00:00:00"
SINCE_30D = "2026-10-02 00:00:00"
# every key of each grouping, in the order the document lists them
KEYS = {
    "by_acquisition_source": [
        "organic_search", "paid_search", "social", "referral", "app_store", "email_campaign", "direct",
    ],
    "by_age_band": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
    "by_gender": ["female", "male", "non_binary", "undisclosed"],
}  # fmt: skip


def db(server: RefServer, name: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.data_dir / (name + '.sqlite3')}?mode=ro", uri=True)


def get(client: httpx.Client, path: str, **params: object) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def grouped(profiles: list[tuple], completed: dict[int, int], position: int) -> dict[str, list[int]]:
    """Per key of `profiles[position]` (rows of user_id, source, age band, gender, active in 30 days): users,
    active users, buyers and completed orders."""
    expected: dict[str, list[int]] = {}
    for row in profiles:
        counts = expected.setdefault(row[position], [0, 0, 0, 0])
        bought = completed.get(row[0], 0)
        counts[0] += 1
        counts[1] += bool(row[4])
        counts[2] += bought > 0
        counts[3] += bought
    return expected


def shown_groups(groups: list[dict]) -> dict[str, list[int]]:
    """The document's groups with any users, as `grouped` gives them."""
    return {
        g["key"]: [g["users"], g["active_users_30d"], g["buyers"], g["orders"]] for g in groups if g["users"]
    }


def test_users_by_acquisition_source_age_and_gender_match_sql(api_as, refserver_session: RefServer) -> None:  # type: ignore[no-untyped-def]
    body = get(api_as("analyst"), "/analytics/users")
    with db(refserver_session, "marketplace") as marketplace:
        orders = dict(
            marketplace.execute(
                "SELECT user_id, COUNT(*) FROM orders WHERE status = 'completed' GROUP BY user_id"
            ).fetchall()
        )
    with db(refserver_session, "users") as users:
        profiles = users.execute(
            "SELECT p.user_id, p.acquisition_source, p.age_band, p.gender, u.last_active_at >= ?"
            " FROM user_profiles p JOIN users u ON u.id = p.user_id",
            (SINCE_30D,),
        ).fetchall()
    for field, position in (("by_acquisition_source", 1), ("by_age_band", 2), ("by_gender", 3)):
        assert shown_groups(body[field]) == grouped(profiles, orders, position), field
        assert sum(g["users"] for g in body[field]) == body["total_users"]
        assert [g["key"] for g in body[field]] == KEYS[field], "every key, in a fixed order"
    assert body["by_acquisition_source"][1]["label"] == "Paid search"
    assert body["by_age_band"][1]["label"] == "25–34"


def test_subject_click_through_matches_sql(api_as, refserver_session: RefServer) -> None:  # type: ignore[no-untyped-def]
    body = get(api_as("analyst"), "/analytics/content")
    with db(refserver_session, "users") as users:
        sessions = users.execute(
            "SELECT s.content_id, COUNT(c.sync_session_id) > 0, COUNT(c.sync_session_id) FROM sync_sessions s"
            " LEFT JOIN subject_clicks c ON c.sync_session_id = s.id"
            " WHERE s.detected AND s.started_at >= ? GROUP BY s.id",
            (SINCE_30D,),
        ).fetchall()
    with db(refserver_session, "workstation") as workstation:
        genre_of = dict(workstation.execute("SELECT id, genre FROM contents").fetchall())
    detected, clicked = Counter(), Counter()
    per_content: dict[int, list[int]] = {}
    for content_id, with_click, clicks in sessions:
        detected[genre_of[content_id]] += 1
        clicked[genre_of[content_id]] += with_click
        counts = per_content.setdefault(content_id, [0, 0, 0])
        counts[0] += 1
        counts[1] += with_click
        counts[2] += clicks
    assert body["subject_click_through_30d"] == round(sum(clicked.values()) / sum(detected.values()), 4)
    assert {
        g["genre"]: (g["detected_sessions"], g["sessions_with_click"]) for g in body["click_through_by_genre"]
    } == {genre: (detected[genre], clicked[genre]) for genre in detected}
    rates = [g["click_through"] for g in body["click_through_by_genre"]]
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1], "genres differ, highest first"
    top = body["top_contents_by_click_through"]
    assert top, "some contents have enough detected sessions"
    for row in top:
        n, with_click, clicks = per_content[row["content_id"]]
        assert (row["detected_sessions"], row["sessions_with_click"], row["clicks"]) == (
            n,
            with_click,
            clicks,
        )
        assert n >= MIN_DETECTED_SESSIONS and row["click_through"] == round(with_click / n, 4)
    eligible = sorted(
        (
            (-round(c[1] / c[0], 4), -c[0], content_id)
            for content_id, c in per_content.items()
            if c[0] >= MIN_DETECTED_SESSIONS
        )
    )
    assert [row["content_id"] for row in top] == [content_id for _, _, content_id in eligible[:10]]


def ranked_vendors(rows: list[tuple]) -> list[dict]:
    """The leaderboard from (vendor_id, name, verified, pending, rejected, removed) rows: quality over the
    decided links, from MIN_DECIDED_LINKS of them; then more decided links, then the lower id; top 10."""
    ranked = []
    for vendor_id, name, verified, pending, rejected, removed in rows:
        decided = verified + rejected + removed
        if decided >= MIN_DECIDED_LINKS:
            quality = round(verified / decided, 4)
            ranked.append(((-quality, -decided, vendor_id), {
                "vendor_id": vendor_id, "name": name, "links": verified + pending + rejected + removed,
                "verified": verified, "pending": pending, "rejected": rejected, "removed": removed,
                "quality": quality,
            }))  # fmt: skip
    return [row for _, row in sorted(ranked, key=lambda item: item[0])[:10]]


LINKS_BY_VENDOR = (  # {count_if}: SQLite's SUM(l.status = ...) or PostgreSQL's count(*) FILTER (...)
    "SELECT p.vendor_id, v.name, {count_if}'verified') AS verified, {count_if}'pending') AS pending,"
    " {count_if}'rejected') AS rejected, {count_if}'removed') AS removed"
    " FROM product_subject_links l JOIN products p ON p.id = l.product_id"
    " JOIN vendors v ON v.id = p.vendor_id GROUP BY p.vendor_id, v.name"
)


def test_vendors_by_link_quality_match_sql(api_as, refserver_session: RefServer) -> None:  # type: ignore[no-untyped-def]
    body = get(api_as("analyst"), "/analytics/vendors")
    with db(refserver_session, "marketplace") as marketplace:
        rows = marketplace.execute(LINKS_BY_VENDOR.format(count_if="SUM(l.status = ")).fetchall()
    assert body["top_vendors_by_link_quality"] == ranked_vendors(rows)
    assert body["top_vendors_by_link_quality"], "some vendors have enough decided links"


def test_the_funnel_breaks_down_by_acquisition_source(api_as, refserver_session: RefServer) -> None:  # type: ignore[no-untyped-def]
    client = api_as("analyst")
    whole = get(client, "/analytics/funnel", funnel="subject_to_purchase", days=366)
    body = get(
        client, "/analytics/funnel", funnel="subject_to_purchase", days=366, breakdown="acquisition_source"
    )
    groups = {g["key"]: g["steps"] for g in body["breakdown"]}
    for index, step in enumerate(whole["steps"]):
        assert sum(steps[index]["users"] for steps in groups.values()) == step["users"]
    with db(refserver_session, "users") as users:
        entrants = dict(
            users.execute(
                "SELECT p.acquisition_source, COUNT(DISTINCT e.user_id) FROM funnel_events e"
                " JOIN user_profiles p ON p.user_id = e.user_id"
                " WHERE e.funnel = 'subject_to_purchase' AND e.step = 1 AND e.at >= ? AND e.at < ?"
                " GROUP BY p.acquisition_source",
                (body["from"], body["to"]),
            ).fetchall()
        )
    assert {key: steps[0]["users"] for key, steps in groups.items()} == entrants
    by_age = get(client, "/analytics/funnel", funnel="registration", days=30, breakdown="age_band")
    assert None in {g["key"] for g in by_age["breakdown"]}, "visitors without an account have no age"


def test_profiles_and_clicks_are_the_same_for_the_same_seed() -> None:
    size = DatasetSize.for_scale(0.002)
    assert list(profile_rows(3, 50)) == list(profile_rows(3, 50))
    assert list(profile_rows(3, 50)) != list(profile_rows(4, 50))
    assert list(subject_click_rows(3, size)) == list(subject_click_rows(3, size))


def test_the_server_stores_the_profiles_and_clicks_of_its_seed(refserver_session: RefServer) -> None:
    with db(refserver_session, "nexus") as nexus:
        dataset = json.loads(nexus.execute("SELECT value FROM meta WHERE key = 'dataset'").fetchone()[0])
    with db(refserver_session, "users") as users:
        stored = users.execute(
            "SELECT user_id, acquisition_source, age_band, gender FROM user_profiles ORDER BY user_id"
        ).fetchall()
        clicks = users.execute(
            "SELECT id, sync_session_id, user_id, content_id, subject FROM subject_clicks ORDER BY id"
        ).fetchall()
    size = DatasetSize.for_scale(dataset["scale"])
    assert stored == [tuple(row.values()) for row in profile_rows(dataset["seed"], size.users)]
    assert clicks == [
        (c["id"], c["sync_session_id"], c["user_id"], c["content_id"], c["subject"])
        for c in subject_click_rows(dataset["seed"], size)
    ]


@pytest.mark.postgres
def test_on_postgresql_the_new_figures_match_sql_over_the_primary(
    pg_cluster: PgCluster, pg_refserver: RefServer, refserver_factory: Callable[..., RefServer]
) -> None:
    args = ["--seed", "11", "--scale", REFSERVER_SCALE, "--scenario", "none"]
    for name in DATABASES:
        args += [f"--{name}-db-url", pg_cluster.primary_url(name)]
    server = refserver_factory(*args)  # a server of its own on the same data: nothing cached from before
    token = login(server.base_url, "analyst")["access_token"]
    with httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=60) as client:
        users = get(client, "/analytics/users")
        content = get(client, "/analytics/content")
        vendors = get(client, "/analytics/vendors")
        funnel = get(
            client,
            "/analytics/funnel",
            funnel="subject_to_purchase",
            days=366,
            breakdown="acquisition_source",
        )
    since = SINCE_30D.replace(" ", "T") + "Z"
    completed = {
        row["user_id"]: row["n"]
        for row in primary_rows(
            pg_cluster,
            "marketplace",
            "SELECT user_id, count(*) AS n FROM orders WHERE status = 'completed' GROUP BY user_id",
        )
    }
    profiles = [
        tuple(row.values())
        for row in primary_rows(
            pg_cluster,
            "users",
            "SELECT p.user_id, p.acquisition_source, p.age_band, p.gender,"
            " u.last_active_at >= %s::timestamptz AS active"
            " FROM user_profiles p JOIN users u ON u.id = p.user_id",
            (since,),
        )
    ]
    for field, position in (("by_acquisition_source", 1), ("by_age_band", 2), ("by_gender", 3)):
        assert shown_groups(users[field]) == grouped(profiles, completed, position), field
        assert [g["key"] for g in users[field]] == KEYS[field]
    [sessions] = primary_rows(
        pg_cluster,
        "users",
        "SELECT count(*) AS detected, count(*) FILTER (WHERE EXISTS"
        " (SELECT 1 FROM subject_clicks c WHERE c.sync_session_id = s.id)) AS clicked"
        " FROM sync_sessions s WHERE s.detected AND s.started_at >= %s::timestamptz",
        (since,),
    )
    assert content["subject_click_through_30d"] == round(sessions["clicked"] / sessions["detected"], 4)
    by_genre = content["click_through_by_genre"]
    assert sum(g["detected_sessions"] for g in by_genre) == sessions["detected"]
    assert sum(g["sessions_with_click"] for g in by_genre) == sessions["clicked"]
    links = primary_rows(
        pg_cluster, "marketplace", LINKS_BY_VENDOR.format(count_if="count(*) FILTER (WHERE l.status = ")
    )
    assert vendors["top_vendors_by_link_quality"] == ranked_vendors([tuple(row.values()) for row in links])
    assert vendors["top_vendors_by_link_quality"] and by_genre and funnel["breakdown"]
    entrants = primary_rows(
        pg_cluster,
        "users",
        "SELECT p.acquisition_source AS key, count(DISTINCT e.user_id) AS n FROM funnel_events e"
        " JOIN user_profiles p ON p.user_id = e.user_id"
        " WHERE e.funnel = 'subject_to_purchase' AND e.step = 1"
        " AND e.at >= %s::timestamptz AND e.at < %s::timestamptz GROUP BY p.acquisition_source",
        (f"{funnel['from']}T00:00:00Z", f"{funnel['to']}T00:00:00Z"),
    )
    assert {g["key"]: g["steps"][0]["users"] for g in funnel["breakdown"]} == {
        row["key"]: row["n"] for row in entrants
    }

"""Users by acquisition source, age band and gender; subject click-through; vendors by link quality; and the
funnel broken down by acquisition source, over HTTP on the shared reference server, each checked against
SQL written here over the server's own SQLite files (read-only)."""

from __future__ import annotations

import sqlite3
from collections import Counter

import httpx

from nexus_refserver.generator import DatasetSize
from nexus_refserver.generator_profiles import profile_rows, subject_click_rows
from tests.support.refserver import RefServer

AS_OF = "2026-11-01 00:00:00"
SINCE_30D = "2026-10-02 00:00:00"


def db(server: RefServer, name: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.data_dir / (name + '.sqlite3')}?mode=ro", uri=True)


def get(client: httpx.Client, path: str, **params: object) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


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
        expected: dict[str, list[int]] = {}
        for row in profiles:
            counts = expected.setdefault(row[position], [0, 0, 0, 0])
            bought = orders.get(row[0], 0)
            counts[0] += 1
            counts[1] += row[4]
            counts[2] += bought > 0
            counts[3] += bought
        shown = {g["key"]: [g["users"], g["active_users_30d"], g["buyers"], g["orders"]] for g in body[field]}
        assert {key: counts for key, counts in shown.items() if counts[0]} == expected, field
        assert sum(g["users"] for g in body[field]) == body["total_users"]
    assert [g["key"] for g in body["by_age_band"]] == ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
    assert body["by_acquisition_source"][1]["label"] == "Paid search"


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
        assert n >= 10 and row["click_through"] == round(with_click / n, 4)
    eligible = sorted(
        ((-round(c[1] / c[0], 4), -c[0], content_id) for content_id, c in per_content.items() if c[0] >= 10)
    )
    assert [row["content_id"] for row in top] == [content_id for _, _, content_id in eligible[:10]]


def test_vendors_by_link_quality_match_sql(api_as, refserver_session: RefServer) -> None:  # type: ignore[no-untyped-def]
    body = get(api_as("analyst"), "/analytics/vendors")
    with db(refserver_session, "marketplace") as marketplace:
        rows = marketplace.execute(
            "SELECT p.vendor_id, v.name,"
            " SUM(l.status = 'verified'), SUM(l.status IN ('verified', 'rejected', 'removed')), COUNT(*)"
            " FROM product_subject_links l JOIN products p ON p.id = l.product_id"
            " JOIN vendors v ON v.id = p.vendor_id GROUP BY p.vendor_id"
        ).fetchall()
    ranked = sorted(
        (-round(verified / decided, 4), -decided, vendor_id, name, links)
        for vendor_id, name, verified, decided, links in rows
        if decided >= 3
    )[:10]
    assert [
        (v["vendor_id"], v["name"], v["links"], -v["quality"]) for v in body["top_vendors_by_link_quality"]
    ] == [(vendor_id, name, links, quality) for quality, _d, vendor_id, name, links in ranked]


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

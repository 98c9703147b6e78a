"""GET /analytics/retention and /analytics/activity over HTTP, checked against the server's users database.

The expected tables are computed here from the raw `users` and `user_activity` rows (read-only, sqlite3),
with periods from calendar arithmetic on dates (a week from its Monday, a month from its first day) and
distinct users counted with sets, not the way the server folds them. On PostgreSQL the same seed and scale
must give the same figures as on SQLite, whatever the session time zone.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.refserver.conftest import bearer, login
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import DATABASES, REFSERVER_SCALE
from tests.support.refserver import RefServer

PROBLEM = "application/problem+json"
AS_OF = date(2026, 11, 1)  # as_of is this day's midnight: the last whole day is 2026-10-31
HISTORY = date(2025, 10, 1)  # the first day of user_activity


def read_activity(data_dir: Path) -> tuple[dict[int, date], dict[int, set[date]]]:
    db = sqlite3.connect(f"file:{data_dir / 'users.sqlite3'}?mode=ro", uri=True)
    try:
        signups = {
            user: datetime.fromisoformat(at).date()
            for user, at in db.execute("SELECT id, signup_at FROM users")
        }
        days: dict[int, set[date]] = defaultdict(set)
        for user, day in db.execute("SELECT user_id, day FROM user_activity"):
            days[user].add(date.fromisoformat(day))
    finally:
        db.close()
    return signups, days


@pytest.fixture(scope="module")
def activity(refserver_session: RefServer) -> tuple[dict[int, date], dict[int, set[date]]]:
    return read_activity(refserver_session.data_dir)


def period_of(grain: str, day: date) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return day.replace(day=1)


def shifted(grain: str, start: date, periods: int) -> date:
    if grain == "day":
        return start + timedelta(days=periods)
    if grain == "week":
        return start + timedelta(weeks=periods)
    months = start.year * 12 + start.month - 1 + periods * (3 if grain == "quarter" else 1)
    return date(months // 12, months % 12 + 1, 1)


def expected_retention(
    signups: dict[int, date], days: dict[int, set[date]], grain: str, cohorts: int, periods: int, mode: str
) -> dict:
    last = period_of(grain, AS_OF - timedelta(days=1))
    if shifted(grain, last, 1) > AS_OF:
        last = shifted(grain, last, -1)
    rows = []
    for back in range(cohorts - 1, -1, -1):
        start = shifted(grain, last, -back)
        members = [user for user, day in signups.items() if period_of(grain, day) == start]
        values: list[float | None] = []
        for offset in range(periods):
            begin, end = shifted(grain, start, offset), shifted(grain, start, offset + 1)
            if end > AS_OF:
                values.append(None)
                continue
            until = end if mode == "on" else AS_OF
            active = sum(1 for user in members if any(begin <= day < until for day in days[user]))
            values.append(round(active / len(members), 4) if members else 0.0)
        label = start.isoformat()[:7] if grain == "month" else start.isoformat()
        if grain == "quarter":
            label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        rows.append({"cohort": label, "size": len(members), "values": values})
    result: dict = {"grain": grain, "mode": mode, "cohorts": rows}
    for n in (1, 7, 30):
        eligible = [u for u, day in signups.items() if day >= HISTORY and day + timedelta(days=n) < AS_OF]
        kept = sum(1 for u in eligible if signups[u] + timedelta(days=n) in days[u])
        result[f"d{n}"] = round(kept / len(eligible), 4)
    return result


def expected_activity(days_by_user: dict[int, set[date]], days: int) -> list[dict]:
    users_on: dict[date, set[int]] = defaultdict(set)
    for user, active in days_by_user.items():
        for day in active:
            users_on[day].add(user)
    rows = []
    for back in range(days, 0, -1):
        day = AS_OF - timedelta(days=back)
        week = set().union(*(users_on[day - timedelta(days=i)] for i in range(7)))
        month = set().union(*(users_on[day - timedelta(days=i)] for i in range(30)))
        rows.append({"day": day.isoformat(), "dau": len(users_on[day]), "wau": len(week), "mau": len(month)})
    return rows


def _get(client: httpx.Client, path: str, **params: object) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == "2026-11-01T00:00:00Z"
    assert body.pop("generated_at").endswith("Z")
    body.pop("as_of")
    return body


@pytest.mark.parametrize(
    "grain,cohorts,periods,mode",
    [
        ("week", 12, 12, "on"),
        ("week", 12, 12, "on_or_after"),
        ("month", 12, 12, "on"),
        ("month", 12, 12, "on_or_after"),
        ("day", 30, 31, "on"),
        ("day", 366, 2, "on_or_after"),
        ("week", 52, 52, "on"),
        ("quarter", 4, 4, "on"),
        ("quarter", 4, 4, "on_or_after"),
    ],
)
def test_retention_matches_an_independent_computation(
    api_as, activity, grain: str, cohorts: int, periods: int, mode: str
) -> None:  # type: ignore[no-untyped-def]
    body = _get(
        api_as("analyst"), "/analytics/retention", grain=grain, cohorts=cohorts, periods=periods, mode=mode
    )
    assert body == expected_retention(*activity, grain, cohorts, periods, mode)
    assert len(body["cohorts"]) == cohorts
    assert all(len(row["values"]) == periods for row in body["cohorts"])


def test_quarterly_retention_defaults_to_the_four_quarters_the_history_holds(api_as, activity) -> None:  # type: ignore[no-untyped-def]
    body = _get(api_as("analyst"), "/analytics/retention", grain="quarter", mode="on_or_after")
    assert body == expected_retention(*activity, "quarter", 4, 4, "on_or_after")
    assert [row["cohort"] for row in body["cohorts"]] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert body["cohorts"][-1]["values"][1:] == [None, None, None]  # 2026-Q4 is not over by 1 Nov


def test_retention_defaults_and_its_shape(api_as, activity) -> None:  # type: ignore[no-untyped-def]
    body = _get(api_as("analyst"), "/analytics/retention")
    assert body == expected_retention(*activity, "week", 12, 12, "on")
    rows = body["cohorts"]
    assert rows[-1]["cohort"] == "2026-10-19"  # the week of 2026-10-26 is not over by as_of
    assert rows[-1]["values"][1:] == [None] * 11 and rows[0]["values"][-1] is not None
    # everyone is active in their signup week, far fewer a week later
    assert all(row["values"][0] == 1.0 for row in rows if row["size"])
    week_1 = [row["values"][1] for row in rows[:-1]]
    assert 0.2 < sum(week_1) / len(week_1) < 0.7
    # day-N retention close to the product brief's 40 / 20 / 10 %
    assert 0.3 < body["d1"] < 0.5 and 0.13 < body["d7"] < 0.28 and 0.05 < body["d30"] < 0.16
    on_or_after = _get(api_as("analyst"), "/analytics/retention", mode="on_or_after")["cohorts"]
    for on_row, after_row in zip(rows, on_or_after, strict=True):
        for on, after in zip(on_row["values"], after_row["values"], strict=True):
            assert (on is None and after is None) or after >= on


@pytest.mark.parametrize("days", [365, 7, 1, 366])
def test_activity_matches_an_independent_computation(api_as, activity, days: int) -> None:  # type: ignore[no-untyped-def]
    body = _get(api_as("analyst"), "/analytics/activity", days=days)
    assert body["days"] == expected_activity(activity[1], days)


def test_activity_of_the_last_day_matches_the_users_last_active_at(api_as) -> None:  # type: ignore[no-untyped-def]
    # a user's last active day is their last_active_at's day, so the latest DAU/WAU/MAU are the user KPIs'
    client = api_as("analyst")
    latest = _get(client, "/analytics/activity", days=1)["days"]
    kpis = _get(client, "/analytics/users")
    assert latest == [{"day": "2026-10-31", "dau": kpis["dau"], "wau": kpis["wau"], "mau": kpis["mau"]}]


@pytest.mark.parametrize(
    "path,params,sentence",
    [
        (
            "/analytics/retention",
            {"grain": "year"},
            "Unknown grain “year”; choose from day, week, month, quarter.",
        ),
        ("/analytics/retention", {"mode": "before"}, "Unknown mode “before”; choose from on, on_or_after."),
        (
            "/analytics/retention",
            {"grain": "quarter", "periods": 5},
            "“periods” must be from 1 to 4 with quarter cohorts (the activity history is a year), not 5.",
        ),
        (
            "/analytics/retention",
            {"grain": "month", "cohorts": 13},
            "“cohorts” must be from 1 to 12 with month cohorts (the activity history is a year), not 13.",
        ),
        (
            "/analytics/retention",
            {"grain": "week", "periods": 53},
            "“periods” must be from 1 to 52 with week",
        ),
        ("/analytics/retention", {"cohorts": 0}, "“cohorts” must be from 1 to 52 with week cohorts"),
        (
            "/analytics/retention",
            {"grain": "day", "periods": 367},
            "“periods” must be from 1 to 366 with day",
        ),
        ("/analytics/activity", {"days": 0}, "“days” must be from 1 to 366, not 0."),
        ("/analytics/activity", {"days": 400}, "“days” must be from 1 to 366, not 400."),
        ("/analytics/activity", {"days": "many"}, "query.days"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_retention_and_activity_queries_are_422_sentences(
    api_as, path: str, params: dict, sentence: str
) -> None:  # type: ignore[no-untyped-def]
    response = api_as("analyst").get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert sentence in response.json()["detail"]


QUERIES = [
    ("/analytics/funnel", {"funnel": "registration", "breakdown": "country"}),
    ("/analytics/funnel", {"funnel": "content_discovery", "days": 366, "window_hours": 2160}),
    ("/analytics/funnel", {"funnel": "subject_to_purchase", "from": "2026-10-01", "to": "2026-10-08"}),
    ("/analytics/funnel", {"funnel": "registration", "from": "9999-06-01", "to": "9999-12-31"}),
    ("/analytics/retention", {"grain": "week"}),
    ("/analytics/retention", {"grain": "month", "mode": "on_or_after"}),
    ("/analytics/retention", {"grain": "day", "cohorts": 40, "periods": 40}),
    ("/analytics/activity", {"days": 366}),
]


@pytest.mark.postgres
def test_postgresql_gives_the_sqlite_figures_whatever_the_session_time_zone(
    pg_cluster: PgCluster,
    pg_refserver: RefServer,
    refserver_factory: Callable[..., RefServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    common = ["--seed", "11", "--scale", REFSERVER_SCALE, "--scenario", "none"]
    sqlite_server = refserver_factory(*common)
    monkeypatch.setenv("PGTZ", "Pacific/Kiritimati")  # UTC+14: a local calendar would shift days
    args = list(common)
    for name in DATABASES:
        args += [f"--{name}-db-url", pg_cluster.primary_url(name)]
    pg_server = refserver_factory(*args)
    answers = []
    for server in (sqlite_server, pg_server):
        token = login(server.base_url, "analyst")["access_token"]
        with httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=60) as client:
            answers.append([_get(client, path, **params) for path, params in QUERIES])
    on_sqlite, on_postgres = answers
    for (path, params), expected, actual in zip(QUERIES, on_sqlite, on_postgres, strict=True):
        assert actual == expected, (path, params)
    assert on_postgres[0]["steps"][0]["users"] > 0 and on_postgres[-1]["days"][-1]["mau"] > 0

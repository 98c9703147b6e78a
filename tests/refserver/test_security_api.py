"""The security event API: who may read it, how it refuses bad values, paging that never skips or repeats an
event while live traffic is appended, and the week of benign history a fresh server starts with."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.refserver.security_support import open_db, parse_time, sql_time
from tests.support.refserver import RefServer

ENDPOINTS = ("/security/events/login", "/security/ip/84.208.1.1", "/security/user/1")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_may_read_security_events(
    api_as: Callable[[str], httpx.Client], role: str, path: str
) -> None:
    response = api_as(role).get(path)
    # an address nobody used is a 404 after the permission check; everything else is a 200
    assert response.status_code in ((200, 404) if "/ip/" in path else (200,)), response.text


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("role", ["viewer", "moderator", "finance"])
def test_other_roles_are_refused_naming_the_analyst_role(
    api_as: Callable[[str], httpx.Client], role: str, path: str
) -> None:
    response = api_as(role).get(path)
    assert response.status_code == 403
    assert response.json()["required_role"] == "analyst"
    assert "security:read" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "sentence"),
    [
        ("/security/events/logins", {}, "login"),
        ("/security/events/login", {"limit": 0}, "greater than or equal to 1"),
        ("/security/events/login", {"limit": 5001}, "less than or equal to 5000"),
        ("/security/events/login", {"after": "page-2"}, "string should match pattern"),
        ("/security/events/login", {"since": "yesterday"}, "string should match pattern"),
        ("/security/ip/300.1.1.1", {}, "'300.1.1.1' is not an IP address"),
        ("/security/user/somebody", {}, "'somebody' is neither a user id nor an e-mail address"),
    ],
)
def test_bad_values_are_422_with_a_sentence(
    api_as: Callable[[str], httpx.Client], path: str, params: dict, sentence: str
) -> None:
    response = api_as("analyst").get(path, params=params)
    assert response.status_code == 422, response.text
    assert sentence.lower() in response.text.lower()


def test_unknown_addresses_and_users_are_404_with_a_sentence(api_as: Callable[[str], httpx.Client]) -> None:
    analyst = api_as("analyst")
    unknown_ip = analyst.get("/security/ip/192.0.2.55")
    assert unknown_ip.status_code == 404
    assert unknown_ip.json()["detail"] == "no security event has come from 192.0.2.55"
    unknown_user = analyst.get("/security/user/nobody@nowhere.example")
    assert unknown_user.status_code == 404
    assert unknown_user.json()["detail"] == "no account or login attempt for 'nobody@nowhere.example'"
    assert analyst.get("/security/user/2147483000").status_code == 404


def test_a_page_carries_each_event_with_its_fields_oldest_first(
    api_as: Callable[[str], httpx.Client],
) -> None:
    analyst = api_as("analyst")
    fields = {
        "login": {"id", "at", "user_id", "user", "ip", "country", "user_agent", "result", "reason"},
        "api_access": {"id", "at", "client", "ip", "method", "path", "status"},
        "waf_block": {"id", "at", "ip", "country", "rule", "path"},
        "privileged_access": {"id", "at", "actor", "role", "action", "target_type", "target_id"},
    }
    week_ago = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    for stream, expected in fields.items():
        body = analyst.get(f"/security/events/{stream}", params={"since": week_ago, "limit": 50}).json()
        assert set(body) == {"events", "next", "more"}
        assert body["events"], stream
        assert all(set(event) == expected for event in body["events"])
        ids = [event["id"] for event in body["events"]]
        times = [parse_time(event["at"]) for event in body["events"]]
        assert ids == sorted(ids) and times == sorted(times)
        # RFC 3339 UTC with milliseconds: 2026-12-07T10:58:44.636Z
        assert all(len(event["at"]) == 24 and event["at"].endswith("Z") for event in body["events"])
        assert body["next"] == f"c{ids[-1]}"


def test_without_since_a_page_starts_24_hours_ago(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    asked_from = datetime.now(UTC)
    first = api_as("analyst").get("/security/events/login", params={"limit": 1}).json()["events"][0]
    asked_until = datetime.now(UTC)
    assert parse_time(first["at"]) >= asked_from - timedelta(hours=24)
    with open_db(refserver_session) as db:
        previous = db.execute("SELECT at FROM login_attempts WHERE id = ?", (first["id"] - 1,)).fetchone()[0]
    assert previous < sql_time(asked_until - timedelta(hours=24))


def test_paging_walks_every_event_once_while_live_traffic_is_appended(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    analyst = api_as("analyst")
    since = datetime.now(UTC) - timedelta(days=8)
    with open_db(refserver_session) as db:
        newest_at_start = db.execute("SELECT max(id) FROM login_attempts").fetchone()[0]
    seen: list[int] = []
    params: dict = {"since": since.isoformat(), "limit": 1500}
    caught_up = 0
    # page through the history slowly, then keep following the live tail for a few rounds
    while caught_up < 4:
        body = analyst.get("/security/events/login", params=params).json()
        seen.extend(event["id"] for event in body["events"])
        params = {"after": body["next"], "limit": 1500}
        if not body["more"]:
            caught_up += 1
            time.sleep(0.7)
    assert len(seen) == len(set(seen)), "an event came twice"
    assert max(seen) > newest_at_start, "no live event was appended during the walk"
    with open_db(refserver_session) as db:
        expected = [
            row[0]
            for row in db.execute(
                "SELECT id FROM login_attempts WHERE at >= ? AND id <= ? ORDER BY id",
                (sql_time(since), max(seen)),
            )
        ]
    assert seen == expected


def test_a_fresh_server_starts_with_a_week_of_benign_history(
    refserver_factory: Callable[..., RefServer],
) -> None:
    launched = datetime.now(UTC)
    server = refserver_factory("--seed", "3", "--scale", "0.02", "--scenario", "none")
    week = timedelta(days=7)
    with open_db(server, "users") as users_db:
        active = users_db.execute("SELECT count(*) FROM users WHERE status = 'active'").fetchone()[0]
        home = dict(
            users_db.execute(
                "SELECT id, country FROM users WHERE status = 'active' ORDER BY id LIMIT 2000"
            ).fetchall()
        )
    population = min(2000, active)
    with open_db(server) as db:

        def history(table: str, extra: str = "") -> list:
            return db.execute(f"SELECT * FROM {table} WHERE at < ? {extra}", (sql_time(launched),)).fetchall()

        logins, api, waf, privileged = (
            history(t) for t in ("login_attempts", "api_access", "waf_blocks", "privileged_access")
        )
    # a few logins a day per user: 3 a day over the population for 7 days
    assert len(logins) == pytest.approx(population * 3 * 7, rel=0.05)
    assert {row["user_id"] for row in logins} <= set(home)
    assert all(row["country"] == home[row["user_id"]] for row in logins), "a benign login from abroad"
    failures = [row for row in logins if row["result"] == "failure"]
    assert len(failures) / len(logins) == pytest.approx(0.05, abs=0.01)
    assert {row["reason"] for row in failures} == {"bad_password"}
    # the API clients together at 300 requests an hour, each client steady across the week
    assert len(api) == pytest.approx(300 * 24 * 7, rel=0.05)
    clients = Counter(row["client"] for row in api)
    assert len(clients) == 50 and {"shop-web", "ios-app", "partner-feed-3"} <= set(clients)
    # a few WAF blocks an hour, and a handful of staff actions a day
    assert len(waf) == pytest.approx(4 * 24 * 7, rel=0.2)
    assert 15 <= len(privileged) <= 80
    oldest = min(parse_time(row["at"].replace(" ", "T") + "Z") for row in logins)
    assert launched - week <= oldest < launched - week + timedelta(hours=1)

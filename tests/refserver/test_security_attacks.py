"""Attacks started through `POST /_control/attacks` show up in the security streams with their shape, and
the address and account pivots agree with SQL over the server's own files.

All seven attacks run at once at 100 times their pace, so a 3-minute attack takes 1.8 s of the test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.refserver.conftest import new_key
from tests.refserver.security_support import open_db, parse_time, sql_time, start_attack, wait_for, walk
from tests.support.refserver import RefServer

SPEED = 100.0
KINDS = ("brute_force", "credential_stuffing", "new_country_login", "impossible_travel", "bot_client",
         "injection_burst", "bulk_data_access")  # fmt: skip


@pytest.fixture(scope="module")
def attacks(refserver_session: RefServer) -> dict[str, dict[str, Any]]:
    """Start every attack, then wait until the last event of each is in the database."""
    started = {kind: start_attack(refserver_session, kind, SPEED) for kind in KINDS}
    last = max(parse_time(attack["ends_at"]) for attack in started.values())

    def written() -> bool:
        # every flush writes all streams up to one moment in one transaction, and live logins arrive
        # twice a second: a login later than the last attack event means every attack event is in
        with open_db(refserver_session) as db:
            return db.execute("SELECT max(at) FROM login_attempts").fetchone()[0] > sql_time(last)

    wait_for(written)
    return started


def rows(server: RefServer, sql: str, *args: object) -> list:
    with open_db(server) as db:
        return db.execute(sql, args).fetchall()


def seconds(start: str, end: str) -> float:
    return (
        parse_time(end.replace(" ", "T") + "Z") - parse_time(start.replace(" ", "T") + "Z")
    ).total_seconds()


def test_an_unknown_attack_is_refused(refserver_session: RefServer) -> None:
    response = httpx.post(f"{refserver_session.base_url}/_control/attacks", json={"kind": "ddos"})
    assert response.status_code == 422
    assert "unknown attack 'ddos'" in response.json()["detail"]
    slow = httpx.post(
        f"{refserver_session.base_url}/_control/attacks", json={"kind": "bot_client", "speed": 0}
    )
    assert slow.status_code == 422


def test_brute_force_is_30_failures_from_one_address_against_3_accounts_then_a_success(
    refserver_session: RefServer, attacks: dict, api_as: Callable[[str], httpx.Client]
) -> None:
    attack = attacks["brute_force"]
    ip = attack["actors"]["ip"]
    found = rows(refserver_session, "SELECT * FROM login_attempts WHERE ip = ? ORDER BY id", ip)
    failures = [row for row in found if row["result"] == "failure"]
    assert len(failures) == 30 and {row["reason"] for row in failures} == {"bad_password"}
    assert sorted({row["user"] for row in failures}) == sorted(attack["actors"]["users"])
    assert found[-1]["result"] == "success" and found[-1]["user"] == attack["actors"]["success"]
    assert len(found) == 31
    # 30 failures over a minute, the success at the minute, at the attack's pace
    assert seconds(found[0]["at"], failures[-1]["at"]) == pytest.approx(58 / SPEED, abs=0.01)
    assert seconds(found[0]["at"], found[-1]["at"]) == pytest.approx(60 / SPEED, abs=0.01)
    streamed = walk(api_as("analyst"), "login", attack["starts_at"])
    assert [e["id"] for e in streamed if e["ip"] == ip] == [row["id"] for row in found]


def test_credential_stuffing_is_600_failures_from_150_addresses_against_400_accounts(
    refserver_session: RefServer, attacks: dict
) -> None:
    attack = attacks["credential_stuffing"]
    ips = attack["actors"]["ips"]
    found = rows(
        refserver_session,
        f"SELECT * FROM login_attempts WHERE at >= ? AND ip IN ({','.join('?' * len(ips))}) ORDER BY id",
        sql_time(parse_time(attack["starts_at"])),
        *ips,
    )
    assert len(found) == 600 and {row["result"] for row in found} == {"failure"}
    assert len({row["ip"] for row in found}) == 150
    assert len({row["user"] for row in found}) == 400
    unknown = [row for row in found if row["reason"] == "unknown_account"]
    assert len(unknown) > len(found) / 2, "mostly accounts that do not exist"
    assert all(row["user_id"] is None for row in unknown)
    assert {row["reason"] for row in found} == {"unknown_account", "bad_password"}
    assert seconds(found[0]["at"], found[-1]["at"]) == pytest.approx(179.7 / SPEED, abs=0.01)


def test_new_country_login_is_a_first_login_from_brazil_after_a_week_only_from_norway(
    refserver_session: RefServer, attacks: dict
) -> None:
    attack = attacks["new_country_login"]
    started = sql_time(parse_time(attack["starts_at"]))
    email = attack["actors"]["user"]
    before = rows(refserver_session, "SELECT * FROM login_attempts WHERE user = ? AND at < ?", email, started)
    assert {row["country"] for row in before} == {"NO"} and len(before) >= 3
    assert seconds(min(row["at"] for row in before), started) > 6 * 86_400
    foreign = rows(refserver_session, "SELECT * FROM login_attempts WHERE user = ? AND country = 'BR'", email)
    assert [(row["result"], row["ip"], row["at"] >= started) for row in foreign] == [
        ("success", attack["actors"]["ip"], True)
    ]


def test_impossible_travel_is_a_login_from_norway_then_japan_20_minutes_later(
    refserver_session: RefServer, attacks: dict
) -> None:
    attack = attacks["impossible_travel"]
    home_ip, far_ip = attack["actors"]["ips"]
    found = rows(
        refserver_session,
        # within the attack: the victim's own logins from home go on around it
        "SELECT * FROM login_attempts WHERE user = ? AND at >= ? AND at <= ? AND ip IN (?, ?) ORDER BY id",
        attack["actors"]["user"],
        sql_time(parse_time(attack["starts_at"])),
        sql_time(parse_time(attack["ends_at"])),
        home_ip,
        far_ip,
    )
    # the victim's own logins from home go on during the attack: the attack's are the first and the far one
    far = [row for row in found if row["ip"] == far_ip]
    assert [(row["country"], row["result"]) for row in (found[0], *far)] == [
        ("NO", "success"),
        ("JP", "success"),
    ]
    assert found[0]["ip"] == home_ip and found[-1]["ip"] == far_ip
    assert seconds(found[0]["at"], far[0]["at"]) == pytest.approx(1200 / SPEED, abs=0.01)


def test_bot_client_is_a_steady_client_sending_40_requests_a_second_for_2_minutes(
    refserver_session: RefServer, attacks: dict
) -> None:
    attack = attacks["bot_client"]
    client = attack["actors"]["client"]
    start = parse_time(attack["starts_at"])
    burst = rows(
        refserver_session,
        "SELECT count(*) FROM api_access WHERE client = ? AND at >= ? AND at <= ?",
        client,
        sql_time(start),
        sql_time(parse_time(attack["ends_at"])),
    )[0][0]
    # 40 a second for 120 s, plus whatever the client's ordinary traffic sent in that second or so
    assert 4800 <= burst <= 4810
    hourly = rows(
        refserver_session,
        "SELECT substr(at, 1, 13) AS hour, count(*) FROM api_access WHERE client = ? AND at >= ? AND at < ? "
        "GROUP BY hour",
        client,
        sql_time(start - timedelta(days=6)),
        sql_time(start - timedelta(hours=1)),
    )
    counts = [row[1] for row in hourly]
    # a steady history: some requests nearly every hour, never more than a few dozen
    assert len(counts) >= 120 and max(counts) <= 40


def test_injection_burst_is_40_waf_blocks_for_sqli_and_xss_from_one_address(
    refserver_session: RefServer, attacks: dict, api_as: Callable[[str], httpx.Client]
) -> None:
    attack = attacks["injection_burst"]
    found = rows(
        refserver_session, "SELECT * FROM waf_blocks WHERE ip = ? ORDER BY id", attack["actors"]["ip"]
    )
    assert len(found) == 40
    assert {rule: sum(row["rule"] == rule for row in found) for rule in ("sqli", "xss")} == {
        "sqli": 20,
        "xss": 20,
    }
    assert seconds(found[0]["at"], found[-1]["at"]) == pytest.approx(117 / SPEED, abs=0.01)
    streamed = walk(api_as("analyst"), "waf_block", attack["starts_at"])
    assert [e["id"] for e in streamed if e["ip"] == attack["actors"]["ip"]] == [row["id"] for row in found]


def test_bulk_data_access_is_one_staff_account_opening_300_users_records(
    refserver_session: RefServer, attacks: dict, api_as: Callable[[str], httpx.Client]
) -> None:
    attack = attacks["bulk_data_access"]
    actor = attack["actors"]["actor"]
    found = rows(
        refserver_session,
        "SELECT * FROM privileged_access WHERE actor = ? AND action = 'user.view' ORDER BY id",
        actor,
    )
    assert len(found) == 300 and len({row["target_id"] for row in found}) == 300
    assert {row["target_type"] for row in found} == {"user"}
    assert seconds(found[0]["at"], found[-1]["at"]) == pytest.approx(149.5 / SPEED, abs=0.01)
    streamed = walk(api_as("analyst"), "privileged_access", attack["starts_at"])
    assert [e["id"] for e in streamed if e["action"] == "user.view"] == [row["id"] for row in found]


@pytest.mark.parametrize("kind", ["brute_force", "injection_burst", "credential_stuffing"])
def test_the_ip_pivot_agrees_with_sql(
    refserver_session: RefServer, attacks: dict, api_as: Callable[[str], httpx.Client], kind: str
) -> None:
    actors = attacks[kind]["actors"]
    ip = actors["ip"] if "ip" in actors else actors["ips"][0]
    summary = api_as("analyst").get(f"/security/ip/{ip}").json()
    logins = rows(refserver_session, "SELECT * FROM login_attempts WHERE ip = ?", ip)
    blocks = rows(refserver_session, "SELECT * FROM waf_blocks WHERE ip = ?", ip)
    api = rows(refserver_session, "SELECT * FROM api_access WHERE ip = ?", ip)
    times = sorted(row["at"] for row in logins + blocks + api)
    assert summary["ip"] == ip
    assert summary["first_seen"][:23] == times[0].replace(" ", "T")[:23]
    assert summary["last_seen"][:23] == times[-1].replace(" ", "T")[:23]
    assert summary["logins"] == {
        "success": sum(row["result"] == "success" for row in logins),
        "failure": sum(row["result"] == "failure" for row in logins),
    }
    assert summary["waf_blocks"] == {
        rule: sum(row["rule"] == rule for row in blocks) for rule in ("sqli", "xss", "path_traversal")
    }
    assert summary["api_requests"] == len(api)
    expected_accounts = {
        user: (
            sum(r["result"] == "failure" for r in logins if r["user"] == user),
            sum(r["result"] == "success" for r in logins if r["user"] == user),
        )
        for user in {row["user"] for row in logins}
    }
    assert {a["user"]: (a["failures"], a["successes"]) for a in summary["accounts"]} == expected_accounts
    latest = max(logins + blocks, key=lambda row: row["at"])
    assert summary["country"] == latest["country"]


def test_the_user_pivot_agrees_with_sql_and_the_audit_log(
    refserver_session: RefServer, attacks: dict, api_as: Callable[[str], httpx.Client]
) -> None:
    victim = attacks["new_country_login"]["actors"]
    admin = api_as("admin")
    etag = admin.get(f"/admin/users/{victim['user_id']}").headers["ETag"]
    acted = admin.patch(
        f"/admin/users/{victim['user_id']}",
        json={"action": "reset_password", "reason": "signed in from a new country"},
        headers={"If-Match": etag, "Idempotency-Key": new_key()},
    )
    assert acted.status_code == 200, acted.text

    def expected() -> dict:
        logins = rows(
            refserver_session, "SELECT * FROM login_attempts WHERE user = ? ORDER BY id DESC", victim["user"]
        )
        by_country: dict[str, list[int]] = {}
        for row in logins:
            counts = by_country.setdefault(row["country"], [0, 0])
            counts[row["result"] == "failure"] += 1
        audit = rows(
            refserver_session,
            "SELECT id, action, actor FROM audit_log WHERE entity_type = 'user' AND entity_id = ? "
            "ORDER BY id DESC",
            str(victim["user_id"]),
        )
        return {
            "countries": by_country,
            "addresses": {row["ip"] for row in logins},
            "recent": [row["id"] for row in logins[:50]],
            "actions": [(row["id"], row["action"], row["actor"]) for row in audit],
        }

    for _ in range(5):  # a live login for this user between the two reads: read again
        before = expected()
        summary = api_as("analyst").get(f"/security/user/{victim['user']}").json()
        if expected() == before:
            break
    assert summary["user_id"] == victim["user_id"] and summary["email"] == victim["user"]
    assert {c["country"]: [c["successes"], c["failures"]] for c in summary["logins_by_country"]} == before[
        "countries"
    ]
    assert {a["ip"] for a in summary["logins_by_address"]} == before["addresses"]
    assert [e["id"] for e in summary["recent_attempts"]] == before["recent"]
    assert [(a["id"], a["action"], a["actor"]) for a in summary["admin_actions"]] == before["actions"]
    assert before["actions"][0][1:] == ("user.reset_password", "admin@nexus.test")
    # by id it is the same account
    assert api_as("analyst").get(f"/security/user/{victim['user_id']}").json()["email"] == victim["user"]

    # the action is a privileged access event too, within a flush of the feed
    def privileged() -> list:
        return rows(
            refserver_session,
            "SELECT actor, role, action, target_type FROM privileged_access WHERE target_id = ? AND at >= ?",
            str(victim["user_id"]),
            sql_time(parse_time(attacks["new_country_login"]["starts_at"])),
        )

    wait_for(lambda: len(privileged()) > 0, timeout_s=10)
    _, action, actor = before["actions"][0]
    assert [tuple(row) for row in privileged()] == [(actor, "admin", action, "user")]

"""The compliance API's reads: who may use it, the data-subject requests a fresh server starts with (the
cases a compliance officer must see), the consent picture and the retention check, each against SQL over
the server's own database files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.refserver.conftest import new_key
from tests.refserver.security_support import open_db, parse_time, sql_time
from tests.support.refserver import RefServer

READS = ("/compliance/dsar", "/compliance/consents", "/compliance/retention", "/compliance/moderation")
MONTH = timedelta(days=30)


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    """A server nobody writes to: what the first start generated, as it was generated."""
    server = RefServer(
        tmp_path_factory.mktemp("compliance-fresh"), "--seed", "5", "--scale", "0.02", "--scenario", "none"
    )
    server.start()
    yield server
    server.stop()


def _patch_unknown(client: httpx.Client) -> httpx.Response:
    """A well-formed action on a request that does not exist: 404 once the permission check has passed."""
    headers = {"If-Match": '"v1"', "Idempotency-Key": new_key()}
    return client.patch("/compliance/dsar/999999", json={"action": "extend", "reason": "x"}, headers=headers)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_may_read_compliance_data(
    api_as: Callable[[str], httpx.Client], role: str, path: str
) -> None:
    assert api_as(role).get(path).status_code == 200


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_may_act_on_requests(api_as: Callable[[str], httpx.Client], role: str) -> None:
    response = _patch_unknown(api_as(role))
    assert response.status_code == 404
    assert response.json()["detail"] == "no dsar 999999"


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("role", ["viewer", "moderator", "finance"])
def test_other_roles_may_not_read_and_are_told_to_ask_an_analyst(
    api_as: Callable[[str], httpx.Client], role: str, path: str
) -> None:
    response = api_as(role).get(path)
    assert response.status_code == 403
    assert response.json()["required_role"] == "analyst"
    assert "compliance:read" in response.json()["detail"]


@pytest.mark.parametrize("role", ["viewer", "moderator", "finance"])
def test_other_roles_may_not_act_on_requests(api_as: Callable[[str], httpx.Client], role: str) -> None:
    response = _patch_unknown(api_as(role))
    assert response.status_code == 403
    assert response.json()["required_role"] == "analyst"
    assert "compliance:write" in response.json()["detail"]


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def test_the_request_list_is_every_request_newest_first(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    listed = api_as("analyst").get("/compliance/dsar").json()["requests"]
    with open_db(refserver_session) as db:
        rows = db.execute("SELECT * FROM data_subject_requests ORDER BY received_at DESC, id DESC").fetchall()
    assert [item["id"] for item in listed] == [row["id"] for row in rows]
    for item, row in zip(listed, rows, strict=True):
        assert set(item) == {
            "id", "user_id", "user", "kind", "received_at", "status",
            "extended_at", "completed_at", "note", "version",
        }  # fmt: skip
        for field in ("user_id", "user", "kind", "status", "note", "version"):
            assert item[field] == row[field], field
        for field in ("received_at", "extended_at", "completed_at"):
            stored = None if row[field] is None else datetime.fromisoformat(row[field]).replace(tzinfo=UTC)
            assert _time_or_none(item[field]) == stored, field
            assert item[field] is None or item[field].endswith("Z")


def test_each_request_comes_from_a_real_user_with_their_email(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    listed = api_as("analyst").get("/compliance/dsar").json()["requests"]
    with open_db(refserver_session, "users") as users_db:
        emails = dict(users_db.execute("SELECT id, email FROM users").fetchall())
    assert all(emails[item["user_id"]] == item["user"] for item in listed)


def test_a_fresh_server_has_the_cases_a_compliance_officer_must_see(fresh_server: RefServer) -> None:
    now = datetime.now(UTC)
    with open_db(fresh_server) as db:
        rows = db.execute("SELECT * FROM data_subject_requests").fetchall()

    def age(row) -> timedelta:  # type: ignore[no-untyped-def]
        return now - datetime.fromisoformat(row["received_at"]).replace(tzinfo=UTC)

    def took(row, column: str) -> timedelta:  # type: ignore[no-untyped-def]
        return datetime.fromisoformat(row[column]) - datetime.fromisoformat(row["received_at"])

    assert 50 <= len(rows) <= 70
    assert all(timedelta(0) <= age(row) <= timedelta(days=120) for row in rows)
    statuses = Counter(row["status"] for row in rows)
    on_time = [row for row in rows if row["status"] == "completed" and took(row, "completed_at") <= MONTH]
    late = [row for row in rows if row["status"] == "completed" and took(row, "completed_at") > MONTH]
    extended = [row for row in rows if row["status"] == "extended"]
    still_open = [row for row in rows if row["status"] == "open"]
    overdue = [row for row in still_open if age(row) > MONTH]
    due_in_3_days = [row for row in still_open if MONTH - timedelta(days=3) <= age(row) <= MONTH]
    assert len(on_time) > len(rows) / 2, statuses
    assert 2 <= len(late) <= 6
    assert 2 <= len(extended) <= 6
    assert all(row["extended_at"] is not None and took(row, "extended_at") <= MONTH for row in extended)
    assert len(overdue) >= 2 and all(row["extended_at"] is None for row in overdue)
    assert len(due_in_3_days) >= 1
    assert statuses["rejected"] >= 1
    # nothing happened to a request before it arrived or after now
    for row in rows:
        for column in ("extended_at", "completed_at"):
            if row[column] is not None:
                assert timedelta(0) < took(row, column) <= age(row)


def _latest_choices(db) -> dict[tuple[int, str], bool]:  # type: ignore[no-untyped-def]
    latest: dict[tuple[int, str], tuple[datetime, int, bool]] = {}
    for row in db.execute("SELECT id, at, user_id, purpose, granted FROM consent_changes"):
        key = (row["user_id"], row["purpose"])
        candidate = (datetime.fromisoformat(row["at"]), row["id"], bool(row["granted"]))
        if key not in latest or candidate[:2] > latest[key][:2]:
            latest[key] = candidate
    return {key: value[2] for key, value in latest.items()}


def test_consent_counts_each_users_latest_choice_per_purpose(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    body = api_as("analyst").get("/compliance/consents").json()
    with open_db(refserver_session) as db:
        latest = _latest_choices(db)
    expected = []
    for purpose in ("marketing", "analytics", "personalisation"):
        granted = sum(1 for (_, p), choice in latest.items() if p == purpose and choice)
        withdrawn = sum(1 for (_, p), choice in latest.items() if p == purpose and not choice)
        expected.append(
            {
                "purpose": purpose,
                "granted": granted,
                "withdrawn": withdrawn,
                "rate": round(granted / (granted + withdrawn), 4),
            }
        )
    assert body["purposes"] == expected
    assert all(item["granted"] > 0 and item["withdrawn"] > 0 for item in expected)


def test_consent_changes_are_counted_per_day_over_the_last_30_days(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    body = api_as("analyst").get("/compliance/consents").json()
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(29, -1, -1)]
    expected = {day: {"granted": 0, "withdrawn": 0} for day in days}
    with open_db(refserver_session) as db:
        for row in db.execute("SELECT at, granted FROM consent_changes"):
            day = datetime.fromisoformat(row["at"]).date()
            if day in expected:
                expected[day]["granted" if row["granted"] else "withdrawn"] += 1
    assert body["changes_30d"] == [{"day": day.isoformat(), **expected[day]} for day in days]
    assert sum(item["granted"] + item["withdrawn"] for item in body["changes_30d"]) > 0


def test_the_first_2000_active_users_chose_each_purpose_at_signup(fresh_server: RefServer) -> None:
    with open_db(fresh_server, "users") as users_db:
        first_active = users_db.execute(
            "SELECT id, signup_at FROM users WHERE status = 'active' ORDER BY id LIMIT 2000"
        ).fetchall()
    with open_db(fresh_server) as db:
        signups = db.execute(
            "SELECT user_id, purpose, at FROM consent_changes WHERE source = 'signup'"
        ).fetchall()
        later = db.execute("SELECT user_id, at FROM consent_changes WHERE source != 'signup'").fetchall()
    signup_at = {
        row["id"]: datetime.fromisoformat(row["signup_at"]).replace(microsecond=0) for row in first_active
    }
    assert Counter(row["user_id"] for row in signups) == {user_id: 3 for user_id in signup_at}
    assert all(datetime.fromisoformat(row["at"]) == signup_at[row["user_id"]] for row in signups)
    ninety_days_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=90, minutes=5)
    assert later and all(datetime.fromisoformat(row["at"]) >= ninety_days_ago for row in later)


def test_the_retention_check_counts_rows_older_than_each_rule(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    now = datetime.now(UTC)
    checks = api_as("analyst").get("/compliance/retention").json()["checks"]
    rules = [
        ("users", "search_queries", "at", 365),
        ("users", "sync_sessions", "started_at", 730),
        ("nexus", "login_attempts", "at", 90),
        ("nexus", "api_access", "at", 30),
    ]
    assert [(c["database"], c["table"], c["column"], c["keep_days"]) for c in checks] == rules
    for check, (database, table, column, keep_days) in zip(checks, rules, strict=True):
        with open_db(refserver_session, database) as db:
            cutoff = sql_time(now - timedelta(days=keep_days))
            older = db.execute(f"SELECT count(*) FROM {table} WHERE {column} < ?", (cutoff,)).fetchone()[0]
            oldest = db.execute(f"SELECT min({column}) FROM {table}").fetchone()[0]
        assert check["older_rows"] == older, table
        assert parse_time(check["oldest"]) == datetime.fromisoformat(oldest).replace(tzinfo=UTC), table
    # the generated searches reach back three years, so the policy finds some to delete
    assert checks[0]["older_rows"] > 0


def test_the_moderation_figures_count_flagged_items_and_the_month_s_decisions(
    api_as: Callable[[str], httpx.Client], refserver_session: RefServer
) -> None:
    admin = api_as("admin")
    flagged = admin.get("/admin/products", params={"queue": "flagged", "limit": 1}).json()["items"]
    assert flagged, "the generated marketplace has flagged products"
    product = flagged[0]
    decided = admin.patch(
        f"/admin/products/{product['id']}",
        json={"action": "remove", "reason": "counterfeit listing"},
        headers={"If-Match": f'"v{product["version"]}"', "Idempotency-Key": new_key()},
    )
    assert decided.status_code == 200, decided.text
    body = api_as("analyst").get("/compliance/moderation").json()
    kinds = {k["kind"]: k for k in body["kinds"]}
    for kind, database, table, waiting in (
        ("product", "marketplace", "products", ("pending", "approved")),
        ("content", "workstation", "contents", ("published",)),
    ):
        marks = ",".join("?" * len(waiting))
        with open_db(refserver_session, database) as db:
            count, oldest = db.execute(
                f"SELECT count(*), min(created_at) FROM {table} WHERE flagged AND status IN ({marks})",
                waiting,
            ).fetchone()
            statuses = dict(db.execute(f"SELECT status, count(*) FROM {table} GROUP BY status").fetchall())
            reasons = db.execute(
                f"SELECT coalesce(flag_reason, 'unspecified'), count(*) FROM {table} WHERE flagged "
                "GROUP BY flag_reason ORDER BY count(*) DESC, flag_reason LIMIT 5"
            ).fetchall()
        assert kinds[kind]["flagged_waiting"] == count, kind
        assert kinds[kind]["by_status"] == statuses, kind
        assert [(r["reason"], r["count"]) for r in kinds[kind]["reasons"]] == [tuple(r) for r in reasons], (
            kind
        )
        if oldest is not None:
            assert parse_time(kinds[kind]["oldest_flagged_created_at"]) == datetime.fromisoformat(
                oldest
            ).replace(tzinfo=UTC)
    with open_db(refserver_session, "nexus") as db:
        month_ago = sql_time(datetime.now(UTC) - timedelta(days=30))
        expected = db.execute(
            "SELECT entity_type, action, count(*) FROM audit_log WHERE entity_type IN ('product', 'content') "
            "AND at >= ? GROUP BY entity_type, action ORDER BY entity_type, action",
            (month_ago,),
        ).fetchall()
    assert [(d["kind"], d["action"], d["count"]) for d in body["decisions_30d"]] == [
        tuple(r) for r in expected
    ]
    assert any(d["action"] == "product.remove" and d["count"] >= 1 for d in body["decisions_30d"])

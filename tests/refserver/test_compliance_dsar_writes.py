"""Acting on a data-subject request: extend, complete and reject as versioned, audited writes with
If-Match and Idempotency-Key, and the GDPR's rules on when each applies. Every outcome is checked in the
server's own nexus database (the request row and its audit entries)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from nexus_refserver.compliance_data import months_after
from tests.refserver.conftest import new_key
from tests.refserver.security_support import open_db, parse_time
from tests.support.refserver import RefServer

ANALYST = "analyst@nexus.test"


@pytest.fixture
def analyst(api_as: Callable[[str], httpx.Client]) -> httpx.Client:
    return api_as("analyst")


def _row(server: RefServer, dsar_id: int) -> Any:
    with open_db(server) as db:
        return db.execute("SELECT * FROM data_subject_requests WHERE id = ?", (dsar_id,)).fetchone()


def _audit(server: RefServer, dsar_id: int) -> list[Any]:
    with open_db(server) as db:
        return db.execute(
            "SELECT * FROM audit_log WHERE entity_type = 'dsar' AND entity_id = ? ORDER BY id",
            (str(dsar_id),),
        ).fetchall()


def _untouched_recent_request(server: RefServer) -> Any:
    """An open request received in the last 26 days that no test has acted on yet (version 1). Tests take
    these (a fresh server has eight), never the overdue or nearly due ones other tests look for."""
    since = (datetime.now(UTC) - timedelta(days=26)).strftime("%Y-%m-%d %H:%M:%S")
    with open_db(server) as db:
        row = db.execute(
            "SELECT * FROM data_subject_requests WHERE status = 'open' AND version = 1 AND received_at > ? "
            "ORDER BY id DESC LIMIT 1",
            (since,),
        ).fetchone()
    assert row is not None, "no untouched recent open request left"
    return row


def _act(
    client: httpx.Client,
    dsar_id: int,
    action: str,
    version: int,
    *,
    key: str | None = None,
    reason: str = "ok",
) -> httpx.Response:
    headers = {"If-Match": f'"v{version}"', "Idempotency-Key": key or new_key()}
    return client.patch(
        f"/compliance/dsar/{dsar_id}", json={"action": action, "reason": reason}, headers=headers
    )


def test_extending_an_open_request_records_when_and_why_and_audits_it(
    analyst: httpx.Client, refserver_session: RefServer
) -> None:
    request = _untouched_recent_request(refserver_session)
    asked_at = datetime.now(UTC)
    response = _act(analyst, request["id"], "extend", 1, reason="data in three systems")
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"v2"'
    body = response.json()
    row = _row(refserver_session, request["id"])
    assert (row["status"], row["note"], row["version"]) == ("extended", "data in three systems", 2)
    assert body["status"] == "extended" and body["version"] == 2
    extended_at = parse_time(body["extended_at"])
    assert asked_at - timedelta(seconds=1) <= extended_at <= datetime.now(UTC)
    assert datetime.fromisoformat(row["extended_at"]).replace(tzinfo=UTC) == extended_at
    [entry] = _audit(refserver_session, request["id"])
    assert (entry["actor"], entry["action"], entry["reason"]) == (
        ANALYST,
        "dsar.extend",
        "data in three systems",
    )
    assert json.loads(entry["before"])["status"] == "open"
    assert json.loads(entry["after"]) == body


def test_a_request_is_extended_only_once(analyst: httpx.Client, refserver_session: RefServer) -> None:
    request = _untouched_recent_request(refserver_session)
    assert _act(analyst, request["id"], "extend", 1).status_code == 200
    again = _act(analyst, request["id"], "extend", 2)
    assert again.status_code == 422
    today = datetime.now(UTC).date().isoformat()
    assert (
        again.json()["detail"]
        == f"dsar {request['id']} was already extended on {today}; a request is extended only once"
    )
    assert _row(refserver_session, request["id"])["version"] == 2
    assert len(_audit(refserver_session, request["id"])) == 1


def test_a_request_past_its_first_month_cannot_be_extended(
    analyst: httpx.Client, refserver_session: RefServer
) -> None:
    month_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    with open_db(refserver_session) as db:
        overdue = db.execute(
            "SELECT * FROM data_subject_requests WHERE status = 'open' AND received_at < ? LIMIT 1",
            (month_ago,),
        ).fetchone()
    response = _act(analyst, overdue["id"], "extend", overdue["version"])
    assert response.status_code == 422
    received = overdue["received_at"][:10]
    month_end = months_after(datetime.fromisoformat(overdue["received_at"]), 1).date().isoformat()
    assert response.json()["detail"] == (
        f"dsar {overdue['id']} was received on {received}, more than a month ago (its month ended on "
        f"{month_end}); a request can only be extended within its first month"
    )
    assert _row(refserver_session, overdue["id"])["status"] == "open"


def test_completing_closes_the_request_and_it_cannot_be_extended_or_closed_again(
    analyst: httpx.Client, refserver_session: RefServer
) -> None:
    request = _untouched_recent_request(refserver_session)
    done = _act(analyst, request["id"], "complete", 1, reason="export sent")
    assert done.status_code == 200, done.text
    row = _row(refserver_session, request["id"])
    assert (row["status"], row["note"], row["version"]) == ("completed", "export sent", 2)
    assert parse_time(done.json()["completed_at"]) == datetime.fromisoformat(row["completed_at"]).replace(
        tzinfo=UTC
    )
    [entry] = _audit(refserver_session, request["id"])
    assert (entry["action"], entry["reason"]) == ("dsar.complete", "export sent")

    extend = _act(analyst, request["id"], "extend", 2)
    assert extend.status_code == 422
    assert (
        extend.json()["detail"] == f"dsar {request['id']} is completed; only an open request can be extended"
    )
    reject = _act(analyst, request["id"], "reject", 2)
    assert reject.status_code == 409
    assert reject.json()["detail"] == f"reject does not apply to dsar {request['id']} (status completed)"
    assert _row(refserver_session, request["id"])["version"] == 2


def test_an_extended_request_can_still_be_rejected(
    analyst: httpx.Client, refserver_session: RefServer
) -> None:
    request = _untouched_recent_request(refserver_session)
    assert _act(analyst, request["id"], "extend", 1).status_code == 200
    rejected = _act(analyst, request["id"], "reject", 2, reason="identity not verified")
    assert rejected.status_code == 200, rejected.text
    row = _row(refserver_session, request["id"])
    assert (row["status"], row["note"], row["version"]) == ("rejected", "identity not verified", 3)
    assert row["extended_at"] is not None and row["completed_at"] is not None
    assert [entry["action"] for entry in _audit(refserver_session, request["id"])] == [
        "dsar.extend",
        "dsar.reject",
    ]


def test_a_stale_if_match_is_refused_and_changes_nothing(
    analyst: httpx.Client, refserver_session: RefServer
) -> None:
    request = _untouched_recent_request(refserver_session)
    assert _act(analyst, request["id"], "extend", 1).status_code == 200
    stale = _act(analyst, request["id"], "complete", 1)
    assert stale.status_code == 412
    assert stale.headers["ETag"] == '"v2"'
    assert _row(refserver_session, request["id"])["status"] == "extended"
    missing = analyst.patch(
        f"/compliance/dsar/{request['id']}",
        json={"action": "complete", "reason": "ok"},
        headers={"Idempotency-Key": new_key()},
    )
    assert missing.status_code == 428
    assert len(_audit(refserver_session, request["id"])) == 1


def test_the_same_idempotency_key_completes_a_request_once(
    analyst: httpx.Client, refserver_session: RefServer
) -> None:
    request = _untouched_recent_request(refserver_session)
    key = new_key()
    first = _act(analyst, request["id"], "complete", 1, key=key)
    repeat = _act(analyst, request["id"], "complete", 1, key=key)
    assert first.status_code == repeat.status_code == 200
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert repeat.json() == first.json()
    assert _row(refserver_session, request["id"])["version"] == 2
    entries = _audit(refserver_session, request["id"])
    assert [(entry["action"], entry["idempotency_key"]) for entry in entries] == [("dsar.complete", key)]
    other_body = _act(analyst, request["id"], "reject", 1, key=key)
    assert other_body.status_code == 422


def test_the_server_and_the_console_count_the_same_calendar_month() -> None:
    from nexus_console.domain.dsar import add_months

    assert months_after(datetime(2027, 1, 31, 15, 30, tzinfo=UTC), 1) == datetime(
        2027, 2, 28, 15, 30, tzinfo=UTC
    )
    assert months_after(datetime(2028, 1, 31, tzinfo=UTC), 1).day == 29  # a leap year
    assert months_after(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)
    day = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for _ in range(800):
        for months in (1, 3):
            assert months_after(day, months).date() == add_months(day.date(), months)
        day += timedelta(days=1)

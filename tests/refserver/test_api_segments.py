"""/analytics/users' behaviour segments: every user in exactly one, the first that fits, checked against a
classification written here over the server's own rows."""

from __future__ import annotations

import sqlite3
from collections import Counter

import httpx

from tests.refserver.conftest import bearer, login
from tests.support.refserver import RefServer


def read(server: RefServer, database: str, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{server.data_dir / (database + '.sqlite3')}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_every_user_is_in_one_behaviour_segment_with_its_completed_orders(
    refserver_session: RefServer,
) -> None:
    token = login(refserver_session.base_url, "analyst")["access_token"]
    body = httpx.get(
        f"{refserver_session.base_url}/analytics/users", headers=bearer(token), timeout=30
    ).json()

    completed = "SELECT user_id FROM orders WHERE status = 'completed'"
    bought = Counter(row[0] for row in read(refserver_session, "marketplace", completed))
    carted = {
        row[0]
        for row in read(
            refserver_session, "marketplace", "SELECT user_id FROM cart_events WHERE kind = 'add'"
        )
    }
    synced = Counter(row[0] for row in read(refserver_session, "users", "SELECT user_id FROM sync_sessions"))
    expected: dict[str, list[int]] = {
        key: [0, 0] for key in ("heavy", "repeat", "one_time", "browser", "none")
    }
    for (user_id,) in read(refserver_session, "users", "SELECT id FROM users"):
        n = bought[user_id]
        if n >= 2:
            key = "heavy" if synced[user_id] >= 3 else "repeat"
        elif n == 1:
            key = "one_time"
        else:
            key = "browser" if user_id in carted else "none"
        expected[key][0] += 1
        expected[key][1] += n

    segments = {s["key"]: [s["users"], s["orders"]] for s in body["segments"]}
    assert segments == expected
    assert sum(users for users, _ in segments.values()) == body["total_users"]
    assert [s["label"] for s in body["segments"]][:2] == ["Heavy users", "Repeat buyers"]

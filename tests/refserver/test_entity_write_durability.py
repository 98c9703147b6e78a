"""Admin changes are audited even across a crash, and concurrent changes to one entity apply once.

The entity (users database) and its audit row (nexus database) cannot share a transaction; the server
records the planned change as an intent first and finishes it at the next start. These tests kill the
server between the two writes (`--crash-after-entity-write`, a test-only flag) and read the databases
directly to prove where the crash left things.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login, new_key
from tests.support.refserver import RefServer

CRASH_FLAG = "--crash-after-entity-write"


def _rows(server: RefServer, database: str, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(f"file:{Path(server.data_dir) / (database + '.sqlite3')}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def _active_user(client: httpx.Client, after_id: int) -> dict:
    page = client.get("/admin/users", params={"status": "active", "cursor": f"c{after_id}", "limit": 1})
    return page.json()["items"][0]


def _admin(server: RefServer) -> httpx.Client:
    token = login(server.base_url, "admin")["access_token"]
    return httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=30)


def _audit(client: httpx.Client, user_id: int) -> list[dict]:
    params = {"entity_type": "user", "entity_id": str(user_id)}
    return client.get("/audit", params=params).json()["items"]


def test_a_crash_between_entity_change_and_audit_row_loses_no_audit(refserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: RefServer = refserver_factory(*SMALL_SERVER_ARGS, CRASH_FLAG)
    with _admin(server) as admin:
        user = _active_user(admin, 10)
        key = new_key()
        body = {"action": "suspend", "reason": "crash drill"}
        headers = {"Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'}
        with pytest.raises(httpx.TransportError):
            admin.patch(f"/admin/users/{user['id']}", json=body, headers=headers)
    assert server.proc is not None and server.proc.wait(10) == -9

    # the crash landed exactly between the two writes: entity changed, no audit row, an intent left
    [(status, version)] = _rows(
        server, "users", "SELECT status, version FROM users WHERE id = ?", (user["id"],)
    )
    assert (status, version) == ("suspended", user["version"] + 1)
    assert _rows(server, "nexus", "SELECT COUNT(*) FROM audit_log WHERE idempotency_key = ?", (key,)) == [
        (0,)
    ]
    assert _rows(server, "nexus", "SELECT COUNT(*) FROM write_intents") == [(1,)]

    server.args.remove(CRASH_FLAG)
    server.start()
    with _admin(server) as admin:
        [entry] = _audit(admin, user["id"])
        assert entry["idempotency_key"] == key
        assert entry["action"] == "user.suspend" and entry["reason"] == "crash drill"
        assert entry["actor"] == "admin@nexus.test"
        assert entry["before"]["status"] == "active" and entry["before"]["version"] == user["version"]
        assert entry["after"]["status"] == "suspended" and entry["after"]["version"] == user["version"] + 1
        # the client never saw an answer; its retry with the same key gets the change's response
        retry = admin.patch(f"/admin/users/{user['id']}", json=body, headers=headers)
        assert retry.status_code == 200, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["version"] == user["version"] + 1
        assert retry.headers["etag"] == f'"v{user["version"] + 1}"'
        assert len(_audit(admin, user["id"])) == 1
    assert _rows(server, "nexus", "SELECT COUNT(*) FROM write_intents") == [(0,)]


def test_an_intent_whose_change_never_landed_frees_its_key(refserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: RefServer = refserver_factory(*SMALL_SERVER_ARGS)
    with _admin(server) as admin:
        user = _active_user(admin, 20)
    server.stop()
    # what a crash after step 1 leaves: the key reserved and the intent recorded, the entity untouched
    key = new_key()
    body = {"action": "suspend", "reason": "never landed"}
    db = sqlite3.connect(Path(server.data_dir) / "nexus.sqlite3")
    try:
        with db:
            db.execute(
                "INSERT INTO idempotency_keys (actor, key, request_hash, created_at) "
                "VALUES ('admin@nexus.test', ?, 'x', '2026-11-01 00:00:00')",
                (key,),
            )
            db.execute(
                "INSERT INTO write_intents (actor, idempotency_key, created_at, action, entity_type, "
                "entity_id, from_version, to_version, before, after, reason) VALUES "
                "('admin@nexus.test', ?, '2026-11-01 00:00:00', 'user.suspend', 'user', ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    str(user["id"]),
                    user["version"],
                    user["version"] + 1,
                    json.dumps({"status": "active", "version": user["version"]}),
                    json.dumps({"status": "suspended", "version": user["version"] + 1}),
                    body["reason"],
                ),
            )
    finally:
        db.close()

    server.start()
    assert _rows(server, "nexus", "SELECT COUNT(*) FROM write_intents") == [(0,)]
    with _admin(server) as admin:
        assert _audit(admin, user["id"]) == []
        headers = {"Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'}
        fresh = admin.patch(f"/admin/users/{user['id']}", json=body, headers=headers)
        assert fresh.status_code == 200, fresh.text
        assert "idempotent-replayed" not in fresh.headers
        assert [entry["idempotency_key"] for entry in _audit(admin, user["id"])] == [key]


def test_concurrent_changes_to_one_entity_apply_once_with_one_audit_row(admin: httpx.Client) -> None:
    user = _active_user(admin, 240)
    headers = {**admin.headers, "If-Match": f'"v{user["version"]}"'}
    start = threading.Barrier(8)
    responses: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=str(admin.base_url), timeout=30) as client:
            start.wait()
            responses.append(
                client.patch(
                    f"/admin/users/{user['id']}",
                    json={"action": "suspend", "reason": "race"},
                    headers={**headers, "Idempotency-Key": new_key()},
                )
            )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(r.status_code for r in responses)
    # one applies; the others see the new version (412) or the transition gone (409)
    assert statuses.count(200) == 1 and len(statuses) == 8, [r.text for r in responses]
    assert set(statuses) - {200} <= {409, 412}
    assert len(_audit(admin, user["id"])) == 1
    assert admin.get(f"/admin/users/{user['id']}").json()["version"] == user["version"] + 1


def test_a_burst_of_changes_with_repeated_keys_applies_each_key_once(admin: httpx.Client) -> None:
    page = admin.get("/admin/users", params={"status": "active", "cursor": "c600", "limit": 20}).json()
    users = page["items"]
    assert len(users) == 20
    requests = []
    for user in users:
        key = new_key()
        headers = {**admin.headers, "Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'}
        body = {"action": "reset_password", "reason": "burst"}
        # every change is sent twice at once: the writer sees both, often in one batch
        requests += [(user, key, headers, body)] * 2
    responses: dict[str, list[httpx.Response]] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(requests))

    def send(user: dict, key: str, headers: dict, body: dict) -> None:
        with httpx.Client(base_url=str(admin.base_url), timeout=30) as client:
            start.wait()
            response = client.patch(f"/admin/users/{user['id']}", json=body, headers=headers)
        with lock:
            responses.setdefault(key, []).append(response)

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(responses) == 20
    for user in users:
        [entry] = _audit(admin, user["id"])
        pair = responses[entry["idempotency_key"]]
        assert [r.status_code for r in pair] == [200, 200], [r.text for r in pair]
        assert sorted(r.headers.get("idempotent-replayed", "") for r in pair) == ["", "true"]
        assert pair[0].json() == pair[1].json() == admin.get(f"/admin/users/{user['id']}").json()
        assert entry["after"]["version"] == user["version"] + 1

"""Idempotency-Key: a repeated or concurrent request has exactly one effect and replays one response."""

from __future__ import annotations

import threading

import httpx

from tests.refserver.conftest import new_key
from tests.refserver.test_api_admin import first_user


def audit_entries(admin: httpx.Client, entity_type: str, entity_id: int) -> list[dict]:
    params = {"entity_type": entity_type, "entity_id": str(entity_id)}
    return admin.get("/audit", params=params).json()["items"]


def test_same_key_twice_has_one_effect_and_replays_the_response(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 200)
    key = new_key()
    headers = {"Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'}
    body = {"action": "suspend", "reason": "chargebacks"}
    first = admin.patch(f"/admin/users/{user['id']}", json=body, headers=headers)
    second = admin.patch(f"/admin/users/{user['id']}", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert admin.get(f"/admin/users/{user['id']}").json()["version"] == user["version"] + 1
    assert len(audit_entries(admin, "user", user["id"])) == 1


def test_two_concurrent_requests_with_one_key_have_one_effect(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 210)
    headers = {**admin.headers, "Idempotency-Key": new_key(), "If-Match": f'"v{user["version"]}"'}
    body = {"action": "ban", "reason": "botnet"}
    start = threading.Barrier(2)
    responses: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=str(admin.base_url), timeout=30) as client:
            start.wait()
            responses.append(client.patch(f"/admin/users/{user['id']}", json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.headers.get("idempotent-replayed", "") for r in responses) == ["", "true"]
    assert len(audit_entries(admin, "user", user["id"])) == 1
    assert admin.get(f"/admin/users/{user['id']}").json()["version"] == user["version"] + 1


def test_same_key_with_a_different_body_is_422(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 220)
    key = new_key()
    headers = {"Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'}
    first = admin.patch(
        f"/admin/users/{user['id']}", json={"action": "suspend", "reason": "a"}, headers=headers
    )
    assert first.status_code == 200
    other = admin.patch(
        f"/admin/users/{user['id']}", json={"action": "suspend", "reason": "b"}, headers=headers
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert len(audit_entries(admin, "user", user["id"])) == 1


def test_a_failed_request_does_not_use_up_its_key(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 230)
    key = new_key()
    body = {"action": "suspend", "reason": "retry after reload"}
    stale = admin.patch(
        f"/admin/users/{user['id']}", json=body, headers={"Idempotency-Key": key, "If-Match": '"v999"'}
    )
    assert stale.status_code == 412
    retried = admin.patch(
        f"/admin/users/{user['id']}",
        json=body,
        headers={"Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'},
    )
    assert retried.status_code == 200
    assert "idempotent-replayed" not in retried.headers


def test_mutations_require_an_idempotency_key(admin: httpx.Client) -> None:
    user = first_user(admin, "active", 240)
    response = admin.patch(
        f"/admin/users/{user['id']}",
        json={"action": "suspend", "reason": "x"},
        headers={"If-Match": f'"v{user["version"]}"'},
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]


def test_keys_belong_to_one_caller(api_as) -> None:  # type: ignore[no-untyped-def]
    admin, moderator = api_as("admin"), api_as("moderator")
    key = new_key()
    body = {"kind": "note", "text": "shared key"}
    incident = admin.post(
        "/incidents", json={"title": "key scope", "severity": "low"}, headers={"Idempotency-Key": new_key()}
    ).json()
    headers = {"Idempotency-Key": key, "If-Match": f'"v{incident["version"]}"'}
    by_admin = admin.post(f"/incidents/{incident['id']}/timeline", json=body, headers=headers)
    assert by_admin.status_code == 201
    # the moderator may not write incidents at all: the key does not leak the admin's stored response
    by_moderator = moderator.post(f"/incidents/{incident['id']}/timeline", json=body, headers=headers)
    assert by_moderator.status_code == 403


def test_unfinished_and_day_old_keys_are_forgotten_at_start_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from nexus_refserver.config import ServerConfig
    from nexus_refserver.databases import Databases
    from nexus_refserver.idempotency import IdempotencyStore, StoredResponse
    from nexus_refserver.schema import idempotency_keys

    dbs = Databases.open(ServerConfig(data_dir=tmp_path))
    try:
        dbs.create_schema()
        store = IdempotencyStore(dbs.nexus)
        assert store.reserve("a", "unfinished", "h") is None
        assert store.reserve("a", "recent", "h") is None
        store.complete("a", "recent", StoredResponse(200, b"{}", {}))
        with dbs.nexus.begin() as conn:
            old = datetime.now(UTC) - timedelta(days=2)
            conn.execute(
                insert(idempotency_keys).values(
                    actor="a",
                    key="old",
                    request_hash="h",
                    created_at=old,
                    status_code=200,
                    response_body="{}",
                )
            )
        store.forget_unfinished()
        with dbs.nexus.connect() as conn:
            keys = {row.key for row in conn.execute(select(idempotency_keys.c.key))}
        assert keys == {"recent"}
        assert store.reserve("a", "recent", "h") == StoredResponse(200, b"{}", {})
    finally:
        dbs.dispose()

"""The Nexus API on a real PostgreSQL primary: schema, trigram indexes, versioned PATCH and idempotency."""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest

from nexus_refserver.config import USERS_PER_SCALE
from tests.refserver.conftest import bearer, login, new_key
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import REFSERVER_SCALE
from tests.support.refserver import RefServer

pytestmark = pytest.mark.postgres


def test_trigram_indexes_exist_on_the_users_database(pg_cluster: PgCluster, pg_refserver: RefServer) -> None:
    url = pg_cluster.primary_url("users").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        extensions = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        indexes = {
            row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'users'")
        }
        count = conn.execute("SELECT count(*) FROM users").fetchone()
    assert "pg_trgm" in extensions
    assert {"ix_users_email_trgm", "ix_users_name_trgm"} <= indexes
    assert count == (int(float(REFSERVER_SCALE) * USERS_PER_SCALE),)


def test_search_patch_and_idempotency_on_postgresql(pg_refserver: RefServer) -> None:
    token = login(pg_refserver.base_url, "admin")["access_token"]
    with httpx.Client(base_url=pg_refserver.base_url, headers=bearer(token), timeout=20) as admin:
        user = admin.get("/admin/users", params={"status": "active", "limit": 1}).json()["items"][0]
        surname = user["name"].split()[-1].upper()
        found = admin.get("/admin/users", params={"q": surname, "limit": 500}).json()["items"]
        assert user["id"] in [item["id"] for item in found]

        key = new_key()
        headers = {**admin.headers, "Idempotency-Key": key, "If-Match": f'"v{user["version"]}"'}
        results: list[httpx.Response] = []
        start = threading.Barrier(2)

        def send() -> None:
            with httpx.Client(base_url=pg_refserver.base_url, timeout=30) as client:
                start.wait()
                results.append(
                    client.patch(
                        f"/admin/users/{user['id']}",
                        json={"action": "suspend", "reason": "pg"},
                        headers=headers,
                    )
                )

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert [r.status_code for r in results] == [200, 200]
        assert sorted(r.headers.get("idempotent-replayed", "") for r in results) == ["", "true"]
        audit = admin.get("/audit", params={"entity_type": "user", "entity_id": str(user["id"])}).json()[
            "items"
        ]
        # the shared server's other tests act on users too: count this request's key
        assert [entry["idempotency_key"] for entry in audit].count(key) == 1

        stale = admin.patch(
            f"/admin/users/{user['id']}",
            json={"action": "unsuspend", "reason": "pg"},
            headers={"Idempotency-Key": new_key(), "If-Match": f'"v{user["version"]}"'},
        )
        assert stale.status_code == 412

        incident = admin.post(
            "/incidents",
            json={"title": "pg incident", "severity": "high"},
            headers={"Idempotency-Key": new_key()},
        )
        assert incident.status_code == 201
        assert incident.headers["etag"] == '"v1"'
        timeline = admin.get(f"/incidents/{incident.json()['id']}/timeline").json()["items"]
        assert [entry["kind"] for entry in timeline] == ["status"]

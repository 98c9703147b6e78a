"""Authentication: login, expiring and rotating tokens, logout, and the role matrix across routes."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.refserver.conftest import ROLES, SMALL_SERVER_ARGS, bearer, login
from tests.support.refserver import RefServer

PROBLEM = "application/problem+json"


def test_login_returns_a_token_pair_and_the_profile(refserver_session: RefServer) -> None:
    pair = login(refserver_session.base_url, "finance")
    assert pair["token_type"] == "bearer"
    assert pair["access_token"] != pair["refresh_token"]
    assert pair["expires_in"] > 0 and pair["refresh_expires_in"] > pair["expires_in"]
    assert pair["user"]["email"] == "finance@nexus.test"
    assert pair["user"]["roles"] == ["finance"]
    assert "revenue:read" in pair["user"]["permissions"]


def test_wrong_password_is_a_401_problem(refserver_session: RefServer) -> None:
    response = httpx.post(
        f"{refserver_session.base_url}/auth/login",
        json={"email": "admin@nexus.test", "password": "not-the-password"},
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 401
    assert "access_token" not in response.text


def test_requests_without_a_valid_token_are_401_problems(refserver_session: RefServer) -> None:
    base = refserver_session.base_url
    for headers in ({}, bearer("made-up-token"), {"Authorization": "Basic YWRtaW46eA=="}):
        response = httpx.get(f"{base}/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_me_describes_the_caller(api_as: Callable[[str], httpx.Client]) -> None:
    me = api_as("analyst").get("/auth/me").json()
    assert me["email"] == "analyst@nexus.test"
    assert me["roles"] == ["analyst"]
    assert "alerts:write" in me["permissions"]
    assert "revenue:read" not in me["permissions"]


# The agreed role matrix, written out here independently of nexus_refserver.roles so a change there
# that breaks the agreement fails this test.
ROUTES_AND_ALLOWED_ROLES = [
    ("GET", "/monitoring/services", {"admin", "finance", "analyst", "viewer"}),
    ("GET", "/monitoring/api/health", {"admin", "finance", "analyst", "viewer"}),
    ("GET", "/monitoring/database/health", {"admin", "finance", "analyst", "viewer"}),
    ("GET", "/monitoring/sync/quality", {"admin", "finance", "analyst", "viewer"}),
    ("GET", "/analytics/users", {"admin", "finance", "analyst"}),
    ("GET", "/analytics/vendors", {"admin", "finance", "analyst"}),
    ("GET", "/analytics/content", {"admin", "finance", "analyst"}),
    ("GET", "/analytics/revenue", {"admin", "finance"}),
    ("GET", "/analytics/report?metrics=orders", {"admin", "finance", "analyst"}),
    ("GET", "/analytics/report?metrics=orders,revenue", {"admin", "finance"}),
    ("GET", "/admin/users", {"admin", "moderator"}),
    ("GET", "/admin/users/1", {"admin", "moderator"}),
    ("GET", "/admin/vendors", {"admin", "moderator"}),
    ("GET", "/admin/products?queue=flagged", {"admin", "moderator"}),
    ("GET", "/alerts", {"admin", "moderator", "analyst", "viewer"}),
    ("GET", "/incidents", {"admin", "analyst", "viewer"}),
    ("GET", "/audit", {"admin"}),
    ("GET", "/auth/me", set(ROLES)),
    # writes: a body that would fail later (unknown id) shows the role check passed with 404
    ("PATCH", "/admin/users/999999", {"admin"}),
    ("PATCH", "/admin/vendors/999999", {"admin"}),
    ("PATCH", "/admin/products/999999", {"admin", "moderator"}),
    ("POST", "/alerts/999999/acknowledge", {"admin", "moderator", "analyst"}),
    ("POST", "/alerts/999999/resolve", {"admin", "moderator", "analyst"}),
    ("POST", "/incidents/999999/timeline", {"admin", "analyst"}),
    ("PATCH", "/incidents/999999/timeline/1", {"admin", "analyst"}),
    ("POST", "/incidents/999999/alerts", {"admin", "analyst"}),
    ("DELETE", "/incidents/999999/alerts/1", {"admin", "analyst"}),
    ("GET", "/incidents/999999/postmortem", {"admin", "analyst", "viewer"}),
    ("PUT", "/incidents/999999/postmortem", {"admin", "analyst"}),
]
WRITE_BODIES = {
    "/admin/users/999999": {"action": "suspend", "reason": "rbac check"},
    "/admin/vendors/999999": {"action": "suspend", "reason": "rbac check"},
    "/admin/products/999999": {"action": "remove", "reason": "rbac check"},
    "/alerts/999999/acknowledge": {},
    "/alerts/999999/resolve": {},
    "/incidents/999999/timeline": {"kind": "note", "text": "rbac check"},
    "/incidents/999999/timeline/1": {"pinned": True},
    "/incidents/999999/alerts": {"alert_id": 1},
    "/incidents/999999/postmortem": {"summary": "rbac check"},
}


@pytest.fixture(scope="module")
def role_tokens(refserver_session: RefServer) -> dict[str, str]:
    return {role: login(refserver_session.base_url, role)["access_token"] for role in ROLES}


def _case_id(value: object) -> str:
    """Roles sorted: a set's order changes with the process, and parallel workers must agree on ids."""
    return ",".join(sorted(value)) if isinstance(value, set | frozenset) else str(value)


@pytest.mark.parametrize("method,path,allowed", ROUTES_AND_ALLOWED_ROLES, ids=_case_id)
def test_role_matrix(
    refserver_session: RefServer, role_tokens: dict[str, str], method: str, path: str, allowed: set[str]
) -> None:
    with httpx.Client(base_url=refserver_session.base_url, timeout=15) as client:
        for role in ROLES:
            headers = {**bearer(role_tokens[role]), "Idempotency-Key": f"rbac-{role}-{method}-{path}"}
            response = client.request(method, path, headers=headers, json=WRITE_BODIES.get(path))
            if role in allowed:
                assert response.status_code in (200, 404), (role, response.status_code, response.text)
            else:
                assert response.status_code == 403, (role, response.status_code, response.text)
                problem = response.json()
                assert response.headers["content-type"] == PROBLEM
                assert problem["required_role"] in ROLES
                assert problem["required_role"] != role


def test_forbidden_revenue_names_finance_as_the_required_role(api_as: Callable[[str], httpx.Client]) -> None:
    response = api_as("analyst").get("/analytics/revenue")
    assert response.status_code == 403
    assert response.json()["required_role"] == "finance"


def _wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_access_token_expires_and_refresh_rotates(refserver_factory: Callable[..., RefServer]) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS, "--access-ttl", "1", "--refresh-ttl", "60")
    base = server.base_url
    first = login(base, "viewer")
    assert httpx.get(f"{base}/auth/me", headers=bearer(first["access_token"])).status_code == 200
    assert first["expires_in"] == 1

    assert _wait_until(
        lambda: httpx.get(f"{base}/auth/me", headers=bearer(first["access_token"])).status_code == 401, 5.0
    ), "the access token never expired"

    refreshed = httpx.post(f"{base}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert httpx.get(f"{base}/auth/me", headers=bearer(second["access_token"])).status_code == 200

    # the old refresh token is spent; presenting it again also revokes the login it belonged to
    replay = httpx.post(f"{base}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.headers["content-type"] == PROBLEM
    assert (
        httpx.post(f"{base}/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    )
    assert httpx.get(f"{base}/auth/me", headers=bearer(second["access_token"])).status_code == 401


def test_refresh_token_expires(refserver_factory: Callable[..., RefServer]) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS, "--access-ttl", "1", "--refresh-ttl", "1.5")
    pair = login(server.base_url, "viewer")
    time.sleep(1.7)
    response = httpx.post(f"{server.base_url}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_logout_revokes_the_refresh_token_and_its_access_token(refserver_session: RefServer) -> None:
    base = refserver_session.base_url
    pair = login(base, "moderator")
    other = login(base, "moderator")
    # used once first, so the server has seen it valid: a logout must still end it at once
    assert httpx.get(f"{base}/auth/me", headers=bearer(pair["access_token"])).status_code == 200
    response = httpx.post(f"{base}/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204
    assert (
        httpx.post(f"{base}/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    )
    assert httpx.get(f"{base}/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    # another login of the same account is untouched
    assert httpx.get(f"{base}/auth/me", headers=bearer(other["access_token"])).status_code == 200


def test_demo_password_flag_is_honoured(refserver_factory: Callable[..., RefServer]) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS, "--demo-password", "s3cret-demo")
    assert login(server.base_url, "admin", "s3cret-demo")["user"]["roles"] == ["admin"]
    wrong = httpx.post(
        f"{server.base_url}/auth/login", json={"email": "admin@nexus.test", "password": "nexus-demo"}
    )
    assert wrong.status_code == 401


def test_expired_tokens_are_purged_at_start_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nexus_refserver.auth import AuthService
    from nexus_refserver.config import ServerConfig
    from nexus_refserver.databases import Databases

    dbs = Databases.open(ServerConfig(data_dir=tmp_path))
    try:
        dbs.create_schema()
        short = AuthService(dbs.nexus, access_ttl_s=0.01, refresh_ttl_s=0.02)
        short.ensure_demo_accounts("pw")
        short.login("viewer@nexus.test", "pw")
        lasting = AuthService(dbs.nexus, access_ttl_s=60, refresh_ttl_s=60)
        kept = lasting.login("viewer@nexus.test", "pw")
        time.sleep(0.05)
        assert lasting.purge_expired() == 2
        assert lasting.authenticate(kept.access_token).email == "viewer@nexus.test"
    finally:
        dbs.dispose()

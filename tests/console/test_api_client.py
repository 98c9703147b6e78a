"""The API client and sign-in against the real reference server: ETags, 403 roles, and the three-step
recovery from a 401."""

from __future__ import annotations

import asyncio

import pytest

from nexus_console.services.api_client import PermissionDenied, Unauthorized
from nexus_console.services.auth import Credentials, LoginFailed
from nexus_console.services.keychain import REFRESH_TOKEN, password_key
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.support.memory_keyring import MemoryKeyring
from tests.support.refserver import RefServer

ADMIN = "admin@nexus.test"
VIEWER = "viewer@nexus.test"


def test_login_gives_me_with_roles_and_keeps_the_refresh_token_in_the_keychain(
    qloop: QLoop, refserver_session: RefServer, memory_keyring: MemoryKeyring
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            me = await stack.auth.login(Credentials(VIEWER, DEMO_PASSWORD, remember=False))
            assert me.email == VIEWER and me.roles == frozenset({"viewer"})
            assert await stack.keychain.get(REFRESH_TOKEN) == stack.auth._refresh_token
            assert await stack.keychain.get(password_key(VIEWER)) is None

    qloop.run(scenario())
    assert set(memory_keyring.secrets) == {("nexus-console:test", REFRESH_TOKEN)}


def test_a_wrong_password_says_so(qloop: QLoop, refserver_session: RefServer) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            with pytest.raises(LoginFailed) as failure:
                await stack.auth.login(Credentials(VIEWER, "not-the-password"))
            assert str(failure.value)
            assert "not-the-password" not in str(failure.value)

    qloop.run(scenario())


def test_second_get_sends_if_none_match_and_reuses_the_body_on_304(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(VIEWER, DEMO_PASSWORD))
            first, _ = await stack.api.get_json("/monitoring/services")
            second, headers = await stack.api.get_json("/monitoring/services")
            assert second == first and len(first["items"]) == 44
            assert [s for m, p, s in stack.requests if p == "/monitoring/services"] == [200, 304]
            assert headers.get("etag")

    qloop.run(scenario())


def test_a_403_names_the_role_that_is_needed(qloop: QLoop, refserver_session: RefServer) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(VIEWER, DEMO_PASSWORD))
            with pytest.raises(PermissionDenied) as denied:
                await stack.api.get_json("/analytics/revenue")
            assert denied.value.required_role == "finance"
            assert "You need the 'finance' role" in str(denied.value)

    qloop.run(scenario())


def test_a_401_is_recovered_by_a_silent_refresh_once_for_concurrent_requests(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD))
            old_refresh = await stack.keychain.get(REFRESH_TOKEN)
            stack.auth.access_token = "expired-access-token"
            bodies = await asyncio.gather(*(stack.api.get_json("/auth/me") for _ in range(5)))
            assert all(body["email"] == ADMIN for body, _ in bodies)
            assert stack.count("POST", "/auth/refresh") == 1
            assert await stack.keychain.get(REFRESH_TOKEN) not in (None, old_refresh), "rotated"

    qloop.run(scenario())


def test_when_refresh_fails_the_remembered_password_signs_in_silently(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    asked: list[str | None] = []

    async def ask(reason: str | None) -> Credentials | None:
        asked.append(reason)
        return None

    async def scenario() -> None:
        async with api_stack(refserver_session.base_url, ask=ask) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD, remember=True))
            stack.auth.access_token = "expired-access-token"
            stack.auth._refresh_token = None
            await stack.keychain.set(REFRESH_TOKEN, "revoked-refresh-token")
            body, _ = await stack.api.get_json("/auth/me")
            assert body["email"] == ADMIN
            assert stack.count("POST", "/auth/login") == 2

    qloop.run(scenario())
    assert asked == []


def test_the_login_dialog_is_the_last_resort_and_cancel_gives_unauthorized(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    answers: list[Credentials | None] = [
        Credentials(ADMIN, "wrong-password"),
        Credentials(ADMIN, DEMO_PASSWORD),
        None,
    ]
    asked: list[str | None] = []

    async def ask(reason: str | None) -> Credentials | None:
        asked.append(reason)
        return answers.pop(0)

    async def expire(stack: object) -> None:
        stack.auth.access_token = "expired-access-token"  # type: ignore[attr-defined]
        stack.auth._refresh_token = None  # type: ignore[attr-defined]
        await stack.keychain.delete(REFRESH_TOKEN)  # type: ignore[attr-defined]

    async def scenario() -> None:
        async with api_stack(refserver_session.base_url, ask=ask) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD, remember=False))
            await expire(stack)
            body, _ = await stack.api.get_json("/auth/me")
            assert body["email"] == ADMIN
            await expire(stack)
            with pytest.raises(Unauthorized):
                await stack.api.get_json("/auth/me")

    qloop.run(scenario())
    assert len(asked) == 3
    assert asked[0] == "Your session has expired. Sign in again."
    assert asked[1] and "wrong-password" not in asked[1]


def test_logout_revokes_the_refresh_token_and_deletes_it_from_the_keychain(
    qloop: QLoop, refserver_session: RefServer, memory_keyring: MemoryKeyring
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD, remember=True))
            token = await stack.keychain.get(REFRESH_TOKEN)
            await stack.auth.logout()
            assert await stack.keychain.get(REFRESH_TOKEN) is None
            assert stack.auth.access_token is None
            response = await stack.http.post(
                refserver_session.base_url + "/auth/refresh", json={"refresh_token": token}
            )
            assert response.status_code == 401

    qloop.run(scenario())
    assert ("nexus-console:test", REFRESH_TOKEN) not in memory_keyring.secrets


def test_an_unreachable_server_keeps_the_stored_credentials(
    qloop: QLoop, memory_keyring: MemoryKeyring
) -> None:
    from nexus_console.services.auth import ServerUnreachable

    async def scenario() -> None:
        async with api_stack("http://127.0.0.1:9") as stack:  # nothing listens on the discard port
            await stack.keychain.set(REFRESH_TOKEN, "stored-refresh-token")
            with pytest.raises(
                ServerUnreachable, match=r"cannot reach the server: cannot connect to 127\.0\.0\.1:9"
            ):
                await stack.auth.resume()
            assert await stack.keychain.get(REFRESH_TOKEN) == "stored-refresh-token"

    qloop.run(scenario())


def test_step_up_checks_the_password_and_leaves_the_session_and_no_new_token_behind(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD))
            token = stack.auth.access_token
            assert await stack.auth.verify_password(DEMO_PASSWORD) is True
            assert await stack.auth.verify_password("not-the-password") is False
            assert stack.auth.access_token == token, "the session keeps its own tokens"
            assert stack.count("POST", "/auth/logout") == 1, "the step-up login's token is revoked"
            body, _ = await stack.api.get_json("/auth/me")
            assert body["email"] == ADMIN

    qloop.run(scenario())


def test_a_sender_asking_again_for_a_refused_token_gets_a_refreshed_one(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD))
            refused = [False]
            token_for_sender = stack.auth.token_getter(lambda: refused[0])
            first = await token_for_sender()
            assert await token_for_sender() == first, "not refused: the same token, no refresh"
            assert stack.count("POST", "/auth/refresh") == 0
            refused[0] = True
            second = await token_for_sender()
            assert second not in ("", first)
            assert stack.count("POST", "/auth/refresh") == 1

    qloop.run(scenario())


def test_an_action_refused_with_401_runs_again_once_with_a_fresh_token(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD))
            stack.auth.access_token = "expired-access-token"
            sent: list[str] = []

            async def whoami() -> str:
                token = stack.auth.access_token or ""
                sent.append(token)
                response = await stack.http.get(
                    refserver_session.base_url + "/auth/me", headers={"Authorization": f"Bearer {token}"}
                )
                response.raise_for_status()
                return str(response.json()["email"])

            assert await stack.auth.call_with_fresh_token(whoami) == ADMIN
            assert len(sent) == 2 and sent[0] == "expired-access-token" and sent[1] != sent[0]

    qloop.run(scenario())

"""Login, token refresh and logout. The access token lives in memory only; the refresh token and a
remembered password live only in the keychain.

A 401 is recovered in three steps: a silent refresh, a silent re-login with the password from the
keychain, and as a last resort the interactive login (a callback the GUI provides).

`AuthSession` is the only code that calls `/auth/*`: login, refresh, logout, and the step-up check of the
signed-in user's password. Every other client gets its token from it: `NexusClient` per request,
long-running clients (the alert feed, the outbox sender) through `token_getter`, one-off actions through
`call_with_fresh_token`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from nexus_console.domain.auth import Credentials, Me
from nexus_console.services.api_client import ApiError, problem_error
from nexus_console.services.http import describe_error
from nexus_console.services.keychain import REFRESH_TOKEN, Keychain, password_key
from nexus_console.services.logging_setup import register_secret

log = logging.getLogger(__name__)


class LoginFailed(Exception):
    """str() is the text for the login dialog."""


class ServerUnreachable(LoginFailed):
    """The server could not be asked (network error, 5xx): stored credentials stay as they are."""


# Given the reason the console needs a login, returns credentials or None when the user cancels.
AskCredentials = Callable[[str | None], Awaitable[Credentials | None]]
R = TypeVar("R")


def refused_token(exc: BaseException) -> str | None:
    """The bearer token a request carried when the server answered 401; None for any other error."""
    if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 401:
        return exc.request.headers.get("Authorization", "").removeprefix("Bearer ") or ""
    return None


class AuthSession:
    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        keychain: Keychain,
        *,
        email: str | None = None,
        ask_credentials: AskCredentials | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.keychain = keychain
        self.email = email
        self.ask_credentials = ask_credentials
        self.access_token: str | None = None
        self.me: Me | None = None
        self._refresh_token: str | None = None
        self._recover_lock = asyncio.Lock()
        self.on_login: list[Callable[[Me], None]] = []

    async def login(self, credentials: Credentials) -> Me:
        register_secret(credentials.password)
        body = await self._post("/auth/login", {"email": credentials.email, "password": credentials.password})
        self.email = credentials.email
        if credentials.remember:
            await self.keychain.set(password_key(credentials.email), credentials.password)
        else:
            await self.keychain.delete(password_key(credentials.email))
        return await self._accept(body)

    async def resume(self) -> Me | None:
        """Sign in without asking: the stored refresh token, else the remembered password.

        None when nothing stored works; ServerUnreachable when the server could not be asked."""
        if await self._try_refresh():
            return self.me
        if await self._try_remembered_password():
            return self.me
        return None

    async def recover(self, failed_token: str | None) -> bool:
        """After a 401: refresh, then the remembered password, then ask. True when a new token is in hand."""
        async with self._recover_lock:
            if self.access_token is not None and self.access_token != failed_token:
                return True  # another request recovered while this one waited
            self.access_token = None
            if await self._try_refresh() or await self._try_remembered_password():
                return True
            return await self.sign_in_interactively("Your session has expired. Sign in again.")

    def token_getter(self, was_refused: Callable[[], bool] = lambda: True) -> Callable[[], Awaitable[str]]:
        """A token source for a long-running client that asks before each (re)connection or send.

        When it asks again for the token it was last given and `was_refused()` says that token met a 401,
        the session recovers (refresh, stored password, dialog) before handing out a token."""
        handed: list[str | None] = [None]

        async def current_token() -> str:
            token = self.access_token
            if (token is None or (token == handed[0] and was_refused())) and await self.recover(token):
                token = self.access_token
            handed[0] = token
            return token or ""

        return current_token

    async def call_with_fresh_token(self, action: Callable[[], Awaitable[R]]) -> R:
        """Run a call that sends the session's token; after a 401, recover once and run it again."""
        try:
            return await action()
        except httpx.HTTPStatusError as exc:
            failed = refused_token(exc)
            if failed is None or not await self.recover(failed or None):
                raise
            return await action()

    async def verify_password(self, password: str) -> bool:
        """Step-up: is `password` the signed-in user's? Checked by a login whose tokens are revoked at
        once; the session keeps its own tokens. ServerUnreachable when the server cannot be asked."""
        if not self.email:
            return False
        register_secret(password)
        try:
            body = await self._post("/auth/login", {"email": self.email, "password": password})
        except ServerUnreachable:
            raise
        except LoginFailed:
            return False
        refresh = body.get("refresh_token")
        if refresh:
            try:
                await self.http.post(self.base_url + "/auth/logout", json={"refresh_token": refresh})
            except httpx.HTTPError:
                log.warning("could not revoke the step-up login's refresh token")
        return True

    async def server_reachable(self, timeout_s: float) -> bool:
        """Whether the API answers at all (any status): the offline check of the outbox sender."""
        try:
            await self.http.get(self.base_url + "/auth/me", timeout=timeout_s)
        except httpx.TransportError:
            return False
        return True

    async def logout(self) -> None:
        """Revoke the refresh token on the server (best effort) and delete it from the keychain."""
        token = self._refresh_token or await self.keychain.get(REFRESH_TOKEN)
        self.access_token = None
        self._refresh_token = None
        self.me = None
        await self.keychain.delete(REFRESH_TOKEN)
        if token:
            try:
                await self.http.post(self.base_url + "/auth/logout", json={"refresh_token": token})
            except httpx.HTTPError as exc:
                log.info("logout request failed (%s); the token was removed locally", describe_error(exc))

    async def forget_password(self) -> None:
        if self.email:
            await self.keychain.delete(password_key(self.email))

    async def sign_in_interactively(self, reason: str | None) -> bool:
        """Ask (through the GUI callback) until a login succeeds or the user cancels."""
        if self.ask_credentials is None:
            return False
        while True:
            credentials = await self.ask_credentials(reason)
            if credentials is None:
                return False
            try:
                await self.login(credentials)
                return True
            except LoginFailed as exc:
                reason = str(exc)

    async def _try_refresh(self) -> bool:
        token = self._refresh_token or await self.keychain.get(REFRESH_TOKEN)
        if not token:
            return False
        register_secret(token)
        try:
            body = await self._post("/auth/refresh", {"refresh_token": token})
        except ServerUnreachable:
            raise
        except LoginFailed as exc:
            log.info("token refresh failed: %s", exc)
            if self._refresh_token == token:
                self._refresh_token = None
            await self.keychain.delete(REFRESH_TOKEN)
            return False
        await self._accept(body)
        return True

    async def _try_remembered_password(self) -> bool:
        if not self.email:
            return False
        password = await self.keychain.get(password_key(self.email))
        if not password:
            return False
        register_secret(password)
        try:
            await self.login(Credentials(self.email, password, remember=True))
        except ServerUnreachable:
            raise
        except LoginFailed as exc:
            log.info("silent re-login failed: %s", exc)
            return False
        return True

    async def _accept(self, body: dict[str, Any]) -> Me:
        self.access_token = str(body["access_token"])
        self._refresh_token = str(body["refresh_token"])
        register_secret(self.access_token)
        register_secret(self._refresh_token)
        await self.keychain.set(REFRESH_TOKEN, self._refresh_token)
        user = body.get("user")
        if user is None:
            response = await self.http.get(
                self.base_url + "/auth/me", headers={"Authorization": f"Bearer {self.access_token}"}
            )
            if response.status_code >= 400:
                raise LoginFailed(str(problem_error(response.status_code, response.content, "/auth/me")))
            user = response.json()
        self.me = Me.from_json(user)
        self.email = self.me.email
        for callback in list(self.on_login):
            callback(self.me)
        return self.me

    async def _post(self, path: str, payload: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self.http.post(self.base_url + path, json=payload)
        except httpx.HTTPError as exc:
            raise ServerUnreachable(f"cannot reach the server: {describe_error(exc)}") from None
        if response.status_code >= 400:
            error: ApiError = problem_error(response.status_code, response.content, path)
            if response.status_code in (400, 401, 403, 422):
                raise LoginFailed(error.detail or error.title or "wrong email or password")
            raise ServerUnreachable(f"the server failed: {error}")
        try:
            body = response.json()
        except ValueError:
            raise LoginFailed(f"the server sent an unreadable answer to {path}") from None
        if not isinstance(body, dict) or "access_token" not in body or "refresh_token" not in body:
            raise LoginFailed(f"the server's answer to {path} has no tokens")
        return body


class PasswordLogin:
    """A token source without a session (the outbox replay command, the crash tests): each call logs in
    with the password again. The console itself uses `AuthSession.token_getter`."""

    def __init__(self, client: httpx.AsyncClient, email: str, password: str) -> None:
        self.client = client
        self.email = email
        self.password = password

    async def __call__(self) -> str:
        response = await self.client.post(
            "/auth/login", json={"email": self.email, "password": self.password}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

"""The Nexus API client: JSON over httpx with ETag reuse, problem+json errors, and 401 recovery."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx

from nexus_console.domain.auth import permission_denied_text
from nexus_console.services.http import ConditionalGetter, FetchError


class ApiError(FetchError):
    """An error answer from the API; str() is the human text."""

    def __init__(self, status: int, path: str, title: str = "", detail: str = "") -> None:
        self.status = status
        self.path = path
        self.title = title
        self.detail = detail
        text = f"HTTP {status} from {path}"
        if detail or title:
            text += f": {detail or title}"
        super().__init__(text)


class PermissionDenied(ApiError):
    def __init__(self, path: str, required_role: str | None, title: str = "", detail: str = "") -> None:
        super().__init__(403, path, title, detail)
        self.required_role = required_role
        self.args = (f"{permission_denied_text(required_role, path)} (HTTP 403 from {path})",)


class Unauthorized(ApiError):
    pass


class TokenAuth(Protocol):
    """What the client needs from services.auth.AuthSession."""

    access_token: str | None

    async def recover(self, failed_token: str | None) -> bool: ...


class NexusClient:
    def __init__(self, base_url: str, http: httpx.AsyncClient, *, auth: TokenAuth | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.auth = auth
        self._getter = ConditionalGetter(http)

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, httpx.Headers]:
        """GET with If-None-Match; a 304 gives the remembered body."""

        async def send(headers: dict[str, str]) -> tuple[int, bytes, httpx.Headers]:
            response = await self._getter.get(
                self._url(path), params=dict(params or {}), headers=headers, check=False
            )
            return response.status_code, response.content, response.headers

        return await self._with_auth(path, send)

    async def post_json(
        self,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, httpx.Headers]:
        return await self._send("POST", path, body, idempotency_key, headers)

    async def patch_json(
        self,
        path: str,
        body: Any,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, httpx.Headers]:
        extra = dict(headers or {})
        if if_match is not None:
            extra["If-Match"] = if_match
        return await self._send("PATCH", path, body, idempotency_key, extra)

    async def _send(
        self,
        method: str,
        path: str,
        body: Any,
        idempotency_key: str | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[Any, httpx.Headers]:
        # One key for every retry of this call, so a retried request never has a second effect.
        key = idempotency_key or str(uuid.uuid4())

        async def send(auth_headers: dict[str, str]) -> tuple[int, bytes, httpx.Headers]:
            all_headers = {**(headers or {}), **auth_headers, "Idempotency-Key": key}
            response = await self.http.request(method, self._url(path), json=body, headers=all_headers)
            return response.status_code, response.content, response.headers

        return await self._with_auth(path, send)

    async def _with_auth(
        self, path: str, send: Callable[[dict[str, str]], Awaitable[tuple[int, bytes, httpx.Headers]]]
    ) -> tuple[Any, httpx.Headers]:
        token = self.auth.access_token if self.auth else None
        status, content, headers = await send(_bearer(token))
        if status == 401 and self.auth is not None and await self.auth.recover(token):
            status, content, headers = await send(_bearer(self.auth.access_token))
        return _decode(status, content, headers, path), headers

    def _url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _decode(status: int, content: bytes, headers: httpx.Headers, path: str) -> Any:
    if status < 400:
        if status == 204 or not content:
            return None
        try:
            return json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            content_type = headers.get("content-type", "no content type")
            raise FetchError(f"invalid JSON from {path} ({content_type})") from None
    raise problem_error(status, content, path)


def problem_error(status: int, content: bytes, path: str) -> ApiError:
    """The ApiError for an RFC 9457 problem body (or any other error body)."""
    problem: dict[str, Any] = {}
    try:
        parsed = json.loads(content)
        if isinstance(parsed, dict):
            problem = parsed
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    title = str(problem.get("title") or "")
    detail = str(problem.get("detail") or "")
    if status == 401:
        return Unauthorized(status, path, title, detail)
    if status == 403:
        required = problem.get("required_role")
        return PermissionDenied(path, str(required) if required else None, title, detail)
    return ApiError(status, path, title, detail)

"""The Nexus API client: JSON over httpx with ETag reuse, problem+json errors, and 401 recovery.

Every answer is read within `ResponseLimits`: per path (`limits.API_PATH_LIMITS`: 1 MiB for the health
documents, 256 KiB for /auth/me, 16 MiB for an alert page), else the client's (8 MiB and 10,000 items per
list), or per call (`get_json(..., limits=...)`). More is refused: "the API sent more than 8 MiB for
/monitoring/services; refused". Bodies over 256 KiB are parsed on an executor (`executor`, else the HTTP
package's own)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol

import httpx

from nexus_console.domain.auth import permission_denied_text
from nexus_console.services.http import (
    API_DOCUMENT_LIMITS,
    API_PATH_LIMITS,
    ConditionalGetter,
    FetchError,
    ResponseLimits,
    parse_json,
    send_limited,
)

SENDER = "the API"


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
    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        auth: TokenAuth | None = None,
        limits: ResponseLimits = API_DOCUMENT_LIMITS,
        path_limits: Mapping[str, ResponseLimits] = API_PATH_LIMITS,
        executor: Executor | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.auth = auth
        self.limits = limits  # any path without limits of its own in `path_limits`
        self.path_limits = path_limits
        self.executor = executor  # large bodies are parsed there (None: the HTTP package's small pool)
        self._getter = ConditionalGetter(http)

    async def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, limits: ResponseLimits | None = None
    ) -> tuple[Any, httpx.Headers]:
        """GET with If-None-Match; a 304 gives the remembered body. The body is bounded by `limits`, else the
        path's own (`path_limits`), else the client's."""
        limits = limits or self.path_limits.get(path.split("?", 1)[0]) or self.limits

        async def send(headers: dict[str, str]) -> tuple[int, bytes, httpx.Headers]:
            response = await self._getter.get(
                self._url(path),
                params=dict(params or {}),
                headers=headers,
                check=False,
                max_body_bytes=limits.max_body_bytes,
                sender=SENDER,
            )
            return response.status_code, response.content, response.headers

        return await self._with_auth(path, send, limits)

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

    async def write_json(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Any, httpx.Headers]:
        """Any write (POST, PUT, PATCH, DELETE) with an idempotency key and, when given, an If-Match."""
        extra = {"If-Match": if_match} if if_match is not None else None
        return await self._send(method, path, body, idempotency_key, extra)

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
            request = self.http.build_request(method, self._url(path), json=body, headers=all_headers)
            response = await send_limited(self.http, request, self.limits.max_body_bytes, sender=SENDER)
            return response.status_code, response.content, response.headers

        return await self._with_auth(path, send, self.limits)

    async def _with_auth(
        self,
        path: str,
        send: Callable[[dict[str, str]], Awaitable[tuple[int, bytes, httpx.Headers]]],
        limits: ResponseLimits,
    ) -> tuple[Any, httpx.Headers]:
        token = self.auth.access_token if self.auth else None
        status, content, headers = await send(_bearer(token))
        if status == 401 and self.auth is not None and await self.auth.recover(token):
            status, content, headers = await send(_bearer(self.auth.access_token))
        if status >= 400:
            raise problem_error(status, content, path)
        if status == 204 or not content:
            return None, headers
        body = await parse_json(
            content,
            url=path,
            sender=SENDER,
            limits=limits,
            content_type=headers.get("content-type", "no content type"),
            executor=self.executor,
        )
        return body, headers

    def _url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


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

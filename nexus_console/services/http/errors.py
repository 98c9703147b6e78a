"""Error texts a person can act on for failed requests, and the JSON-body check that produces one."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

import httpx

from nexus_console.domain.auth import permission_denied_text


class FetchError(Exception):
    """A request failed; str() is the human text shown in the UI ("HTTP 500 from /x")."""


def short_url(url: str | httpx.URL) -> str:
    """The path (and query) of a URL, which is what a person recognises in an error text."""
    parts = urlsplit(str(url))
    return parts.path + (f"?{parts.query}" if parts.query else "") or str(url)


def describe_error(exc: BaseException, *, timeout_s: float | None = None) -> str:
    """A specific human sentence for a failed request."""
    if isinstance(exc, FetchError):
        return str(exc)
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        if timeout_s is not None:
            return f"timeout after {timeout_s:.1f} s"
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect{_where(exc)} ({_connect_failure(exc)})"
    if isinstance(exc, httpx.RemoteProtocolError):
        # "peer closed connection without sending complete message body (incomplete chunked read)"
        return f"the server{_where(exc, 'at')} closed the connection before its answer was complete"
    if isinstance(exc, httpx.HTTPStatusError):
        if exc.response.status_code == 403:
            what = f"reading {exc.request.url.path}"
            sentence = permission_denied_text(_required_role(exc.response), what).rstrip(".")
            return f"{sentence} (HTTP 403)"
        return f"HTTP {exc.response.status_code} from {short_url(exc.request.url)}"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at position {exc.pos}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {_root_cause(exc)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _where(exc: httpx.HTTPError, preposition: str = "to") -> str:
    """` to 127.0.0.1:8080`: the host and port a failed request went to, when the error knows it."""
    request = _request_of(exc)
    return f" {preposition} {request.url.host}:{request.url.port}" if request is not None else ""


def _request_of(exc: httpx.HTTPError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


def is_permission_denied(exc: BaseException) -> bool:
    """A 403: the account's role may not read this (an API error or a raw HTTP status error)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 403
    return getattr(exc, "status", None) == 403


def _required_role(response: httpx.Response) -> str | None:
    """The role a 403's problem document names (`required_role`), when its body was read and says one."""
    try:
        problem = json.loads(response.content)
    except (httpx.ResponseNotRead, ValueError):
        return None
    role = problem.get("required_role") if isinstance(problem, dict) else None
    return str(role) if role else None


def _connect_failure(exc: BaseException) -> str:
    """Why a connection failed, in words ("connection refused"), not "[Errno 111] Connect call failed (…)"."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__ or cause.__context__
    return _root_cause(exc)


def _root_cause(exc: BaseException) -> str:
    text = str(exc)
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        text = str(exc) or text
    return text or type(exc).__name__


def parse_json_body(response: httpx.Response) -> Any:
    """The JSON body, or a FetchError naming what came back instead."""
    content_type = response.headers.get("content-type", "")
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        what = content_type or "no content type"
        raise FetchError(f"invalid JSON from {short_url(response.request.url)} ({what}): {detail}") from None


async def closed_quietly(wait_closed: Awaitable[None]) -> None:
    """Await a socket's close, ignoring what a dying connection raises, but never a cancel aimed at the
    task: swallowing it left pollers running after a quit (the hang in issue 10)."""
    try:
        await wait_closed
    except OSError:
        pass
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise

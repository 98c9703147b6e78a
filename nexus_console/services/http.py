"""HTTP plumbing shared by every source: clients with the profile's TLS settings, conditional GETs, and
error texts a person can act on."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from nexus_console.services.profiles import TlsSettings


class FetchError(Exception):
    """A request failed; str() is the human text shown in the UI ("HTTP 500 from /x")."""


class ShardedTransport(httpx.AsyncBaseTransport):
    """Spreads requests round-robin over several connection pools.

    httpcore scans every connection of a pool on each request (`_assign_requests_to_connections` calls
    `has_expired` per connection), so one pool serving a 176-probe fan-out costs O(n^2) CPU on the GUI
    thread. Several small pools keep each scan short.
    """

    def __init__(self, shards: list[httpx.AsyncBaseTransport]) -> None:
        if not shards:
            raise ValueError("at least one shard")
        self.shards = shards
        self._next = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        shard = self.shards[self._next]
        self._next = (self._next + 1) % len(self.shards)
        return await shard.handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()


def build_http_client(
    tls: TlsSettings,
    *,
    timeout_s: float = 10.0,
    max_connections: int = 64,
    shards: int = 1,
    base_url: str = "",
) -> httpx.AsyncClient:
    """An AsyncClient that verifies TLS by default, optionally against the profile's CA bundle.

    `shards` > 1 splits the connections over that many pools (for wide fan-outs)."""
    # One SSL context for every shard: building one costs milliseconds.
    verify: bool | ssl.SSLContext = False
    if tls.verify:
        verify = ssl.create_default_context(cafile=str(tls.ca_bundle) if tls.ca_bundle else None)
    per_shard = max(1, max_connections // max(1, shards))
    transports: list[httpx.AsyncBaseTransport] = [
        httpx.AsyncHTTPTransport(
            verify=verify,
            trust_env=False,
            limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
        )
        for _ in range(max(1, shards))
    ]
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transports[0] if len(transports) == 1 else ShardedTransport(transports),
        timeout=httpx.Timeout(timeout_s),
        trust_env=False,  # never route loopback traffic through a proxy from the environment
        follow_redirects=False,
    )


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
        request = _request_of(exc)
        where = f" to {request.url.host}:{request.url.port}" if request is not None else ""
        return f"cannot connect{where} ({_root_cause(exc)})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection broken: {_root_cause(exc)}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {short_url(exc.request.url)}"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at position {exc.pos}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {_root_cause(exc)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _request_of(exc: httpx.HTTPError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


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


@dataclass(frozen=True, slots=True)
class ConditionalResponse:
    status_code: int  # the real status: 304 when the cached body was reused
    content: bytes
    headers: httpx.Headers
    not_modified: bool


class ConditionalGetter:
    """GETs with If-None-Match: remembers each URL's ETag and body; a 304 returns the remembered body."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._cache: dict[str, tuple[str, bytes, httpx.Headers]] = {}

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        check: bool = True,
    ) -> ConditionalResponse:
        """With check, raise httpx.HTTPStatusError for statuses >= 400."""
        request = self.client.build_request("GET", url, params=params, headers=headers)
        key = str(request.url)
        cached = self._cache.get(key)
        if cached is not None:
            request.headers["If-None-Match"] = cached[0]
        response = await self.client.send(request)
        if response.status_code == 304 and cached is not None:
            merged = httpx.Headers(cached[2])
            merged.update(response.headers)
            return ConditionalResponse(304, cached[1], merged, True)
        if check:
            response.raise_for_status()
        if response.status_code >= 400:
            return ConditionalResponse(response.status_code, response.content, response.headers, False)
        etag = response.headers.get("etag")
        if etag:
            self._cache[key] = (etag, response.content, response.headers)
        else:
            self._cache.pop(key, None)
        return ConditionalResponse(response.status_code, response.content, response.headers, False)

    def forget(self) -> None:
        self._cache.clear()

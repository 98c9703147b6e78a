"""Conditional GETs: If-None-Match with each URL's remembered ETag; a 304 answers with the cached body.

Bodies are read within the caller's limit (`bounded.send_limited`): a refused body raises before anything of
it is cached. The cache itself is bounded (least recently used first out) in entries and bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from nexus_console.services.http.bounded import send_limited
from nexus_console.services.http.limits import BACKSTOP_BODY_BYTES, MiB, sender_of


@dataclass(frozen=True, slots=True)
class ConditionalResponse:
    status_code: int  # the real status: 304 when the cached body was reused
    content: bytes
    headers: httpx.Headers
    not_modified: bool


class ConditionalGetter:
    """GETs with If-None-Match: remembers each URL's ETag and body; a 304 returns the remembered body.

    At most `max_entries` URLs and `max_cached_bytes` of bodies are remembered; a body larger than a quarter
    of that is not (it would push out everything else)."""

    def __init__(
        self, client: httpx.AsyncClient, *, max_entries: int = 256, max_cached_bytes: int = 32 * MiB
    ) -> None:
        self.client = client
        self.max_entries = max_entries
        self.max_cached_bytes = max_cached_bytes
        self._cache: OrderedDict[str, tuple[str, bytes, httpx.Headers]] = OrderedDict()
        self._cached_bytes = 0

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        check: bool = True,
        max_body_bytes: int = BACKSTOP_BODY_BYTES,
        sender: str | None = None,
    ) -> ConditionalResponse:
        """With check, raise httpx.HTTPStatusError for statuses >= 400. A body over `max_body_bytes` raises
        BodyTooLarge naming `sender` (else "the server at host:port"); an error answer's body is read only
        for its first ERROR_BODY_BYTES."""
        request = self.client.build_request("GET", url, params=params, headers=headers)
        key = str(request.url)
        cached = self._cache.get(key)
        if cached is not None:
            request.headers["If-None-Match"] = cached[0]
            self._cache.move_to_end(key)
        response = await send_limited(
            self.client, request, max_body_bytes, sender=sender or sender_of(request.url)
        )
        if response.status_code == 304 and cached is not None:
            merged = httpx.Headers(cached[2])
            merged.update(response.headers)
            return ConditionalResponse(304, cached[1], merged, True)
        if check:
            response.raise_for_status()
        if response.status_code >= 400:
            return ConditionalResponse(response.status_code, response.content, response.headers, False)
        etag = response.headers.get("etag")
        self._forget(key)
        if etag:
            self._remember(key, etag, response.content, response.headers)
        return ConditionalResponse(response.status_code, response.content, response.headers, False)

    def _remember(self, key: str, etag: str, content: bytes, headers: httpx.Headers) -> None:
        if len(content) > self.max_cached_bytes // 4:
            return
        self._cache[key] = (etag, content, headers)
        self._cached_bytes += len(content)
        while len(self._cache) > self.max_entries or self._cached_bytes > self.max_cached_bytes:
            _key, (_etag, dropped, _headers) = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped)

    def _forget(self, key: str) -> None:
        entry = self._cache.pop(key, None)
        if entry is not None:
            self._cached_bytes -= len(entry[1])

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes

    def forget(self) -> None:
        self._cache.clear()
        self._cached_bytes = 0

"""Conditional GETs: If-None-Match with each URL's remembered ETag; a 304 answers with the cached body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


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

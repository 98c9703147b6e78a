"""httpx requests whose bodies are streamed and counted: refused past their limit, never buffered whole."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import httpx

from nexus_console.services.http.json_parse import parse_json
from nexus_console.services.http.limits import (
    BODY_LIMIT_EXTENSION,
    ERROR_BODY_BYTES,
    BodyTooLarge,
    ResponseLimits,
)


def announced_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_limited(
    response: httpx.Response, max_bytes: int, *, sender: str, truncate: bool = False
) -> bytes:
    """The (decoded) body of a response sent with `stream=True`, at most `max_bytes`; the response is
    closed either way. Past the limit: BodyTooLarge, or with `truncate` the first `max_bytes` bytes (for
    error answers, read only for their problem text). A Content-Length over the limit is refused before any
    of the body is read."""
    chunks: list[bytes] = []
    size = 0
    refused = False
    pieces = response.aiter_bytes()
    try:
        length = announced_length(response.headers)
        if length is not None and length > max_bytes and not truncate:
            refused = True
        else:
            async for chunk in pieces:
                size += len(chunk)
                if size > max_bytes:
                    if truncate:
                        chunks.append(chunk[: len(chunk) - (size - max_bytes)])
                    refused = not truncate
                    break
                chunks.append(chunk)
            chunk = b""
    finally:
        # The response first (an unread rest closes the connection), then the stream's generators. Left to
        # the garbage collector, they would try to close httpcore's stream there, where nothing can be
        # awaited (qasync installs no async-generator hooks): the close fails half done and the connection,
        # with whatever it had buffered, leaks.
        await response.aclose()
        await pieces.aclose()
    if refused:
        chunks.clear()  # nothing of a refused body stays referenced (not even from the traceback's frame)
        raise BodyTooLarge(sender, max_bytes, response.request.url)
    return b"".join(chunks)


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read Response carrying `body` (already decoded) in place of a streamed one."""
    headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


async def send_limited(
    client: httpx.AsyncClient, request: httpx.Request, max_bytes: int, *, sender: str
) -> httpx.Response:
    """`client.send(request)` with the body bounded: a read Response, or BodyTooLarge. An error answer
    (status >= 400) is read only as far as ERROR_BODY_BYTES and never refused for its size."""
    request.extensions[BODY_LIMIT_EXTENSION] = (max_bytes, sender)
    response = await client.send(request, stream=True)
    if response.status_code >= 400:
        body = await read_limited(response, min(max_bytes, ERROR_BODY_BYTES), sender=sender, truncate=True)
    else:
        body = await read_limited(response, max_bytes, sender=sender)
    return with_body(response, body)


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: ResponseLimits,
    sender: str,
    params: Any = None,
    executor: Executor | None = None,
) -> Any:
    """GET a JSON document within `limits`: httpx.HTTPStatusError for statuses >= 400, BodyTooLarge,
    TooManyItems, or a FetchError for invalid JSON; large bodies are parsed off the loop."""
    request = client.build_request("GET", url, params=params)
    response = await send_limited(client, request, limits.max_body_bytes, sender=sender)
    response.raise_for_status()
    return await parse_json(
        response.content,
        url=request.url,
        sender=sender,
        limits=limits,
        content_type=response.headers.get("content-type", ""),
        executor=executor,
    )

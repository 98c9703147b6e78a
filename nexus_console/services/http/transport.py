"""httpx's transport contract over httpcore on plain asyncio streams (no anyio cancel scopes per read), with
httpcore's errors mapped to httpx's, and a round-robin spread over several pools for wide fan-outs."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from nexus_console.services.http.errors import closed_quietly
from nexus_console.services.http.limits import (
    BACKSTOP_BODY_BYTES,
    BODY_LIMIT_EXTENSION,
    BodyTooLarge,
    sender_of,
)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """An httpcore network stream on plain asyncio streams.

    httpcore's default (anyio) stream wraps every read and write in cancel scopes and answers the pool's
    per-request `is_readable` checks through anyio's typed attributes: measured at about an eighth of the
    CPU of a 44-request fan-out on the GUI thread.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()

    async def aclose(self) -> None:
        self._writer.close()
        await closed_quietly(self._writer.wait_closed())
        # Drop what was received and never read (the rest of a refused body: up to a few hundred KiB).
        # httpx's responses sit in reference cycles that only a full garbage collection frees, and they
        # keep this stream, so a buffer left here would outlive the connection by minutes.
        self._reader.feed_eof()
        with contextlib.suppress(Exception):
            await self._reader.read()  # returns at once after feed_eof: the buffered bytes, dropped

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # asyncio reads eagerly into the reader: a server that closed an idle connection shows as EOF
            return self._reader.at_eof()
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens `AsyncioStream`s; TCP only (the console never talks to a Unix socket)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.UnsupportedProtocol("Unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@contextlib.contextmanager
def _mapped(timeout_error: type[Exception], other_error: type[Exception]) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise timeout_error(str(exc)) from exc
    except (OSError, ssl.SSLError, EOFError) as exc:
        raise other_error(str(exc) or type(exc).__name__) from exc


# httpcore's errors as httpx's, most specific first, so that callers (and describe_error) see one family
_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_type, httpx_type in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, core_type):
                raise httpx_type(str(exc), request=request) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    """httpcore's body stream with httpx's errors; refuses a body past `limit` bytes (None: unbounded)."""

    def __init__(self, stream: Any, request: httpx.Request, limit: int | None) -> None:
        self._stream = stream
        self._request = request
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        parts = self._stream.__aiter__()  # kept past a refusal, to be closed after the stream (below)
        with _as_httpx_errors(self._request):
            async for part in parts:
                received += len(part)
                if self._limit is not None and received > self._limit:
                    break
                yield part
        if self._limit is not None and received > self._limit:
            # httpcore's stream first, then its generator (see bounded.read_limited: a generator left to
            # the garbage collector cannot finish closing the connection)
            await self._stream.aclose()
            await parts.aclose()
            raise BodyTooLarge(sender_of(self._request.url), self._limit, self._request.url)

    async def aclose(self) -> None:
        await self._stream.aclose()


class AsyncioTransport(httpx.AsyncBaseTransport):
    """httpx's transport contract over an httpcore pool on `AsyncioBackend` (HTTP/1.1, no proxies).

    Every body is bounded by `max_body_bytes` (a backstop for callers that read whole responses, such as
    the auth calls), except event streams and requests whose caller bounds the body itself
    (`BODY_LIMIT_EXTENSION`, see `bounded.send_limited`)."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext, max_connections: int, max_body_bytes: int = BACKSTOP_BODY_BYTES
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=AsyncioBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]
            extensions=request.extensions,
        )
        with _as_httpx_errors(request):
            response = await self.pool.handle_async_request(core_request)
        limit = self._backstop(request, response)
        if limit is not None:
            length = _header(response.headers, b"content-length")
            if length.isdigit() and int(length) > limit:
                await response.aclose()
                raise BodyTooLarge(sender_of(request.url), limit, request.url)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request, limit),
            extensions=response.extensions,
        )

    def _backstop(self, request: httpx.Request, response: httpcore.Response) -> int | None:
        if BODY_LIMIT_EXTENSION in request.extensions:
            return None  # the caller reads within its own limit
        if _header(response.headers, b"content-type").lower().startswith(b"text/event-stream"):
            return None  # a stream never ends by design; its reader bounds its lines
        return self.max_body_bytes

    async def aclose(self) -> None:
        await self.pool.aclose()


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return value.strip()
    return b""


class ShardedTransport(httpx.AsyncBaseTransport):
    """Spreads requests round-robin over several connection pools.

    httpcore scans every connection of a pool on each request (`_assign_requests_to_connections` calls
    `has_expired` per connection), so one pool serving a 176-probe fan-out costs O(n^2) CPU on the GUI
    thread. Several small pools keep each scan short. The fan-out's own GETs (`get_directly` on an
    `EstateClient`) bypass the shards through that client's `LeanGetPool`.
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

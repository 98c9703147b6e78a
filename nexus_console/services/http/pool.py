"""A hand-written keep-alive HTTP/1.1 GET pool on plain asyncio streams, for the estate's probe and metrics
fan-out; it raises httpx's exceptions with httpcore's wording."""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from typing import Any

import httpx

from nexus_console.services.http.errors import closed_quietly
from nexus_console.services.http.limits import (
    BACKSTOP_BODY_BYTES,
    BODY_LIMIT_EXTENSION,
    BodyTooLarge,
    sender_of,
)


class _Disconnected(Exception):
    """A kept-alive connection was closed by the server before it answered (safe to retry a GET)."""


class _LeanConnection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float, keepalive_s: float) -> bool:
        return (
            not self.reader.at_eof() and not self.writer.is_closing() and now - self.idle_since < keepalive_s
        )

    def close(self) -> None:
        self.writer.close()


class LeanGetPool:
    """HTTP/1.1 GETs with keep-alive on plain asyncio streams, the whole body read.

    The probe and metrics fan-out is hundreds of small GETs a minute on the GUI thread; httpcore's
    general machinery (h11 state machine, pool bookkeeping, anyio locks) costs several times the
    request itself: measured at ~5.5 ms of CPU per 44-probe cycle here against ~16 ms through
    httpcore, the difference between meeting the 1.3x poll-cycle target and not.

    Errors are httpx's (ConnectError, ReadTimeout, RemoteProtocolError...) with httpcore's texts, so
    callers and `describe_error` cannot tell the two paths apart. A body is bounded by the request's
    `BODY_LIMIT_EXTENSION` (else `max_body_bytes`): an announced length over it is refused before reading,
    a chunked or close-delimited body as soon as it passes it (BodyTooLarge; the connection is closed).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        max_connections: int,
        keepalive_s: float = 60.0,
        max_body_bytes: int = BACKSTOP_BODY_BYTES,
    ) -> None:
        # Kept longer than the probe interval (5 s), so each round reuses the last round's connections
        # instead of opening new ones (a connect, and with TLS a handshake, per probe). A connection the
        # server closed meanwhile (uvicorn's default keep-alive is 5 s, nginx's 75 s) is seen closed or
        # fails at once, and the request goes out on a fresh one.
        self.ssl_context = ssl_context
        self.keepalive_s = keepalive_s
        self.max_body_bytes = max_body_bytes
        self._slots = asyncio.Semaphore(max_connections) if max_connections > 0 else None
        self._idle: dict[tuple[str, str, int], list[_LeanConnection]] = {}

    async def get(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        origin = (
            request.url.scheme,
            request.url.host,
            request.url.port or _DEFAULT_PORTS[request.url.scheme],
        )
        head = _request_head(request)
        if self._slots is None:
            return await self._exchange(request, origin, head, timeouts)
        async with self._slots:
            return await self._exchange(request, origin, head, timeouts)

    async def _exchange(
        self, request: httpx.Request, origin: tuple[str, str, int], head: bytes, timeouts: dict[str, Any]
    ) -> httpx.Response:
        while True:
            connection, reused = self._take_idle(origin), True
            if connection is None:
                connection, reused = await self._connect(request, origin, timeouts.get("connect")), False
            try:
                connection.writer.write(head)
                status, headers, body, keep_alive = await _read_response(
                    connection.reader, request, timeouts.get("read"), self._limit(request)
                )
            except _Disconnected:
                connection.close()
                if reused:
                    continue  # the server dropped an idle connection just now: a fresh one
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None
            except BaseException:
                connection.close()
                raise
            if keep_alive:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close()
            headers, body = _decoded(headers, body, self._limit(request), request)
            return httpx.Response(status, headers=headers, content=body, request=request)

    def _limit(self, request: httpx.Request) -> tuple[int, str]:
        limit = request.extensions.get(BODY_LIMIT_EXTENSION)
        return limit if limit is not None else (self.max_body_bytes, sender_of(request.url))

    def _take_idle(self, origin: tuple[str, str, int]) -> _LeanConnection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.usable(now, self.keepalive_s):
                return connection
            connection.close()
        return None

    async def _connect(
        self, request: httpx.Request, origin: tuple[str, str, int], timeout: float | None
    ) -> _LeanConnection:
        scheme, host, port = origin
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        tls = self.ssl_context if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _LeanConnection(reader, writer)

    async def aclose(self) -> None:
        idle = [c for connections in self._idle.values() for c in connections]
        self._idle.clear()
        for connection in idle:
            connection.close()
        for connection in idle:
            await closed_quietly(connection.writer.wait_closed())


_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_BODY_STATUSES = frozenset({204, 304})


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path.decode("ascii")
    lines = [f"GET {target} HTTP/1.1"]
    lines.extend(
        f"{name.decode('latin-1')}: {value.decode('latin-1')}" for name, value in request.headers.raw
    )
    if "accept-encoding" not in request.headers:
        lines.append("Accept-Encoding: identity")  # a body's limit then bounds what is held
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(
    reader: asyncio.StreamReader, request: httpx.Request, timeout: float | None, limit: tuple[int, str]
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """(status, headers, body, keep-alive) of one response; the body at most `limit[0]` bytes."""
    max_bytes, sender = limit
    try:
        async with asyncio.timeout(timeout):
            head = await _read_head(reader, request)
            status, headers, version = _parse_head(head, request)
            fields = {name.lower(): value for name, value in headers}
            keep_alive = version == b"HTTP/1.1" and fields.get(b"connection", b"").lower() != b"close"
            if status in _NO_BODY_STATUSES or 100 <= status < 200:
                return status, headers, b"", keep_alive
            if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
                body = await _read_chunked(reader, request, max_bytes)
            elif (length := _content_length(fields, request)) is None:
                body, keep_alive = await _read_to_eof(reader, max_bytes), False
            elif length <= max_bytes:
                body = await _read_exactly(reader, length, request)
            else:
                body = None  # announced over the limit: refused unread
    except TimeoutError:
        raise httpx.ReadTimeout("timed out", request=request) from None
    except (ConnectionError, OSError) as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
    if body is None:
        raise BodyTooLarge(sender, max_bytes, request.url)
    return status, headers, body, keep_alive


def _decoded(
    headers: list[tuple[bytes, bytes]], body: bytes, limit: tuple[int, str], request: httpx.Request
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """A body compressed although we asked for identity, inflated within the limit (a small gzip can
    inflate a thousandfold); the headers without Content-Encoding. Identity bodies pass through."""
    encoding = next((v.strip().lower() for k, v in headers if k.lower() == b"content-encoding"), b"identity")
    if encoding in (b"identity", b""):
        return headers, body
    if encoding not in (b"gzip", b"deflate", b"x-gzip"):
        raise httpx.DecodingError(
            f"unsupported content encoding {encoding.decode('latin-1')!r}", request=request
        )
    max_bytes, sender = limit
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
    try:
        inflated = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise httpx.DecodingError(f"invalid {encoding.decode()} body: {exc}", request=request) from None
    if len(inflated) > max_bytes:
        del inflated
        raise BodyTooLarge(sender, max_bytes, request.url)
    return [(k, v) for k, v in headers if k.lower() != b"content-encoding"], inflated


def _content_length(fields: dict[bytes, bytes], request: httpx.Request) -> int | None:
    value = fields.get(b"content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise httpx.RemoteProtocolError(f"malformed Content-Length {value[:40]!r}", request=request)
    return int(value)


async def _read_to_eof(reader: asyncio.StreamReader, max_bytes: int) -> bytes | None:
    """A close-delimited body, or None past `max_bytes` (the caller refuses it)."""
    chunks = []
    size = 0
    while piece := await reader.read(_READ_SIZE):
        size += len(piece)
        if size > max_bytes:
            chunks.clear()
            return None
        chunks.append(piece)
    return b"".join(chunks)


_READ_SIZE = 64 * 1024


# The errors below are raised outside their `except` blocks: describe_error reports the innermost
# chained exception, and asyncio's IncompleteReadError text would hide ours.


async def _read_head(reader: asyncio.StreamReader, request: httpx.Request) -> bytes:
    partial: bytes | None = None
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        partial = exc.partial
    except asyncio.LimitOverrunError:
        pass
    if partial is None:
        raise httpx.RemoteProtocolError("Response head too long.", request=request)
    if not partial:
        raise _Disconnected
    raise httpx.RemoteProtocolError(
        "Server disconnected without sending a complete response head.", request=request
    )


async def _read_exactly(reader: asyncio.StreamReader, expected: int, request: httpx.Request) -> bytes:
    try:
        return await reader.readexactly(expected)
    except asyncio.IncompleteReadError as exc:
        received = len(exc.partial)
    raise httpx.RemoteProtocolError(
        f"peer closed connection without sending complete message body: received {received} bytes, "
        f"expected {expected}",
        request=request,
    )


def _parse_head(head: bytes, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}", request=request)
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise httpx.RemoteProtocolError(f"malformed header line {line[:80]!r}", request=request)
        headers.append((name.strip(), value.strip()))
    return int(parts[1]), headers, parts[0]


async def _read_chunked(reader: asyncio.StreamReader, request: httpx.Request, max_bytes: int) -> bytes | None:
    """A chunked body, or None as soon as the announced chunk sizes pass `max_bytes` (nothing more of it is
    read: a server that announces a huge chunk never gets it buffered)."""
    chunks = []
    received = 0
    problem = ""
    try:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return b"".join(chunks)
            received += size
            if received > max_bytes:
                chunks.clear()
                return None
            chunks.append((await reader.readexactly(size + 2))[:-2])
    except asyncio.IncompleteReadError:
        problem = "peer closed connection without sending complete message body: incomplete chunked read"
    except (ValueError, asyncio.LimitOverrunError):
        problem = "malformed chunk size"
    raise httpx.RemoteProtocolError(problem, request=request)

"""A hand-written keep-alive HTTP/1.1 GET pool on plain asyncio streams, for the estate's probe and metrics
fan-out; it raises httpx's exceptions with httpcore's wording."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any

import httpx


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
    callers and `describe_error` cannot tell the two paths apart.
    """

    def __init__(
        self, ssl_context: ssl.SSLContext, *, max_connections: int, keepalive_s: float = 4.0
    ) -> None:
        # keep-alive below uvicorn's 5 s, so the server rarely closes a connection we are about to reuse
        self.ssl_context = ssl_context
        self.keepalive_s = keepalive_s
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
                    connection.reader, request, timeouts.get("read")
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
            return httpx.Response(status, headers=headers, content=body, request=request)

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
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await connection.writer.wait_closed()


_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_BODY_STATUSES = frozenset({204, 304})


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path.decode("ascii")
    lines = [f"GET {target} HTTP/1.1"]
    lines.extend(
        f"{name.decode('latin-1')}: {value.decode('latin-1')}" for name, value in request.headers.raw
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(
    reader: asyncio.StreamReader, request: httpx.Request, timeout: float | None
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """(status, headers, body, keep-alive) of one response."""
    try:
        async with asyncio.timeout(timeout):
            head = await _read_head(reader, request)
            status, headers, version = _parse_head(head, request)
            fields = {name.lower(): value for name, value in headers}
            keep_alive = version == b"HTTP/1.1" and fields.get(b"connection", b"").lower() != b"close"
            if status in _NO_BODY_STATUSES or 100 <= status < 200:
                return status, headers, b"", keep_alive
            if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
                return status, headers, await _read_chunked(reader, request), keep_alive
            length = fields.get(b"content-length")
            if length is None:
                return status, headers, await reader.read(), False
            return status, headers, await _read_exactly(reader, int(length), request), keep_alive
    except TimeoutError:
        raise httpx.ReadTimeout("timed out", request=request) from None
    except (ConnectionError, OSError) as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc


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


async def _read_chunked(reader: asyncio.StreamReader, request: httpx.Request) -> bytes:
    chunks = []
    problem = ""
    try:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return b"".join(chunks)
            chunks.append((await reader.readexactly(size + 2))[:-2])
    except asyncio.IncompleteReadError:
        problem = "peer closed connection without sending complete message body: incomplete chunked read"
    except ValueError:
        problem = "malformed chunk size"
    raise httpx.RemoteProtocolError(problem, request=request)

"""HTTP plumbing shared by every source: clients with the profile's TLS settings, conditional GETs, and
error texts a person can act on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from nexus_console.services.profiles import TlsSettings


class FetchError(Exception):
    """A request failed; str() is the human text shown in the UI ("HTTP 500 from /x")."""


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
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()

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
    def __init__(self, stream: Any, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        await self._stream.aclose()


class AsyncioTransport(httpx.AsyncBaseTransport):
    """httpx's transport contract over an httpcore pool on `AsyncioBackend` (HTTP/1.1, no proxies)."""

    def __init__(self, *, ssl_context: ssl.SSLContext, max_connections: int) -> None:
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=AsyncioBackend(),
        )
        self.lean_gets = LeanGetPool(ssl_context, max_connections=max_connections)

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
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.lean_gets.aclose()
        await self.pool.aclose()


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
    request itself. Errors are httpx's (ConnectError, ReadTimeout, RemoteProtocolError...) with
    httpcore's texts, so callers and `describe_error` cannot tell the two paths apart.
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


class ShardedTransport(httpx.AsyncBaseTransport):
    """Spreads requests round-robin over several connection pools.

    httpcore scans every connection of a pool on each request (`_assign_requests_to_connections` calls
    `has_expired` per connection), so one pool serving a 176-probe fan-out costs O(n^2) CPU on the GUI
    thread. Several small pools keep each scan short. The fan-out's own GETs (`get_directly`) bypass the
    shards through `lean_gets`, one pool over the whole connection budget.
    """

    def __init__(self, shards: list[httpx.AsyncBaseTransport], lean_gets: LeanGetPool) -> None:
        if not shards:
            raise ValueError("at least one shard")
        self.shards = shards
        self.lean_gets = lean_gets  # the fan-out's GETs, across all shards' connection budget
        self._next = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        shard = self.shards[self._next]
        self._next = (self._next + 1) % len(self.shards)
        return await shard.handle_async_request(request)

    async def aclose(self) -> None:
        await self.lean_gets.aclose()
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
    if tls.verify:
        context = ssl.create_default_context(cafile=str(tls.ca_bundle) if tls.ca_bundle else None)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store to load when nothing is verified
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    per_shard = max(1, max_connections // max(1, shards))
    transports: list[httpx.AsyncBaseTransport] = [
        AsyncioTransport(ssl_context=context, max_connections=per_shard) for _ in range(max(1, shards))
    ]
    transport: httpx.AsyncBaseTransport = transports[0]
    if len(transports) > 1:
        transport = ShardedTransport(transports, LeanGetPool(context, max_connections=max_connections))
    client = httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(timeout_s),
        trust_env=False,  # never route loopback traffic through a proxy from the environment
        follow_redirects=False,
    )
    if isinstance(transport, ShardedTransport):
        _LEAN_POOLS[client] = transport.lean_gets
    return client


# The lean GET pool of each fan-out client (a client from build_http_client with shards > 1).
_LEAN_POOLS: weakref.WeakKeyDictionary[httpx.AsyncClient, LeanGetPool] = weakref.WeakKeyDictionary()


async def get_directly(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """GET `url` through the client's transport, body read, without the client's per-request machinery.

    For the estate fan-out (176 probes every 5 s, 44 scrapes every second): those endpoints take no
    cookies, auth or redirects. On a client from `build_http_client` the GET goes through the
    transport's `LeanGetPool`; any other transport (a test's MockTransport) is called as usual. The
    client's timeout and TLS settings apply either way.
    """
    request = httpx.Request("GET", _parsed_url(url), extensions={"timeout": client.timeout.as_dict()})
    lean_gets = _LEAN_POOLS.get(client)
    if lean_gets is None:
        return await client.send(request)
    response = await lean_gets.get(request)
    response.request = request
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


_PARSED_URLS: dict[str, httpx.URL] = {}
_PARSED_URLS_MAX = 2048  # the estate's URLs (4 per service) many times over


def _parsed_url(url: str) -> httpx.URL:
    """httpx.URL(url), remembered: parsing is two thirds of building a request, and the fan-out asks for
    the same few hundred URLs all day."""
    parsed = _PARSED_URLS.get(url)
    if parsed is None:
        if len(_PARSED_URLS) >= _PARSED_URLS_MAX:
            _PARSED_URLS.clear()
        parsed = _PARSED_URLS[url] = httpx.URL(url)
    return parsed


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

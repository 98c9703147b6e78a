"""The console's httpx clients (TLS per profile, asyncio transport) and the estate client, which owns the lean
GET pool its fan-out goes through (`get_directly`)."""

from __future__ import annotations

import functools
import ssl
from types import TracebackType
from typing import Any

import httpx

from nexus_console.services.http.bounded import read_limited, with_body
from nexus_console.services.http.limits import (
    BACKSTOP_BODY_BYTES,
    BODY_LIMIT_EXTENSION,
    ResponseLimits,
    sender_of,
)
from nexus_console.services.http.pool import LeanGetPool
from nexus_console.services.http.transport import AsyncioTransport, ShardedTransport
from nexus_console.services.profiles import TlsSettings


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
    context = _ssl_context(tls)
    return httpx.AsyncClient(
        base_url=base_url, transport=_transport(context, max_connections, shards), **_options(timeout_s)
    )


WRITE_CONNECTIONS = 32
WRITE_SHARDS = 4


def build_write_client(tls: TlsSettings, *, timeout_s: float, base_url: str) -> httpx.AsyncClient:
    """The client the outbox sends admin actions with: 32 connections in 4 pools of 8. In one pool of 32,
    httpcore's per-request scan of every connection against every queued request cost more CPU than the
    request itself during a replay (1.3 ms an action against 0.6 ms sharded), and the replay fell short of
    the server's own rate."""
    return build_http_client(
        tls, timeout_s=timeout_s, max_connections=WRITE_CONNECTIONS, shards=WRITE_SHARDS, base_url=base_url
    )


class EstateClient(httpx.AsyncClient):
    """The client for the monitored services' absolute URLs: an httpx AsyncClient (Alertmanager and
    Prometheus use it as one) that also owns the `LeanGetPool` its probe and scrape GETs go through
    (`get_directly`). Closing the client closes the pool."""

    def __init__(self, *, lean_pool: LeanGetPool, **client_options: Any) -> None:
        super().__init__(**client_options)
        self.lean_pool = lean_pool

    async def aclose(self) -> None:
        await self.lean_pool.aclose()
        await super().aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        # httpx's __aexit__ closes the transport without calling aclose()
        await self.lean_pool.aclose()
        await super().__aexit__(exc_type, exc_value, traceback)


def build_estate_client(
    tls: TlsSettings, *, timeout_s: float = 10.0, max_connections: int = 64, shards: int = 16
) -> EstateClient:
    """`build_http_client(tls, shards=...)` plus one lean GET pool over the whole connection budget, for
    the estate fan-out (176 probes every 5 s, 44 scrapes every second)."""
    context = _ssl_context(tls)  # one SSL context for every shard and the lean pool
    return EstateClient(
        lean_pool=LeanGetPool(context, max_connections=max_connections),
        transport=_transport(context, max_connections, shards),
        **_options(timeout_s),
    )


@functools.lru_cache(maxsize=8)
def _ssl_context(tls: TlsSettings) -> ssl.SSLContext:
    # Loading the CA store costs ~30 ms: one context per TLS setting, shared by every client and shard.
    if tls.verify:
        return ssl.create_default_context(cafile=str(tls.ca_bundle) if tls.ca_bundle else None)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store to load when nothing is verified
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _transport(context: ssl.SSLContext, max_connections: int, shards: int) -> httpx.AsyncBaseTransport:
    per_shard = max(1, max_connections // max(1, shards))
    transports: list[httpx.AsyncBaseTransport] = [
        AsyncioTransport(ssl_context=context, max_connections=per_shard) for _ in range(max(1, shards))
    ]
    return ShardedTransport(transports) if len(transports) > 1 else transports[0]


def _options(timeout_s: float) -> dict[str, Any]:
    return {
        "timeout": httpx.Timeout(timeout_s),
        # Uncompressed answers only: a body's limit then bounds what is held (a compressed one could
        # inflate a thousandfold between two counts).
        "headers": {"Accept-Encoding": "identity"},
        "trust_env": False,  # never route loopback traffic through a proxy from the environment
        "follow_redirects": False,
    }


async def get_directly(
    client: httpx.AsyncClient, url: str, *, limits: ResponseLimits | None = None, sender: str | None = None
) -> httpx.Response:
    """GET `url` through the client's transport, body read, without the client's per-request machinery.

    For the estate fan-out (176 probes every 5 s, 44 scrapes every second): those endpoints take no
    cookies, auth or redirects. On an `EstateClient` the GET goes through its `LeanGetPool`; any other
    client (a test's MockTransport) sends it as usual. The client's timeout and TLS settings apply
    either way, and so does the body limit (`limits`, else the backstop): past it, BodyTooLarge naming
    `sender` (else "the server at host:port").
    """
    request = httpx.Request("GET", _parsed_url(url), extensions={"timeout": client.timeout.as_dict()})
    max_bytes = limits.max_body_bytes if limits is not None else BACKSTOP_BODY_BYTES
    who = sender or sender_of(request.url)
    request.extensions[BODY_LIMIT_EXTENSION] = (max_bytes, who)
    if not isinstance(client, EstateClient):
        response = await client.send(request, stream=True)
        return with_body(response, await read_limited(response, max_bytes, sender=who))
    response = await client.lean_pool.get(request)
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

"""Bounds on what the network sends: the largest body and the most items the console accepts per source, and
the errors that refuse the rest.

A body is streamed and counted as it arrives; past its limit the connection is closed and nothing of it is
kept. A body that announces a Content-Length over the limit is refused before any of it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from nexus_console.services.http.errors import FetchError

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True, slots=True)
class ResponseLimits:
    """The largest body (bytes, decoded) and the most items in any one list of a JSON answer (None: no
    count). "Items" are the elements of the lists (and the members of the objects) leading to the records of
    an answer: an alert page's `items`, Alertmanager's alert list, Prometheus' rule groups; for /metrics the
    lines of the text."""

    max_body_bytes: int
    max_items: int | None = None

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.max_items is not None and self.max_items <= 0:
            raise ValueError("max_items must be positive (or None)")


# The defaults per source (docs/architecture.md, "Limits on what the network sends").
API_DOCUMENT_LIMITS = ResponseLimits(8 * MiB, max_items=10_000)  # NexusClient: every JSON document
# the API, database and sync health documents: a few KB by contract, polled every 5 s together
HEALTH_DOCUMENT_LIMITS = ResponseLimits(1 * MiB, max_items=10_000)
ALERT_PAGE_LIMITS = ResponseLimits(16 * MiB, max_items=5_000)  # GET /alerts (the console asks for 500)
ALERTMANAGER_LIMITS = ResponseLimits(16 * MiB, max_items=20_000)
PROMETHEUS_LIMITS = ResponseLimits(16 * MiB, max_items=20_000)
METRICS_SCRAPE_LIMITS = ResponseLimits(2 * MiB, max_items=50_000)  # lines of one /metrics scrape
PROBE_BODY_LIMITS = ResponseLimits(2 * MiB)  # one /health, /health/live or /health/ready answer
# NexusClient's limits per path (query ignored); any other path gets API_DOCUMENT_LIMITS. Documents that are
# small by contract get small limits: the console polls several at once, and each may be read up to its
# limit before a hostile answer can be refused.
API_PATH_LIMITS: dict[str, ResponseLimits] = {
    "/auth/me": ResponseLimits(256 * KiB, max_items=1_000),
    "/monitoring/api/health": HEALTH_DOCUMENT_LIMITS,
    "/monitoring/database/health": HEALTH_DOCUMENT_LIMITS,
    "/monitoring/sync/quality": HEALTH_DOCUMENT_LIMITS,
    "/alerts": ALERT_PAGE_LIMITS,
}
ERROR_BODY_BYTES = 64 * KiB  # an error answer is read this far for its problem text, the rest ignored
# Every response through the console's transports, whoever reads it (the auth calls, the alert feed's
# snapshot): the largest per-source limit. Event streams are exempt (they never end by design).
BACKSTOP_BODY_BYTES = 16 * MiB
# request.extensions key: (max_body_bytes, sender) of a request whose caller reads the body within that
# limit itself (`bounded.send_limited`, `get_directly`); the transports' backstop then stands aside, and the
# lean pool applies it.
BODY_LIMIT_EXTENSION = "nexus_body_limit"


def format_size(size: int) -> str:
    """8388608 -> "8 MiB", 262144 -> "256 KiB", 1536 -> "1536 bytes"."""
    for unit, name in ((MiB, "MiB"), (KiB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    return f"{size} bytes"


class ResponseRefused(FetchError, httpx.HTTPError):
    """An answer the console refused for its size. Both a FetchError (the poller shows str()) and an
    httpx.HTTPError, so code that handles failed requests handles this one too."""

    def __init__(self, text: str) -> None:
        FetchError.__init__(self, text)
        self._request = None  # httpx.HTTPError's slot; the request is named in the text


class BodyTooLarge(ResponseRefused):
    """ "the API sent more than 8 MiB for /alerts; refused"."""

    def __init__(self, sender: str, limit: int, url: str | httpx.URL) -> None:
        super().__init__(f"{sender} sent more than {format_size(limit)} for {path_of(url)}; refused")
        self.sender = sender
        self.limit = limit


class TooManyItems(ResponseRefused):
    """ "the API sent more than 10,000 items in one list for /alerts; refused"."""

    def __init__(
        self, sender: str, limit: int, url: str | httpx.URL, what: str = "items in one list"
    ) -> None:
        super().__init__(f"{sender} sent more than {limit:,} {what} for {path_of(url)}; refused")
        self.sender = sender
        self.limit = limit


def path_of(url: str | httpx.URL) -> str:
    """The path of a URL, without its query: what a person recognises in a refusal."""
    return urlsplit(str(url)).path or str(url)


def sender_of(url: str | httpx.URL) -> str:
    """Who sent an answer, when the caller did not say: "the server at host:port"."""
    parsed = httpx.URL(url) if isinstance(url, str) else url
    port = f":{parsed.port}" if parsed.port else ""
    return f"the server at {parsed.host}{port}"

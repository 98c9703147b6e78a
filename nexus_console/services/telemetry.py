"""Fetching the Health pane's data: the service catalogue, the probe fan-out, metrics scrapes, and the API,
database and sync health documents. Async httpx, no Qt.

A single probe or scrape that fails is a result carrying its reason, not a failure of the whole source; the
source itself fails only when every request failed at the transport level (the console is cut off), so that
the pane shows "stale since ..." instead of 176 fresh-looking errors.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import httpx

from nexus_console.domain.health import (
    Probe,
    ProbeOutcome,
    ProbeResult,
    classify_probe_response,
)
from nexus_console.domain.health_documents import ApiHealth, DatabaseHealth, SyncQuality
from nexus_console.domain.prom_metrics import (
    MetricsHistory,
    MetricsParseError,
    MetricsSample,
    MetricsScrape,
    derive_sample,
    parse_metrics_text,
)
from nexus_console.domain.service_catalog import ServiceCatalog, ServiceInfo
from nexus_console.services.http import (
    METRICS_SCRAPE_LIMITS,
    PROBE_BODY_LIMITS,
    FetchError,
    ResponseLimits,
    TooManyItems,
    describe_error,
    get_directly,
    short_url,
)
from nexus_console.services.http.json_parse import INLINE_PARSE_BYTES, off_loop

SERVICES_PATH = "/monitoring/services"
API_HEALTH_PATH = "/monitoring/api/health"
DB_HEALTH_PATH = "/monitoring/database/health"
SYNC_QUALITY_PATH = "/monitoring/sync/quality"

T = TypeVar("T")


class JsonApi(Protocol):
    async def get_json(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, httpx.Headers]: ...


def parse_generated_at(body: Any) -> float | None:
    """The server's `generated_at` (RFC 3339 or epoch seconds) as epoch seconds, if present."""
    if not isinstance(body, Mapping):
        return None
    value = body.get("generated_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


# ---- the catalogue and the JSON health documents ------------------------------------------------


async def fetch_service_catalog(api: JsonApi) -> ServiceCatalog:
    body, _ = await api.get_json(SERVICES_PATH)
    try:
        return ServiceCatalog.from_json(body, parse_generated_at(body))
    except (ValueError, KeyError, TypeError) as exc:
        raise FetchError(f"unexpected body from {SERVICES_PATH}: {exc}") from None


async def fetch_parsed(
    api: JsonApi, path: str, parse: Callable[[Any], T], params: Mapping[str, str] | None = None
) -> T:
    """`parse` of the JSON at `path`; a body it refuses is a FetchError that names the path."""
    body, _ = await api.get_json(path, params)  # NexusClient bounds it (1 MiB: limits.API_PATH_LIMITS)
    try:
        return parse(body)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FetchError(f"unexpected body from {path}: {exc}") from None


async def fetch_document(
    api: JsonApi, path: str, validate: Callable[[Any], object], params: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSON document at `path` as JSON (the local cache stores it as is), once `validate` took it."""

    def validated(body: Any) -> dict[str, Any]:
        validate(body)
        return body  # type: ignore[no-any-return]

    return await fetch_parsed(api, path, validated, params)


async def fetch_api_health(api: JsonApi) -> dict[str, Any]:
    """The validated JSON document (kept as JSON so the local cache can store it as is)."""
    return await fetch_document(api, API_HEALTH_PATH, ApiHealth.from_json)


async def fetch_db_health(api: JsonApi) -> dict[str, Any]:
    return await fetch_document(api, DB_HEALTH_PATH, DatabaseHealth.from_json)


async def fetch_sync_quality(api: JsonApi) -> dict[str, Any]:
    return await fetch_document(api, SYNC_QUALITY_PATH, SyncQuality.from_json)


# ---- probes -------------------------------------------------------------------------------------


def _is_transport_failure(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | TimeoutError)


async def probe_once(
    http: httpx.AsyncClient,
    service: ServiceInfo,
    probe: Probe,
    *,
    timeout_s: float,
    clock: Callable[[], float] = time.time,
    limits: ResponseLimits = PROBE_BODY_LIMITS,
) -> tuple[ProbeResult, bool]:
    """One probe request. Returns the result and whether it failed at the transport level. A body over
    `limits` is an ERROR result ("service x sent more than 2 MiB for /x/health; refused")."""
    url = service.url(probe)
    started = time.monotonic()
    try:
        # The deadline covers the whole exchange: a server that trickles its body must not hold a slot.
        async with asyncio.timeout(timeout_s):
            response = await get_directly(http, url, limits=limits, sender=f"service {service.name}")
    except asyncio.CancelledError:
        raise
    except (TimeoutError, httpx.TimeoutException):
        elapsed_ms = (time.monotonic() - started) * 1000.0
        detail = f"timeout after {timeout_s:.1f} s"
        return ProbeResult(service.name, probe, ProbeOutcome.TIMEOUT, clock(), elapsed_ms, None, detail), True
    except Exception as exc:
        elapsed_ms = (time.monotonic() - started) * 1000.0
        detail = describe_error(exc, timeout_s=timeout_s)
        result = ProbeResult(service.name, probe, ProbeOutcome.ERROR, clock(), elapsed_ms, None, detail)
        return result, _is_transport_failure(exc)
    elapsed_ms = (time.monotonic() - started) * 1000.0
    answer = (
        service.name,
        probe,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
        clock(),
        elapsed_ms,
    )
    if len(response.content) <= INLINE_PARSE_BYTES:
        return classify_probe_response(*answer), False
    return await off_loop(classify_probe_response, *answer), False  # a large body: off the GUI thread


# ---- metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricsRound:
    """One scrape of every service: the newest sample per service, the reason per failed scrape, and the
    shared history that every round appends to (not serialised to the cache)."""

    at: float
    samples: Mapping[str, MetricsSample]
    errors: Mapping[str, str]
    history: MetricsHistory | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "samples": {name: _sample_json(s) for name, s in self.samples.items()},
            "errors": dict(self.errors),
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> MetricsRound:
        samples = {name: MetricsSample(**_nan_in(s)) for name, s in body["samples"].items()}
        return cls(float(body["at"]), samples, dict(body["errors"]))


def _sample_json(sample: MetricsSample) -> dict[str, float | None]:
    # JSON has no NaN; null stands for "undefined in this interval".
    return {
        name: (None if isinstance(v, float) and math.isnan(v) else v)
        for name, v in (
            ("time_s", sample.time_s),
            ("rps", sample.rps),
            ("rps_4xx", sample.rps_4xx),
            ("rps_5xx", sample.rps_5xx),
            ("p50_ms", sample.p50_ms),
            ("p95_ms", sample.p95_ms),
            ("p99_ms", sample.p99_ms),
            ("cpu_pct", sample.cpu_pct),
            ("rss_mb", sample.rss_mb),
        )
    }


def _nan_in(values: Mapping[str, float | None]) -> dict[str, float]:
    return {name: math.nan if v is None else float(v) for name, v in values.items()}


def _parse_all(
    bodies: dict[str, tuple[bytes, float, str]], limits: ResponseLimits
) -> dict[str, MetricsScrape | str]:
    """On the executor: decode, count lines against the limit, parse; a reason in place of a scrape."""
    parsed: dict[str, MetricsScrape | str] = {}
    for name, (content, at, url) in bodies.items():
        try:
            if limits.max_items is not None and content.count(b"\n") > limits.max_items:
                raise TooManyItems(f"service {name}", limits.max_items, url, "lines of metrics")
            parsed[name] = parse_metrics_text(content.decode("utf-8"), at)
        except UnicodeDecodeError:
            parsed[name] = "metrics body is not UTF-8"
        except (MetricsParseError, TooManyItems) as exc:
            parsed[name] = str(exc)
    return parsed


class MetricsCollector:
    """Scrapes every service's /metrics, parses on `executor`, and appends one sample per service to the
    history each round: rates and quantiles over a trailing window, like PromQL `rate(x[5s])` evaluated
    every second. Differencing only successive scrapes would alias against the service's own update
    cadence (a scrape that lands between two updates reads 0 req/s, the next one double)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        executor: Executor,
        history: MetricsHistory | None = None,
        *,
        limit: int = 16,
        timeout_s: float = 1.5,
        rate_window_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        limits: ResponseLimits = METRICS_SCRAPE_LIMITS,
    ) -> None:
        self.http = http
        self.limits = limits
        self.executor = executor
        self.history = history or MetricsHistory()
        self.limit = limit
        self.timeout_s = timeout_s
        self.rate_window_s = rate_window_s
        self.clock = clock
        self._previous: dict[str, deque[MetricsScrape]] = {}

    def _baseline(self, service: str, current: MetricsScrape) -> MetricsScrape | None:
        """The newest earlier scrape at least one window old, else the oldest one kept."""
        earlier = self._previous.get(service)
        if not earlier:
            return None
        for scrape in reversed(earlier):
            if current.scraped_at - scrape.scraped_at >= self.rate_window_s:
                return scrape
        return earlier[0]

    def _remember(self, service: str, scrape: MetricsScrape) -> None:
        kept = self._previous.setdefault(service, deque())
        kept.append(scrape)
        # Keep just enough to span the window (plus the one that starts it).
        while len(kept) > 2 and scrape.scraped_at - kept[1].scraped_at >= self.rate_window_s:
            kept.popleft()

    async def _get_body(self, service: ServiceInfo) -> tuple[bytes, float, str]:
        """The raw scrape (bytes, time, URL) within the limit; decoded and parsed on the executor."""
        async with asyncio.timeout(self.timeout_s):
            response = await get_directly(
                self.http, service.metrics_url, limits=self.limits, sender=f"service {service.name}"
            )
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code} from {short_url(service.metrics_url)}")
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith(("text/plain", "application/openmetrics-text")):
            raise FetchError(f"unexpected content type {content_type or 'none'!r}")
        return response.content, self.clock(), service.metrics_url

    async def scrape(self, catalog: ServiceCatalog) -> MetricsRound:
        semaphore = asyncio.Semaphore(self.limit)
        services = list(catalog.services)

        async def one(service: ServiceInfo) -> tuple[bytes, float, str]:
            async with semaphore:
                return await self._get_body(service)

        fetched = await asyncio.gather(*(one(s) for s in services), return_exceptions=True)
        at = self.clock()
        bodies: dict[str, tuple[bytes, float, str]] = {}
        errors: dict[str, str] = {}
        transport_failures = 0
        for service, outcome in zip(services, fetched, strict=True):
            if isinstance(outcome, BaseException):
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                errors[service.name] = describe_error(outcome, timeout_s=self.timeout_s)
                transport_failures += _is_transport_failure(outcome)
            else:
                bodies[service.name] = outcome

        parsed = await asyncio.get_running_loop().run_in_executor(
            self.executor, _parse_all, bodies, self.limits
        )

        samples: dict[str, MetricsSample] = {}
        for service in services:
            scrape = parsed.get(service.name)
            if isinstance(scrape, MetricsScrape):
                sample = derive_sample(self._baseline(service.name, scrape), scrape)
                self._remember(service.name, scrape)
                samples[service.name] = sample
                self.history.record(service.name, sample)
            else:
                if isinstance(scrape, str):
                    errors[service.name] = scrape
                self.history.record_gap(service.name, at)
        names = {s.name for s in services}
        self.history.forget_except(names)
        for name in [n for n in self._previous if n not in names]:
            del self._previous[name]
        self.history.finish_round()

        if services and transport_failures == len(services):
            raise FetchError(f"all {len(services)} metrics scrapes failed: {next(iter(errors.values()))}")
        return MetricsRound(at, samples, errors, self.history)

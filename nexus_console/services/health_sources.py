"""The Health pane's data sources, created by the session in its poller registry.

Sources: `services` (the catalogue), `probes` (176 probe requests), `metrics` (every service's /metrics each
second into fixed-size ring buffers), `api_health`, `db_health`, `sync_quality`. Each poller has a cache
codec, so the registry restores the last good value at start (shown stale) and saves every new one.

The pollers of the API (`services` and the three documents) share the API's host, so the registry polls the
others at once when one of them recovers. The probe sweep (`services.probe_sweep`) reports a hung host within
one probe timeout instead of waiting out every one of its probes.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.health import ProbeSweep
from nexus_console.domain.prom_metrics import MetricsHistory
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.services.api_client import NexusClient
from nexus_console.services.polling import CacheCodec, Poller, PollerRegistry
from nexus_console.services.probe_sweep import origin, sweep_estate
from nexus_console.services.telemetry import (
    MetricsCollector,
    MetricsRound,
    fetch_api_health,
    fetch_db_health,
    fetch_service_catalog,
    fetch_sync_quality,
    parse_generated_at,
)

SERVICES = "services"
PROBES = "probes"
METRICS = "metrics"
API_HEALTH = "api_health"
DB_HEALTH = "db_health"
SYNC_QUALITY = "sync_quality"
HEALTH_SOURCES = (SERVICES, PROBES, METRICS, API_HEALTH, DB_HEALTH, SYNC_QUALITY)
# Seed 002's estate: the least the pollers' overall timeouts are sized for (the worst case, everything hangs).
EXPECTED_SERVICES = 44


@dataclass(frozen=True, slots=True)
class HealthSourceSettings:
    services_interval_s: float = 60.0
    probes_interval_s: float = 5.0
    probe_timeout_s: float = 2.0
    # httpcore's pool bookkeeping grows with (requests in flight × pooled connections): measured at a
    # quarter of a core with 48 in flight; 16 + 8 keeps the console light and a sweep well under 1 s.
    probe_concurrency: int = 16
    metrics_interval_s: float = 1.0
    scrape_timeout_s: float = 1.5
    scrape_concurrency: int = 8
    documents_interval_s: float = 5.0
    documents_timeout_s: float = 5.0
    # Longest wait between attempts while a document source fails; a poller never waits longer than its
    # interval, so a document that comes back is fresh within one interval.
    documents_retry_max_s: float = 10.0


PROBES_IN_FLIGHT_MAX = 64
SERVICES_PER_PROBE_IN_FLIGHT = 16


def probe_concurrency(services: int, configured: int) -> int:
    """Probes in flight for an estate of `services`: the configured number (16), more for a large estate so
    a sweep of 1,000 services (4,000 probes) still ends well inside the 5 s interval, at most 64."""
    return max(configured, min(PROBES_IN_FLIGHT_MAX, -(-services // SERVICES_PER_PROBE_IN_FLIGHT)))


CATALOG_CODEC: CacheCodec[ServiceCatalog] = CacheCodec(
    encode=lambda catalog: catalog.to_json(), decode=lambda body: ServiceCatalog.from_json(body)
)
SWEEP_CODEC: CacheCodec[ProbeSweep] = CacheCodec(
    encode=lambda sweep: sweep.to_json(), decode=ProbeSweep.from_json
)
ROUND_CODEC: CacheCodec[MetricsRound] = CacheCodec(
    encode=lambda round_: round_.to_json(), decode=MetricsRound.from_json
)
DOCUMENT_CODEC: CacheCodec[dict[str, Any]] = CacheCodec(encode=lambda body: body, decode=lambda body: body)


class HealthSources:
    """The six Health pollers of a session (created in `registry`; the registry runs them)."""

    def __init__(
        self,
        registry: PollerRegistry,
        api: NexusClient,
        estate_http: Any,
        executor: concurrent.futures.Executor,
        settings: HealthSourceSettings | None = None,
    ) -> None:
        self.settings = settings = settings or HealthSourceSettings()
        self._api = api
        self.api_host = origin(api.base_url)  # shared by the catalogue, the documents and `me`
        self.services: Poller[ServiceCatalog] = registry.add(
            Poller(
                SERVICES,
                lambda: fetch_service_catalog(api),
                settings.services_interval_s,
                timeout_s=settings.documents_timeout_s,
                # The registry is confirmed, not measured: an unchanged list comes back as a 304 with the
                # first answer's generated_at, so its age counts from the last confirmation (the poll's time).
                cache_codec=CATALOG_CODEC,
                host=self.api_host,
            ),
        )

        async def probe_all() -> ProbeSweep:
            catalog = await self.current_catalog()
            limit = probe_concurrency(len(catalog.services), settings.probe_concurrency)
            return await sweep_estate(estate_http, catalog, limit=limit, timeout_s=settings.probe_timeout_s)

        def probes_timeout() -> float:
            # Worst case every service has a host of its own and every host hangs: the sweep goes breadth
            # first and skips a hung host's other probes, so that many rounds of the per-probe timeout, + 1.
            services = self.known_service_count()
            rounds = -(-services // probe_concurrency(services, settings.probe_concurrency)) + 1
            return settings.documents_timeout_s + rounds * settings.probe_timeout_s

        self.probes: Poller[ProbeSweep] = registry.add(
            Poller(
                PROBES,
                probe_all,
                settings.probes_interval_s,
                timeout_s=probes_timeout,
                source_time=lambda sweep: sweep.finished_at,
                cache_codec=SWEEP_CODEC,
            ),
        )

        collector = MetricsCollector(
            estate_http,
            executor,
            MetricsHistory(),
            limit=settings.scrape_concurrency,
            timeout_s=settings.scrape_timeout_s,
        )

        async def scrape_all() -> MetricsRound:
            return await collector.scrape(await self.current_catalog())

        def metrics_timeout() -> float:
            scrape_rounds = -(-self.known_service_count() // settings.scrape_concurrency)
            return settings.documents_timeout_s + scrape_rounds * settings.scrape_timeout_s

        self.metrics: Poller[MetricsRound] = registry.add(
            Poller(
                METRICS,
                scrape_all,
                settings.metrics_interval_s,
                timeout_s=metrics_timeout,
                source_time=lambda round_: round_.at,
                cache_codec=ROUND_CODEC,
            ),
        )
        self.api_health = self._document(registry, API_HEALTH, fetch_api_health)
        self.db_health = self._document(registry, DB_HEALTH, fetch_db_health)
        self.sync_quality = self._document(registry, SYNC_QUALITY, fetch_sync_quality)

    def documents(self) -> dict[str, Poller[dict[str, Any]]]:
        """The three health documents by source name (the local alert rules read them too)."""
        return {API_HEALTH: self.api_health, DB_HEALTH: self.db_health, SYNC_QUALITY: self.sync_quality}

    def pollers(self) -> list[Poller[Any]]:
        return [self.services, self.probes, self.metrics, *self.documents().values()]

    def refresh_now(self) -> None:
        for poller in (self.probes, self.metrics, *self.documents().values()):
            poller.poke()

    def known_service_count(self) -> int:
        """How many services the newest catalogue lists (the seed's 44 before any is known)."""
        last_good = self.services.status.last_good
        return (
            max(EXPECTED_SERVICES, len(last_good.value.services))
            if last_good is not None
            else EXPECTED_SERVICES
        )

    async def current_catalog(self) -> ServiceCatalog:
        """The services poller's newest list (cached, stale or fresh: it names the services to probe and
        scrape, and the poller itself keeps it current); asked for here only before any list is known, so
        an outage of the registry does not cost a catalogue request per scrape and per sweep."""
        last_good = self.services.status.last_good
        if last_good is not None:
            return last_good.value
        return await fetch_service_catalog(self._api)

    def _document(self, registry: PollerRegistry, name: str, fetch: Any) -> Poller[dict[str, Any]]:
        settings, api = self.settings, self._api
        return registry.add(
            Poller(
                name,
                lambda: fetch(api),
                settings.documents_interval_s,
                timeout_s=settings.documents_timeout_s,
                backoff=Backoff(min(1.0, settings.documents_interval_s), settings.documents_retry_max_s),
                source_time=parse_generated_at,
                cache_codec=DOCUMENT_CODEC,
                host=self.api_host,
            ),
        )

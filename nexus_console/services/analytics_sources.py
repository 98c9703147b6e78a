"""The Analytics pane's sources: one poller a document of `/analytics/*` the user's roles may read (revenue
only for finance and admins), in the session's registry with the local cache, so the last good figures are
shown (stale) at start and through an outage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from nexus_console.domain.analytics import ANALYTICS_KINDS, REVENUE, VIEW_BUILDERS
from nexus_console.domain.auth import REVENUE_READERS, Me
from nexus_console.domain.behaviour import MAX_COHORTS, Activity, Funnel, Retention
from nexus_console.domain.executive import MONTHLY_DAYS
from nexus_console.domain.reports import REPORT_PATH, ReportTable
from nexus_console.services.api_client import NexusClient
from nexus_console.services.polling import Poller, PollerRegistry, api_document_poller
from nexus_console.services.telemetry import fetch_document, fetch_parsed

T = TypeVar("T")
SOURCE_PREFIX = "analytics_"
MONTHLY = f"{SOURCE_PREFIX}monthly"
VENDOR_MONTHS = f"{SOURCE_PREFIX}vendor_months"
VENDOR_MONTHS_DAYS = 92  # the last two whole months and the one under way


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    # The server recomputes its figures at most every 30 s and they describe a day at a time: a minute
    # keeps them current without a request a second.
    interval_s: float = 60.0
    timeout_s: float = 20.0
    retry_max_s: float = 30.0


class AnalyticsSources:
    """`documents[kind]`: the poller of `/analytics/<kind>` (JSON; `domain.analytics.VIEW_BUILDERS[kind]`
    makes the view of it), for the kinds `me` may read."""

    def __init__(
        self,
        registry: PollerRegistry,
        api: NexusClient,
        me: Me,
        *,
        api_host: str,
        settings: AnalyticsSettings | None = None,
    ) -> None:
        self.settings = settings = settings or AnalyticsSettings()
        self._api = api
        self._api_host = api_host
        self.documents: dict[str, Poller[dict[str, Any]]] = {}
        # Stamped when answered, not with the body's `generated_at`: the server leaves `generated_at` out of
        # its ETag, so unchanged figures come back as 304 with the first answer's body, and its old
        # `generated_at` would read as stale although the server has just confirmed the figures.
        for kind in ANALYTICS_KINDS:
            if kind == REVENUE and not me.may_access(REVENUE_READERS):
                continue
            path, validate = f"/analytics/{kind}", VIEW_BUILDERS[kind]
            self.documents[kind] = registry.add(
                api_document_poller(
                    f"{SOURCE_PREFIX}{kind}",
                    lambda path=path, validate=validate: fetch_document(api, path, validate),
                    interval_s=settings.interval_s,
                    timeout_s=settings.timeout_s,
                    retry_max_s=settings.retry_max_s,
                    host=api_host,
                )
            )

        # The executive view's monthly orders (and revenue for those who may read it), 13 whole months; the
        # vendors' months (their leaderboard by units and rising stars), the last whole months.
        revenue = ",revenue" if me.may_access(REVENUE_READERS) else ""
        self.monthly = self._report_poller(
            registry,
            MONTHLY,
            {"metrics": f"orders,units{revenue}", "dimensions": "month", "days": str(MONTHLY_DAYS)},
        )
        self.vendor_months = self._report_poller(
            registry,
            VENDOR_MONTHS,
            {"metrics": "orders,units", "dimensions": "vendor,month", "days": str(VENDOR_MONTHS_DAYS)},
        )

    def _report_poller(
        self, registry: PollerRegistry, name: str, params: dict[str, str]
    ) -> Poller[dict[str, Any]]:
        settings, api = self.settings, self._api
        return registry.add(
            api_document_poller(
                name,
                lambda: fetch_document(api, REPORT_PATH, ReportTable.from_json, params),
                interval_s=settings.interval_s,
                timeout_s=settings.timeout_s,
                retry_max_s=settings.retry_max_s,
                host=self._api_host,
            )
        )

    async def funnel(
        self,
        name: str,
        *,
        days: int,
        window_hours: int,
        step_window_hours: Sequence[int] = (),
        breakdown: str | None = None,
    ) -> Funnel:
        """A funnel as the server counts it now (the Funnels page asks when shown and when changed);
        `step_window_hours` gives each step after the first its own limit after the step before."""
        params = {"funnel": name, "days": str(days), "window_hours": str(window_hours)}
        if step_window_hours:
            params["step_window_hours"] = ",".join(str(hours) for hours in step_window_hours)
        if breakdown:
            params["breakdown"] = breakdown
        return await self._query("/analytics/funnel", params, Funnel.from_json)

    async def retention(self, *, grain: str, mode: str, cohorts: int = 12, periods: int = 12) -> Retention:
        """Cohort retention; `cohorts` and `periods` are capped at what the server's year of activity holds
        for the grain (four quarters)."""
        most = MAX_COHORTS.get(grain, cohorts)
        cohorts, periods = min(cohorts, most), min(periods, most)
        params = {"grain": grain, "mode": mode, "cohorts": str(cohorts), "periods": str(periods)}
        return await self._query("/analytics/retention", params, Retention.from_json)

    async def activity(self, *, days: int = 365) -> Activity:
        return await self._query("/analytics/activity", {"days": str(days)}, Activity.from_json)

    async def _query(self, path: str, params: dict[str, str], parse: Callable[[Any], T]) -> T:
        return await asyncio.wait_for(fetch_parsed(self._api, path, parse, params), self.settings.timeout_s)

    def refresh_now(self) -> None:
        for poller in (*self.documents.values(), self.monthly, self.vendor_months):
            poller.poke()

"""Analytics KPIs (users, vendors, content for analysts; revenue for finance and admin), report queries,
funnels, cohort retention and daily active users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nexus_refserver.api.analytics_models import (
    ActivityResult,
    ContentAnalytics,
    FunnelResult,
    ReportResult,
    RetentionResult,
    RevenueAnalytics,
    UserAnalytics,
    VendorAnalytics,
)
from nexus_refserver.api.http import (
    IfNoneMatch,
    check_permission,
    context,
    etag_for_body,
    json_body,
    json_response,
    read_route,
    require,
)
from nexus_refserver.auth import Principal
from nexus_refserver.funnels import (
    BREAKDOWNS,
    DEFAULT_WINDOW_HOURS,
    FUNNELS,
    MAX_WINDOW_HOURS,
    FunnelQuery,
    FunnelRequest,
)
from nexus_refserver.funnels import MAX_RANGE_DAYS as MAX_FUNNEL_DAYS
from nexus_refserver.report_query import (
    CATEGORY_CHOICES,
    CHANNELS,
    DEFAULT_LIMIT,
    DEFAULT_RANGE_DAYS,
    DIMENSIONS,
    MAX_DIMENSIONS,
    MAX_LIMIT,
    MAX_RANGE_DAYS,
    METRICS,
    REVENUE_METRICS,
    STATUSES,
    ReportQuery,
    ReportRequest,
    unprocessable,
)
from nexus_refserver.retention import (
    DEFAULT_ACTIVITY_DAYS,
    DEFAULT_COHORTS,
    DEFAULT_PERIODS,
    GRAINS,
    MAX_ACTIVITY_DAYS,
    MAX_COHORTS,
    MODES,
    CohortQuery,
    RetentionRequest,
)
from nexus_refserver.roles import REQUIRED_ROLE, Permission, access_note, roles_with

router = APIRouter(prefix="/analytics", tags=["analytics"])

AnalyticsReader = Annotated[Principal, Depends(require(Permission.ANALYTICS_READ))]
RevenueReader = Annotated[Principal, Depends(require(Permission.REVENUE_READ))]


def _analytics(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.analytics


@router.get("/users", response_model=UserAnalytics, **read_route(Permission.ANALYTICS_READ, "User KPIs"))
async def user_kpis(request: Request, _: AnalyticsReader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, await run_in_threadpool(_analytics(request).users))


@router.get(
    "/vendors", response_model=VendorAnalytics, **read_route(Permission.ANALYTICS_READ, "Vendor KPIs")
)
async def vendor_kpis(request: Request, _: AnalyticsReader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, await run_in_threadpool(_analytics(request).vendors))


@router.get(
    "/content", response_model=ContentAnalytics, **read_route(Permission.ANALYTICS_READ, "Content KPIs")
)
async def content_kpis(request: Request, _: AnalyticsReader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, await run_in_threadpool(_analytics(request).content))


@router.get(
    "/revenue", response_model=RevenueAnalytics, **read_route(Permission.REVENUE_READ, "Revenue KPIs")
)
async def revenue_kpis(request: Request, _: RevenueReader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, await run_in_threadpool(_analytics(request).revenue))


_FINANCE = Permission.REVENUE_READ
_REPORT_TEXT = (
    f"Metrics over orders, grouped by up to {MAX_DIMENSIONS} dimensions, for a range of days. Dimension "
    "columns come first (`vendor` is followed by `vendor_id`), then the metrics, both as asked; rows are "
    "ordered by the dimensions as asked, ascending. The range is `from` (inclusive) to `to` (exclusive) on "
    "the UTC day an order was placed. A week is keyed by its Monday (ISO week) and counts only its days "
    "inside the range. Rows beyond `limit` are cut and `truncated` is true. An unknown metric, dimension or "
    "filter value, a bad date or range: 422 with a sentence naming it and the values allowed.\n\n"
    f"{access_note(Permission.ANALYTICS_READ)} The metrics {', '.join(REVENUE_METRICS)} also require "
    f"`{_FINANCE.value}` (roles: {', '.join(roles_with(_FINANCE))}): asked for without it, they are refused "
    f"with 403 and `required_role` `{REQUIRED_ROLE[_FINANCE].value}`."
)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(f"`{value}`" for value in values)


@router.get(
    "/report",
    response_model=ReportResult,
    **{**read_route(Permission.ANALYTICS_READ, "Report query"), "description": _REPORT_TEXT},
)
async def report(
    request: Request,
    principal: AnalyticsReader,
    metrics: Annotated[
        str,
        Query(
            max_length=500,
            description=f"Comma-separated, at least one: {_listed(METRICS)}.",
            examples=["orders,units,revenue"],
        ),
    ],
    dimensions: Annotated[
        str | None,
        Query(
            max_length=500,
            description=f"Comma-separated, up to {MAX_DIMENSIONS}, order significant: {_listed(DIMENSIONS)}. "
            "None: one row of totals.",
            examples=["vendor,week"],
        ),
    ] = None,
    date_from: Annotated[
        str | None,
        Query(
            alias="from",
            description=f"First day (inclusive), YYYY-MM-DD. Default: {DEFAULT_RANGE_DAYS} days before `to`.",
            json_schema_extra={"format": "date"},
            examples=["2026-10-02"],
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            alias="to",
            description="End (exclusive), YYYY-MM-DD. Default: the day of the data's `as_of` instant.",
            json_schema_extra={"format": "date"},
            examples=["2026-11-01"],
        ),
    ] = None,
    days: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_RANGE_DAYS,
            description="Instead of `from`: the range is this many days up to `to`.",
        ),
    ] = None,
    vendor_id: Annotated[
        list[str] | None,
        Query(description="Vendor ids; repeat, or separate with commas.", examples=[["1,2"]]),
    ] = None,
    channel: Annotated[
        list[str] | None, Query(description=f"{_listed(CHANNELS)}; repeat, or separate with commas.")
    ] = None,
    status: Annotated[
        list[str] | None, Query(description=f"{_listed(STATUSES)}; repeat, or separate with commas.")
    ] = None,
    category: Annotated[
        list[str] | None, Query(description=f"{_listed(CATEGORY_CHOICES)}; repeat, or separate with commas.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="At most this many rows; beyond it `truncated` is true.")
    ] = DEFAULT_LIMIT,
    if_none_match: IfNoneMatch = None,
) -> Response:
    query = ReportRequest.parse(
        metrics=metrics,
        dimensions=dimensions,
        date_from=date_from,
        date_to=date_to,
        days=days,
        vendor_id=vendor_id,
        channel=channel,
        status=status,
        category=category,
        limit=limit,
    )
    if query.revenue_metrics:
        check_permission(principal, _FINANCE, needed_for=f"asked for {', '.join(query.revenue_metrics)}")
    result = await run_in_threadpool(ReportQuery(context(request).dbs).run, query)
    return _without_generated_at(request, result)


def _without_generated_at(request: Request, result: dict) -> Response:
    # the same figures keep their ETag: generated_at is left out of it
    etag = etag_for_body(json_body({key: value for key, value in result.items() if key != "generated_at"}))
    return json_response(request, result, etag=etag)


def _described(summary: str, text: str) -> dict:
    return {**read_route(Permission.ANALYTICS_READ, summary), "description": f"{text}\n\n{_ANALYST}"}


_ANALYST = access_note(Permission.ANALYTICS_READ)
_FUNNEL_TEXT = (
    "Users through the ordered steps of a funnel. A user enters with step 1 inside the range (`from` "
    "inclusive to `to` exclusive, on the UTC day). From each such step 1, step k counts when steps 2..k "
    "happened in order, each at or after the previous one, and step k within `window_hours` of that step "
    "1 (later steps may fall after `to`); a user counts with the attempt that got furthest. Steps out of "
    "order or after the window do not count. Users whose window is still open at `as_of` and who have not "
    "reached the last step are `still_in_window`: not in any `drop_off`, but in the conversion "
    "denominators (as PostHog counts them). With `step_window_hours`, each step must also come within its "
    "own window of the step before, and a user is still in window while their next step's window (and the "
    "whole funnel's) is open at `as_of`. Registration's first steps include anonymous visitors (no "
    "users row; `key` null in a breakdown). A bad value: 422 with a sentence naming it."
)


@router.get("/funnel", response_model=FunnelResult, **_described("Funnel", _FUNNEL_TEXT))
async def funnel(
    request: Request,
    _: AnalyticsReader,
    funnel: Annotated[
        str,
        Query(
            max_length=100,
            description=f"One of {_listed(FUNNELS)}.",
            json_schema_extra={"enum": list(FUNNELS)},
        ),
    ],
    date_from: Annotated[
        str | None,
        Query(
            alias="from",
            description=f"First day users may enter (inclusive), YYYY-MM-DD. Default: {DEFAULT_RANGE_DAYS} "
            "days before `to`.",
            json_schema_extra={"format": "date"},
            examples=["2026-10-02"],
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            alias="to",
            description="End of the entry range (exclusive), YYYY-MM-DD. Default: the day of `as_of`. "
            f"At most {MAX_FUNNEL_DAYS} days after `from`.",
            json_schema_extra={"format": "date"},
            examples=["2026-11-01"],
        ),
    ] = None,
    days: Annotated[
        int | None,
        Query(
            description="Instead of `from`: the range is this many days up to `to`.",
            json_schema_extra={"minimum": 1, "maximum": MAX_FUNNEL_DAYS},
        ),
    ] = None,
    window_hours: Annotated[
        int,
        Query(
            description="Conversion window: each step within this many hours of step 1 (default 7 days).",
            json_schema_extra={"minimum": 1, "maximum": MAX_WINDOW_HOURS},
        ),
    ] = DEFAULT_WINDOW_HOURS,
    breakdown: Annotated[
        str | None,
        Query(
            max_length=100,
            description=f"{_listed(BREAKDOWNS)}: also users per step by the user's country, acquisition "
            "source or age band.",
            json_schema_extra={"enum": list(BREAKDOWNS)},
        ),
    ] = None,
    step_window_hours: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A window per step: hours each step after the first may come after the step before, "
            "comma-separated, one value per step after the first (from 1 to "
            f"{MAX_WINDOW_HOURS}); `window_hours` still holds from step 1.",
            examples=["24,2,168,48,24"],
        ),
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    query = FunnelRequest.parse(
        funnel=funnel,
        date_from=date_from,
        date_to=date_to,
        days=days,
        window_hours=window_hours,
        breakdown=breakdown,
        step_window_hours=step_window_hours,
    )
    result = await run_in_threadpool(FunnelQuery(context(request).dbs).run, query)
    return _without_generated_at(request, result)


def _most_per_grain() -> str:
    return ", ".join(f"{most} for {grain}" for grain, most in MAX_COHORTS.items())


_RETENTION_TEXT = (
    "Cohorts of users by signup period (UTC day, ISO week from Monday, calendar month, or calendar quarter "
    "labelled `YYYY-Qn`): the last "
    "`cohorts` whole periods before `as_of`, oldest first. For period offsets 0 to `periods` - 1 (0 is the "
    "signup period), the fraction of the cohort active in that period (`on`) or in that period or any "
    "later one (`on_or_after`); null where the period is not over by `as_of`. The activity history is a "
    f"year: at most {MAX_COHORTS['day']} day, {MAX_COHORTS['week']} week, {MAX_COHORTS['month']} month or "
    f"{MAX_COHORTS['quarter']} quarter cohorts and periods. `d1`, `d7`, `d30`: of the users who signed up "
    "in the history and whose day N "
    "(signup day + N) is over, the fraction active on exactly day N. A bad value: 422 with a sentence."
)


@router.get("/retention", response_model=RetentionResult, **_described("Cohort retention", _RETENTION_TEXT))
async def retention(
    request: Request,
    _: AnalyticsReader,
    grain: Annotated[
        str,
        Query(
            max_length=100, description=f"One of {_listed(GRAINS)}.", json_schema_extra={"enum": list(GRAINS)}
        ),
    ] = "week",
    cohorts: Annotated[
        int | None,
        Query(
            description=f"How many signup periods, up to the last whole one before `as_of` (default "
            f"{DEFAULT_COHORTS}, or all the grain has when fewer; at most {_most_per_grain()}).",
            json_schema_extra={"minimum": 1, "maximum": MAX_COHORTS["day"]},
        ),
    ] = None,
    periods: Annotated[
        int | None,
        Query(
            description=f"Period offsets per cohort (0 is the signup period; default {DEFAULT_PERIODS}, "
            "or all the grain has when fewer).",
            json_schema_extra={"minimum": 1, "maximum": MAX_COHORTS["day"]},
        ),
    ] = None,
    mode: Annotated[
        str,
        Query(
            max_length=100,
            description="`on`: active in that period; `on_or_after`: in that period or any later one.",
            json_schema_extra={"enum": list(MODES)},
        ),
    ] = "on",
    if_none_match: IfNoneMatch = None,
) -> Response:
    query = RetentionRequest.parse(grain=grain, cohorts=cohorts, periods=periods, mode=mode)
    result = await run_in_threadpool(CohortQuery(context(request).dbs).retention, query)
    return _without_generated_at(request, result)


_ACTIVITY_TEXT = (
    "Daily active users for the `days` days before `as_of`, oldest first: distinct users active that UTC "
    "day (`dau`), in the 7 days ending that day (`wau`) and in the 30 days ending that day (`mau`). A bad "
    "value: 422 with a sentence."
)


@router.get("/activity", response_model=ActivityResult, **_described("Daily active users", _ACTIVITY_TEXT))
async def activity(
    request: Request,
    _: AnalyticsReader,
    days: Annotated[
        int,
        Query(
            description="How many days, up to the day before `as_of`.",
            json_schema_extra={"minimum": 1, "maximum": MAX_ACTIVITY_DAYS},
        ),
    ] = DEFAULT_ACTIVITY_DAYS,
    if_none_match: IfNoneMatch = None,
) -> Response:
    if not 1 <= days <= MAX_ACTIVITY_DAYS:
        raise unprocessable(f"“days” must be from 1 to {MAX_ACTIVITY_DAYS}, not {days}.")
    result = await run_in_threadpool(CohortQuery(context(request).dbs).activity, days)
    return _without_generated_at(request, result)

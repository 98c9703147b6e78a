"""Analytics KPIs (users, vendors, content for analysts; revenue for finance and admin) and report queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

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
from nexus_refserver.api.models import (
    ContentAnalytics,
    ReportResult,
    RevenueAnalytics,
    UserAnalytics,
    VendorAnalytics,
)
from nexus_refserver.auth import Principal
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
    # the same figures keep their ETag: generated_at is left out of it
    etag = etag_for_body(json_body({key: value for key, value in result.items() if key != "generated_at"}))
    return json_response(request, result, etag=etag)

"""Analytics KPIs: users, vendors, content for analysts; revenue for finance and admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nexus_refserver.api.http import IfNoneMatch, json_response, read_route, require
from nexus_refserver.api.models import ContentAnalytics, RevenueAnalytics, UserAnalytics, VendorAnalytics
from nexus_refserver.auth import Principal
from nexus_refserver.roles import Permission

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

"""Monitoring: the service registry, API health, database health and sync quality of the simulated estate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nexus_refserver.api.http import (
    IfNoneMatch,
    context,
    etag_for_body,
    json_body,
    json_response,
    read_route,
    require,
)
from nexus_refserver.api.models import ApiHealth, DatabaseHealth, ServiceRegistry, SyncQuality
from nexus_refserver.auth import Principal
from nexus_refserver.databases import rfc3339
from nexus_refserver.roles import Permission

router = APIRouter(prefix="/monitoring", tags=["monitoring"])

Reader = Annotated[Principal, Depends(require(Permission.MONITORING_READ))]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/services",
    response_model=ServiceRegistry,
    **read_route(Permission.MONITORING_READ, "The monitored services and their probe URLs", extension=True),
)
async def services(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    items = context(request).estate.services(_base_url(request))
    # the registry only changes on restart, so its ETag stays stable while generated_at does not matter
    registry = ServiceRegistry.model_validate({"generated_at": rfc3339(datetime.now(UTC)), "items": items})
    return json_response(request, registry, etag=etag_for_body(json_body({"items": items})))


@router.get("/api/health", response_model=ApiHealth, **read_route(Permission.MONITORING_READ, "API health"))
async def api_health(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, ApiHealth.model_validate(context(request).estate.api_health()))


@router.get(
    "/database/health",
    response_model=DatabaseHealth,
    **read_route(Permission.MONITORING_READ, "Database health"),
)
async def database_health(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, DatabaseHealth.model_validate(context(request).estate.database_health()))


@router.get(
    "/sync/quality", response_model=SyncQuality, **read_route(Permission.MONITORING_READ, "Sync quality")
)
async def sync_quality(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    return json_response(request, SyncQuality.model_validate(context(request).estate.sync_quality()))

"""HTTP routes of the estate: each service's health and metrics endpoints, and the fault-control endpoint."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

import fastapi
from fastapi import Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from nexus_refserver.telemetry.faults import FaultError
from nexus_refserver.telemetry.http_faults import FaultyResponse, error_instead, problem_body

if TYPE_CHECKING:
    from nexus_refserver.telemetry.estate import Estate

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        json.loads(problem_body(status, title, detail)), status_code=status, media_type=PROBLEM
    )


def service_endpoint(estate: Estate, name: str, which: str) -> fastapi.Response:
    """One of a service's four endpoints (`health`, `live`, `ready`, `metrics`), faults applied."""
    if name not in estate.sims:
        return problem(404, "Not Found", f"no service named {name!r}")
    failure = error_instead(estate.faults, name)
    if failure is not None:
        status, body = failure
        if status == 503 and which != "metrics":
            _, health = estate.health(name)
            body = json.dumps(health).encode()
            return FaultyResponse(estate.faults, name, body, 503, "application/json")
        return FaultyResponse(estate.faults, name, body, status, PROBLEM)
    if which == "metrics":
        return FaultyResponse(estate.faults, name, estate.metrics_text(name), 200, CONTENT_TYPE_LATEST)
    handler = {"health": estate.health, "live": estate.liveness, "ready": estate.readiness}[which]
    status, body_dict = handler(name)
    return FaultyResponse(estate.faults, name, json.dumps(body_dict).encode(), status, "application/json")


SERVICE_PREFIX = "/svc/"
_ENDPOINT_SUFFIXES = {
    "health": "health",
    "health/live": "live",
    "health/ready": "ready",
    "metrics": "metrics",
}


class ServiceEndpoints:
    """The four endpoints of every service as a bare ASGI app, without FastAPI's routing and validation.

    The estate's fault middleware hands `/svc/...` requests straight to it: a probe fan-out is 44-176
    requests at once, and the reference server's per-request cost is what a latency benchmark measures.
    """

    def __init__(self, estate: Estate) -> None:
        self.estate = estate

    @staticmethod
    def match(scope: MutableMapping[str, Any]) -> tuple[str, str] | None:
        """(service name, endpoint) for a GET of `/svc/{name}/<endpoint>`, else None."""
        path: str = scope["path"]
        if scope.get("method") != "GET" or not path.startswith(SERVICE_PREFIX):
            return None
        name, slash, suffix = path[len(SERVICE_PREFIX) :].partition("/")
        which = _ENDPOINT_SUFFIXES.get(suffix)
        if not name or not slash or which is None:
            return None
        return name, which

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        matched = self.match(scope) if scope["type"] == "http" else None
        if matched is None:
            await problem(404, "Not Found", "no such endpoint")(scope, receive, send)
            return
        await service_endpoint(self.estate, *matched)(scope, receive, send)


def service_router(estate: Estate) -> fastapi.APIRouter:
    """The same endpoints as FastAPI routes; an app with the estate's middleware never reaches them,
    because the middleware answers `/svc/...` through `ServiceEndpoints` first."""
    router = fastapi.APIRouter(prefix="/svc", tags=["estate"], include_in_schema=False)

    @router.get("/{name}/health")
    async def health(name: str) -> fastapi.Response:
        return service_endpoint(estate, name, "health")

    @router.get("/{name}/health/live")
    async def live(name: str) -> fastapi.Response:
        return service_endpoint(estate, name, "live")

    @router.get("/{name}/health/ready")
    async def ready(name: str) -> fastapi.Response:
        return service_endpoint(estate, name, "ready")

    @router.get("/{name}/metrics")
    async def metrics(name: str) -> fastapi.Response:
        return service_endpoint(estate, name, "metrics")

    return router


def is_loopback(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return request.client.host == "localhost"


async def loopback_only(request: Request) -> None:
    """The dependency of every test control router: refuses every client but loopback ones."""
    if not is_loopback(request):
        raise fastapi.HTTPException(403, "fault control is only accepted from loopback clients")


def control_router() -> fastapi.APIRouter:
    """A router under `/_control`, out of the contract, that refuses every client but loopback ones."""
    return fastapi.APIRouter(
        prefix="/_control",
        tags=["control"],
        include_in_schema=False,
        dependencies=[fastapi.Depends(loopback_only)],
    )


def fault_control_router(estate: Estate) -> fastapi.APIRouter:
    """`/_control/faults`: list, add and clear faults. Refuses every client but loopback ones."""

    router = control_router()

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        now = estate.clock.now()
        # fault times are simulated epoch seconds; `now` and `clock_factor` relate them to real time
        return {
            "now": now,
            "clock_factor": estate.clock.clock_factor,
            "items": [f.to_dict(now) for f in estate.faults.all()],
        }

    @router.post("/faults", status_code=201)
    async def add_fault(request: Request) -> fastapi.Response:
        try:
            payload = await request.json()
        except ValueError:
            return problem(400, "Bad Request", "the body must be a JSON object")
        if not isinstance(payload, dict):
            return problem(400, "Bad Request", "the body must be a JSON object")
        unknown = set(payload) - {"scope", "kind", "value", "duration_s", "delay_s"}
        if unknown:
            return problem(422, "Unprocessable Content", f"unknown fields: {', '.join(sorted(unknown))}")
        try:
            fault = estate.faults.add(
                payload.get("scope"),  # type: ignore[arg-type]
                payload.get("kind"),  # type: ignore[arg-type]
                payload.get("value"),
                duration_s=payload.get("duration_s"),
                delay_s=payload.get("delay_s"),
            )
        except FaultError as error:
            return problem(422, "Unprocessable Content", str(error))
        return JSONResponse({"id": fault.id, **fault.to_dict(estate.clock.now())}, status_code=201)

    @router.delete("/faults")
    async def clear_faults() -> dict[str, int]:
        return {"removed": estate.faults.clear()}

    @router.delete("/faults/{fault_id}")
    async def remove_fault(fault_id: str) -> fastapi.Response:
        if not estate.faults.remove(fault_id):
            return problem(404, "Not Found", f"no fault with id {fault_id!r}")
        return fastapi.Response(status_code=204)

    return router

"""`/_control/attacks`: start a named attack in the security streams now, for tests and demos. Mounted
only with `--enable-fault-control`, and like the fault control it refuses every client but loopback ones."""

from __future__ import annotations

import math
from typing import Any

import fastapi
from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from nexus_refserver.security_attacks import AttackError
from nexus_refserver.security_feed import MAX_SPEED, SecurityFeed
from nexus_refserver.telemetry.routes import control_router, problem


def attack_control_router(feed: SecurityFeed) -> fastapi.APIRouter:
    """POST `{"kind": "brute_force", "speed": 1}` starts the attack; GET lists the ones started."""

    router = control_router()

    @router.get("/attacks")
    async def list_attacks() -> dict[str, Any]:
        return {"items": list(feed.started)}

    @router.post("/attacks", status_code=201)
    async def start_attack(request: Request) -> fastapi.Response:
        try:
            payload = await request.json()
        except ValueError:
            return problem(400, "Bad Request", "the body must be a JSON object")
        if not isinstance(payload, dict):
            return problem(400, "Bad Request", "the body must be a JSON object")
        unknown = set(payload) - {"kind", "speed"}
        if unknown:
            return problem(422, "Unprocessable Content", f"unknown fields: {', '.join(sorted(unknown))}")
        speed = payload.get("speed", 1)
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not math.isfinite(speed):
            return problem(422, "Unprocessable Content", "speed must be a number")
        if not 1 <= speed <= MAX_SPEED:
            return problem(422, "Unprocessable Content", f"speed must be between 1 and {MAX_SPEED:g}")
        try:
            started = await run_in_threadpool(feed.start_attack, str(payload.get("kind")), float(speed))
        except AttackError as error:
            return problem(422, "Unprocessable Content", str(error))
        return JSONResponse(started, status_code=201)

    return router

"""Faults as an HTTP client sees them, over a real socket, plus the fault-control endpoint.

These run the estate's routers in a small app served by uvicorn inside the test's event loop on
127.0.0.1, so truncated bodies and hangs behave as they do on the wire. The full server subprocess
is exercised in test_faults_server.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import fastapi
import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi.responses import StreamingResponse

from nexus_refserver.clock import SimClock
from nexus_refserver.telemetry import Estate

ORDERS = "puabo-nuki-order-processor"
pytestmark = pytest.mark.asyncio


def estate_app(estate: Estate) -> fastapi.FastAPI:
    app = fastapi.FastAPI()
    app.include_router(estate.router())
    app.include_router(estate.control_router())

    @app.get("/monitoring/api/health")
    async def api_health() -> dict:
        return estate.api_health()

    @app.get("/alerts/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            for seq in (1, 2):
                yield f"event: alert\nid: {seq}\ndata: {{}}\n\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    app.add_middleware(estate.api_fault_middleware(), estate=estate)
    return app


@contextlib.asynccontextmanager
async def serve(app: fastapi.FastAPI) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True  # clients are closed by now; skip the graceful waits
        await asyncio.wait_for(task, 10)


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[Estate, httpx.AsyncClient]]:
    estate = Estate(SimClock(60.0), seed=5)
    async with serve(estate_app(estate)) as base_url:
        await estate.start(base_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
            try:
                yield estate, client
            finally:
                await estate.stop()


async def add_fault(client: httpx.AsyncClient, **fault: object) -> str:
    response = await client.post("/_control/faults", json=fault)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_healthy_service_answers_health_live_ready_and_metrics(served) -> None:
    _, client = served
    health = await client.get(f"/svc/{ORDERS}/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "up" and body["service"] == ORDERS
    assert set(body) == {"status", "service", "version", "uptime_s", "checks"}
    assert body["checks"]["postgres:marketplace"]["status"] == "up"
    assert (await client.get(f"/svc/{ORDERS}/health/live")).status_code == 200
    ready = await client.get(f"/svc/{ORDERS}/health/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    metrics = await client.get(f"/svc/{ORDERS}/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "http_request_duration_seconds_bucket" in metrics.text
    assert (await client.get("/svc/no-such-service/health")).status_code == 404


async def test_latency_fault_delays_the_answer(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="latency_ms", value=400)
    started = time.monotonic()
    response = await client.get(f"/svc/{ORDERS}/health/live")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.38
    started = time.monotonic()
    await client.get("/svc/billing-service/health/live")
    assert time.monotonic() - started < 0.38


async def test_error_rate_fault_answers_5xx_at_that_rate(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="error_rate", value=0.5)
    codes = [(await client.get(f"/svc/{ORDERS}/health/live")).status_code for _ in range(60)]
    assert set(codes) == {200, 500}
    assert 10 <= codes.count(500) <= 50


async def test_down_fault_answers_503_with_a_down_health_body(served) -> None:
    _, client = served
    fault_id = await add_fault(client, scope=ORDERS, kind="down")
    response = await client.get(f"/svc/{ORDERS}/health")
    assert response.status_code == 503 and response.json()["status"] == "down"
    assert (await client.get(f"/svc/{ORDERS}/health/ready")).status_code == 503
    assert (await client.get(f"/svc/{ORDERS}/metrics")).status_code == 503
    assert (await client.delete(f"/_control/faults/{fault_id}")).status_code == 204
    assert (await client.get(f"/svc/{ORDERS}/health")).status_code == 200


async def test_flapping_fault_alternates_between_503_and_200(served) -> None:
    _, client = served
    # 60 simulated seconds at a clock factor of 60: down half a second, up half a second
    await add_fault(client, scope=ORDERS, kind="flapping_s", value=60)
    seen: set[int] = set()
    deadline = time.monotonic() + 5
    while seen != {200, 503} and time.monotonic() < deadline:
        seen.add((await client.get(f"/svc/{ORDERS}/health")).status_code)
        await asyncio.sleep(0.05)
    assert seen == {200, 503}


async def test_slow_body_dribbles_a_complete_body_over_the_given_seconds(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="slow_body_s", value=1.0)
    started = time.monotonic()
    chunks = []
    async with client.stream("GET", f"/svc/{ORDERS}/health") as response:
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
    body = json.loads(b"".join(chunks))
    assert time.monotonic() - started >= 0.9
    assert len(chunks) > 1
    assert body["service"] == ORDERS


async def test_garbage_body_is_not_json_despite_its_content_type(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="garbage_body")
    response = await client.get(f"/svc/{ORDERS}/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.content)


async def test_truncated_body_promises_more_bytes_than_it_sends_then_closes(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="truncated_body")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"/svc/{ORDERS}/metrics")
    assert (await client.get("/svc/billing-service/metrics")).status_code == 200


async def test_wrong_content_type_serves_html(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="wrong_content_type")
    response = await client.get(f"/svc/{ORDERS}/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_hang_never_answers_until_the_client_gives_up(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="hang")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await client.get(f"/svc/{ORDERS}/health", timeout=0.5)
    assert time.monotonic() - started >= 0.45


async def test_a_hanging_request_is_answered_once_the_fault_is_cleared(served) -> None:
    _, client = served
    await add_fault(client, scope=ORDERS, kind="hang")
    pending = asyncio.create_task(client.get(f"/svc/{ORDERS}/health"))
    await asyncio.sleep(0.4)
    assert not pending.done()
    assert (await client.delete("/_control/faults")).json() == {"removed": 1}
    response = await asyncio.wait_for(pending, 5)
    assert response.status_code == 200


async def test_star_scope_hits_every_service_but_not_the_api(served) -> None:
    _, client = served
    await add_fault(client, scope="*", kind="down")
    assert (await client.get("/svc/backend-api/health")).status_code == 503
    assert (await client.get("/svc/pv-keys/health")).status_code == 503
    assert (await client.get("/monitoring/api/health")).status_code == 200


async def test_api_scope_faults_reach_the_api_routes_only(served) -> None:
    estate, client = served
    down = await add_fault(client, scope="api", kind="down")
    response = await client.get("/monitoring/api/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/svc/{ORDERS}/health")).status_code == 200
    await client.delete(f"/_control/faults/{down}")
    await add_fault(client, scope="api", kind="wrong_content_type")
    await add_fault(client, scope="api", kind="latency_ms", value=200)
    started = time.monotonic()
    response = await client.get("/monitoring/api/health")
    assert time.monotonic() - started >= 0.19
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    estate.faults.clear()
    await add_fault(client, scope="api", kind="truncated_body")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/monitoring/api/health")


async def test_api_body_faults_leave_event_streams_intact(served) -> None:
    _, client = served
    await add_fault(client, scope="api", kind="garbage_body")
    response = await client.get("/alerts/stream")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.count("event: alert") == 2
    with pytest.raises(ValueError):
        json.loads((await client.get("/monitoring/api/health")).content)


async def test_faults_with_a_duration_expire_on_simulated_time(served) -> None:
    _, client = served
    # 30 simulated seconds at a clock factor of 60 is half a real second
    await add_fault(client, scope=ORDERS, kind="down", duration_s=30)
    assert (await client.get(f"/svc/{ORDERS}/health")).status_code == 503
    await asyncio.sleep(0.7)
    assert (await client.get(f"/svc/{ORDERS}/health")).status_code == 200
    listed = (await client.get("/_control/faults")).json()["items"]
    assert [f["active"] for f in listed] == [False]


async def test_fault_control_lists_adds_and_removes_faults(served) -> None:
    _, client = served
    first = await add_fault(client, scope=ORDERS, kind="latency_ms", value=100)
    second = await add_fault(client, scope="db:marketplace", kind="replication_lag_s", value=12)
    items = (await client.get("/_control/faults")).json()["items"]
    assert [(f["id"], f["scope"], f["kind"], f["value"]) for f in items] == [
        (first, ORDERS, "latency_ms", 100.0),
        (second, "db:marketplace", "replication_lag_s", 12.0),
    ]
    assert (await client.delete(f"/_control/faults/{first}")).status_code == 204
    assert (await client.delete(f"/_control/faults/{first}")).status_code == 404
    assert [f["id"] for f in (await client.get("/_control/faults")).json()["items"]] == [second]
    assert (await client.delete("/_control/faults")).json() == {"removed": 1}


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"scope": ORDERS, "kind": "explode"}, "unknown fault kind"),
        ({"scope": "nope", "kind": "down"}, "unknown fault scope"),
        ({"scope": ORDERS, "kind": "latency_ms"}, "needs a numeric value"),
        ({"scope": ORDERS, "kind": "error_rate", "value": 5}, "between 0 and 1"),
        ({"scope": ORDERS, "kind": "down", "duration_s": -1}, "must not be negative"),
        ({"scope": ORDERS, "kind": "replication_lag_s", "value": 3}, "database scope"),
        ({"scope": "db:oracle", "kind": "cpu_pct", "value": 3}, "unknown database"),
        ({"scope": ORDERS, "kind": "down", "colour": "red"}, "unknown fields"),
    ],
)
async def test_fault_control_refuses_invalid_faults_with_a_clear_problem(served, fault, message) -> None:
    _, client = served
    response = await client.post("/_control/faults", json=fault)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]


async def test_fault_control_refuses_non_loopback_clients() -> None:
    estate = Estate(SimClock(1.0), seed=5)
    app = estate_app(estate)
    remote = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=remote, base_url="http://estate") as client:
        assert (await client.get("/_control/faults")).status_code == 403
        refused = await client.post("/_control/faults", json={"scope": ORDERS, "kind": "down"})
        assert refused.status_code == 403
        assert (await client.delete("/_control/faults")).status_code == 403
    assert estate.faults.all() == []
    local = httpx.ASGITransport(app=app, client=("::1", 40000))
    async with httpx.AsyncClient(transport=local, base_url="http://estate") as client:
        assert (await client.get("/_control/faults")).status_code == 200

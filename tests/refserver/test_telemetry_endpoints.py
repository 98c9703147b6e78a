"""The estate's service endpoints answered ahead of FastAPI's routing: the same answers as the routes,
and everything that is not one of the four endpoints still reaches the app."""

from __future__ import annotations

import httpx

from nexus_refserver.clock import SimClock
from nexus_refserver.telemetry import Estate
from nexus_refserver.telemetry.routes import ServiceEndpoints
from tests.support.refserver import RefServer

ORDERS = "puabo-nuki-order-processor"


def scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path}


def test_only_gets_of_the_four_endpoints_take_the_fast_path() -> None:
    match = ServiceEndpoints.match
    assert match(scope("GET", f"/svc/{ORDERS}/health")) == (ORDERS, "health")
    assert match(scope("GET", f"/svc/{ORDERS}/health/live")) == (ORDERS, "live")
    assert match(scope("GET", f"/svc/{ORDERS}/health/ready")) == (ORDERS, "ready")
    assert match(scope("GET", f"/svc/{ORDERS}/metrics")) == (ORDERS, "metrics")
    assert match(scope("POST", f"/svc/{ORDERS}/health")) is None
    assert match(scope("GET", f"/svc/{ORDERS}/health/other")) is None
    assert match(scope("GET", f"/svc/{ORDERS}")) is None
    assert match(scope("GET", "/svc//health")) is None
    assert match(scope("GET", "/monitoring/services")) is None


def test_metrics_text_is_rendered_once_per_tick() -> None:
    estate = Estate(SimClock(1.0), seed=3)
    first = estate.metrics_text(ORDERS)
    assert estate.metrics_text(ORDERS) is first, "the same tick serves the rendered text again"
    estate.tick(estate.clock.now() + 5.0)
    after_tick = estate.metrics_text(ORDERS)
    assert after_tick is not first and after_tick != first, "a tick moves the counters"


def test_the_server_answers_the_estate_endpoints_and_leaves_the_rest_to_the_app(
    refserver_session: RefServer,
) -> None:
    base = refserver_session.base_url
    with httpx.Client(base_url=base, timeout=10, trust_env=False) as client:
        health = client.get(f"/svc/{ORDERS}/health")
        assert health.status_code == 200
        assert health.headers["content-type"] == "application/json"
        body = health.json()
        assert body["service"] == ORDERS and body["status"] in ("up", "degraded")
        assert client.get(f"/svc/{ORDERS}/health/ready").json()["ready"] in (True, False)
        metrics = client.get(f"/svc/{ORDERS}/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "http_request_duration_seconds_bucket" in metrics.text
        unknown = client.get("/svc/no-such-service/health")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert "no service named 'no-such-service'" in unknown.json()["detail"]
        assert client.post(f"/svc/{ORDERS}/health").status_code == 405, "other methods reach FastAPI"
        assert client.get(f"/svc/{ORDERS}/nothing").status_code == 404

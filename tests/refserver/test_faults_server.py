"""Faults, metrics and alerts of the real reference server, over real HTTP on 127.0.0.1.

One server per module with a clock factor of 60 (a simulated minute per real second), so rules that
must hold "for 5 minutes" fire in about five seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from nexus_refserver.telemetry.histogram import quantile_from_buckets
from tests.support.refserver import RefServer

ORDERS = "puabo-nuki-order-processor"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    refserver = RefServer(
        tmp_path_factory.mktemp("refserver-faults"),
        "--clock-factor", "60", "--scenario", "none", "--enable-fault-control",
        "--scale", "0.02", "--seed", "3",
    )  # fmt: skip
    refserver.start()
    yield refserver
    refserver.stop()


@pytest.fixture
def client(server: RefServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        yield http
        # a test's faults never outlive it (a forgotten hang would hold every later request)
        http.delete("/_control/faults").raise_for_status()


def add_fault(client: httpx.Client, **fault: object) -> str:
    response = client.post("/_control/faults", json=fault)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def bearer(client: httpx.Client) -> dict[str, str]:
    response = client.post("/auth/login", json={"email": "admin@nexus.test", "password": "nexus-demo"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def duration_buckets(client: httpx.Client, service: str) -> list[float]:
    """Cumulative bucket counts (summed over endpoints) in ascending `le` order."""
    text = client.get(f"/svc/{service}/metrics").text
    by_le: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "http_request_duration_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    by_le[le] = by_le.get(le, 0.0) + sample.value
    return [by_le[le] for le in sorted(by_le)]


def p95_ms_between(before: list[float], after: list[float]) -> float:
    cumulative = [a - b for a, b in zip(after, before, strict=True)]
    per_bucket = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, len(cumulative))]
    return quantile_from_buckets(0.95, per_bucket) * 1000.0


def test_the_registry_lists_44_services_whose_urls_answer(client: httpx.Client) -> None:
    services = client.get("/monitoring/services", headers=bearer(client)).json()["items"]
    assert len(services) == 44
    for service in services[:5]:
        assert httpx.get(service["health_url"]).status_code == 200
        assert httpx.get(service["ready_url"]).status_code == 200
        assert "http_requests_total" in httpx.get(service["metrics_url"]).text


def test_latency_fault_is_felt_by_clients_and_moves_the_histogram_p95(client: httpx.Client) -> None:
    before = duration_buckets(client, "ledger-mgr")
    add_fault(client, scope="ledger-mgr", kind="latency_ms", value=800)
    started = time.monotonic()
    assert client.get("/svc/ledger-mgr/health").status_code == 200
    assert time.monotonic() - started >= 0.78
    time.sleep(2.5)  # two and a half simulated minutes of slow traffic
    after = duration_buckets(client, "ledger-mgr")
    assert p95_ms_between(before, after) > 500.0
    quiet_before = duration_buckets(client, "key-service")
    time.sleep(1.2)
    assert p95_ms_between(quiet_before, duration_buckets(client, "key-service")) < 100.0


def test_error_rate_fault_gives_5xx_answers(client: httpx.Client) -> None:
    add_fault(client, scope="invoice-gen", kind="error_rate", value=1.0)
    response = client.get("/svc/invoice-gen/health")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


def test_down_fault_gives_503_and_a_down_body(client: httpx.Client) -> None:
    add_fault(client, scope="scheduler", kind="down")
    response = client.get("/svc/scheduler/health")
    assert response.status_code == 503 and response.json()["status"] == "down"
    assert client.get("/svc/scheduler/health/ready").status_code == 503


def test_flapping_fault_alternates_503_and_200(client: httpx.Client) -> None:
    add_fault(client, scope="glitch", kind="flapping_s", value=60)
    seen: set[int] = set()
    wait_until(
        lambda: seen.add(client.get("/svc/glitch/health").status_code) or seen == {200, 503}, 5, "flaps"
    )


def test_slow_body_arrives_complete_but_late(client: httpx.Client) -> None:
    add_fault(client, scope="pv-keys", kind="slow_body_s", value=1.0)
    started = time.monotonic()
    response = client.get("/svc/pv-keys/health")
    assert time.monotonic() - started >= 0.9
    assert response.json()["service"] == "pv-keys"


def test_garbage_body_does_not_parse(client: httpx.Client) -> None:
    add_fault(client, scope="glitch", kind="garbage_body")
    response = client.get("/svc/glitch/health")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_truncated_body_breaks_the_connection(client: httpx.Client) -> None:
    add_fault(client, scope="glitch", kind="truncated_body")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/svc/glitch/metrics")


def test_wrong_content_type_is_html(client: httpx.Client) -> None:
    add_fault(client, scope="glitch", kind="wrong_content_type")
    assert client.get("/svc/glitch/health").headers["content-type"].startswith("text/html")


def test_hang_times_out_the_client_and_others_still_answer(client: httpx.Client) -> None:
    add_fault(client, scope="glitch", kind="hang")
    with pytest.raises(httpx.ReadTimeout):
        client.get("/svc/glitch/health", timeout=0.5)
    assert client.get("/svc/pv-keys/health").status_code == 200


def test_api_scope_fault_hits_the_nexus_api(client: httpx.Client) -> None:
    headers = bearer(client)
    add_fault(client, scope="api", kind="error_rate", value=1.0)
    response = client.get("/monitoring/api/health", headers=headers)
    assert response.status_code == 500
    assert client.get("/svc/glitch/health").status_code == 200


def test_monitoring_endpoints_move_with_faults(client: httpx.Client) -> None:
    headers = bearer(client)
    add_fault(client, scope="notification-service", kind="latency_ms", value=1500)
    add_fault(client, scope="db:users", kind="replication_lag_s", value=20)
    time.sleep(1.5)
    slowest = client.get("/monitoring/api/health", headers=headers).json()["slowest_endpoints"]
    assert slowest[0]["service"] == "notification-service" and slowest[0]["p95_ms"] > 1000
    databases = {
        d["name"]: d for d in client.get("/monitoring/database/health", headers=headers).json()["databases"]
    }
    assert databases["users-replica"]["replication_lag_s"] >= 20.0
    assert databases["users-replica"]["status"] == "degraded"


def test_latency_alert_goes_pending_firing_and_resolved_through_get_alerts(client: httpx.Client) -> None:
    headers = bearer(client)

    def alert_state() -> str | None:
        items = client.get("/alerts", headers=headers).json()["items"]
        states = [
            a["state"] for a in items if a["rule"] == "ApiLatencyP95High" and a["service"] == "chat-service"
        ]
        return states[0] if states else None

    fault_id = add_fault(client, scope="chat-service", kind="latency_ms", value=700)
    started = time.monotonic()
    assert wait_until(lambda: alert_state() == "pending", 4, "pending")
    assert wait_until(lambda: alert_state() == "firing", 12, "firing")
    assert time.monotonic() - started >= 4.0  # held five simulated minutes
    client.delete(f"/_control/faults/{fault_id}").raise_for_status()
    assert wait_until(lambda: alert_state() == "resolved", 6, "resolved")


def test_default_scenario_raises_its_alerts_within_the_first_minutes(tmp_path: Path) -> None:
    refserver = RefServer(tmp_path, "--clock-factor", "60", "--scenario", "default", "--scale", "0.02")
    refserver.start()
    try:
        with httpx.Client(base_url=refserver.base_url, timeout=10.0) as http:
            headers = bearer(http)

            ever_firing: set[str] = set()

            def all_fired() -> bool:
                items = http.get("/alerts", headers=headers).json()["items"]
                ever_firing.update(f"{a['rule']}/{a['service']}" for a in items if a["state"] == "firing")
                return wanted <= ever_firing

            wanted = {
                f"ScaleOutLatency/{ORDERS}",
                f"ScaleOutErrorRate/{ORDERS}",
                f"ApiErrorRateHigh/{ORDERS}",
                f"ApiLatencyP95High/{ORDERS}",
                "ReplicationLagHigh/postgres-marketplace-replica",
            }
            # the last of them needs about 6 simulated minutes: 6 s at a clock factor of 60
            wait_until(all_fired, 15, f"firing {wanted}")
            assert http.get("/_control/faults").status_code == 404  # fault control is off by default
    finally:
        refserver.stop()

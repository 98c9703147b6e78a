"""--multi-port: every service's endpoints on their own 127.0.0.1 port, seed port + offset."""

from __future__ import annotations

import asyncio
import random
import socket
import time

import httpx
import pytest

from nexus_refserver.clock import SimClock
from nexus_refserver.telemetry import CATALOG, Estate
from tests.support.refserver import RefServer


def free_port_offset() -> int:
    """An offset at which all 44 service ports are free right now, below the ephemeral port range
    (from 32768), so no outgoing connection can take a port while its service is down."""
    for _ in range(50):
        offset = random.randrange(20000, 29600, 100)
        probes = []
        try:
            for spec in CATALOG:
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", spec.port + offset))
            return offset
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no free port range found")


@pytest.mark.asyncio
async def test_each_service_answers_on_its_own_port_and_faults_apply_there() -> None:
    offset = free_port_offset()
    estate = Estate(SimClock(60.0), multi_port=True, port_offset=offset)
    await estate.start("http://127.0.0.1:1")
    try:
        services = {s["name"]: s for s in estate.services("http://127.0.0.1:1")}
        assert services["backend-api"]["health_url"] == f"http://127.0.0.1:{3000 + offset}/health"
        async with httpx.AsyncClient(timeout=5.0) as client:
            for service in services.values():
                assert (await client.get(service["live_url"])).status_code == 200
            orders = services["puabo-nuki-order-processor"]
            assert "http_request_duration_seconds_bucket" in (await client.get(orders["metrics_url"])).text
            estate.faults.add("puabo-nuki-order-processor", "latency_ms", 300)
            assert (await client.get(orders["ready_url"])).elapsed.total_seconds() >= 0.29
    finally:
        await estate.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{3000 + offset}/health", timeout=2.0)


@pytest.mark.asyncio
async def test_a_down_service_refuses_connections_on_its_port_until_it_is_back() -> None:
    offset = free_port_offset()
    estate = Estate(SimClock(60.0), multi_port=True, port_offset=offset)
    await estate.start("http://127.0.0.1:1")
    url = f"http://127.0.0.1:{3033 + offset}/health"  # ledger-mgr
    # the servers run in this test's event loop: only an async client may talk to them
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            assert (await client.get(url)).status_code == 200
            fault = estate.faults.add("ledger-mgr", "down")
            await wait_for_connect_result(url, refused=True)
            assert (await client.get(f"http://127.0.0.1:{3035 + offset}/health")).status_code == 200
            estate.faults.remove(fault.id)
            await wait_for_connect_result(url, refused=False)
            assert (await client.get(url)).json()["status"] in {"up", "degraded"}
    finally:
        await estate.stop()


async def wait_for_connect_result(url: str, *, refused: bool, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        while True:
            try:
                await client.get(url)
                if not refused:
                    return
            except httpx.ConnectError:
                if refused:
                    return
            assert time.monotonic() < deadline, f"{url} still {'answers' if refused else 'refuses'}"
            await asyncio.sleep(0.05)


@pytest.mark.slow
def test_the_server_registry_points_at_the_per_service_ports(tmp_path) -> None:
    offset = free_port_offset()
    server = RefServer(
        tmp_path, "--scenario", "none", "--scale", "0.02", "--multi-port", "--port-offset", str(offset)
    )
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            login = client.post("/auth/login", json={"email": "viewer@nexus.test", "password": "nexus-demo"})
            token = login.json()["access_token"]
            items = client.get("/monitoring/services", headers={"Authorization": f"Bearer {token}"}).json()[
                "items"
            ]
            assert len(items) == 44
            for item in items:
                assert item["health_url"] == f"http://127.0.0.1:{item['port'] + offset}/health"
            health = client.get(items[0]["health_url"])
            assert health.status_code == 200 and health.json()["service"] == items[0]["name"]
            assert client.get(f"/svc/{items[0]['name']}/health").status_code == 200
    finally:
        server.stop()

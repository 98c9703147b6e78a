"""Reference server throughput and the 1M-user generator.

Rows: requests per second for GET /monitoring/services (the console's registry poll) and for one
service's /metrics, each against a trivial Starlette JSON route served the same way (uvicorn on a socket
bound by the caller, one keep-alive client, sequential requests) in the same run as the baseline; and
the seconds to generate 1M users into a fresh SQLite file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REQUEST_BUDGET_S = 3.0
MAX_REQUESTS = 5000

BASELINE_SERVER = """
import socket
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def static(request):
    return JSONResponse({"status": "up", "items": list(range(20))})

app = Starlette(routes=[Route("/static", static)])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
"""


def _start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.strip().split()[-1]


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _requests_per_second(client: httpx.Client, path: str) -> float:
    for _ in range(20):  # warm-up
        client.get(path).raise_for_status()
    count = 0
    started = time.perf_counter()
    while count < MAX_REQUESTS and time.perf_counter() - started < REQUEST_BUDGET_S:
        client.get(path).raise_for_status()
        count += 1
    return count / (time.perf_counter() - started)


def _baseline_rps() -> float:
    proc, base = _start([sys.executable, "-c", BASELINE_SERVER])
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            return _requests_per_second(client, "/static")
    finally:
        _stop(proc)


def _refserver_rps(data_dir: Path) -> tuple[float, float]:
    command = [
        sys.executable, "-m", "nexus_refserver", "--port", "0", "--data-dir", str(data_dir),
        "--scale", "0.002", "--scenario", "none", "--log-level", "warning",
    ]  # fmt: skip
    proc, base = _start(command)
    try:
        login = httpx.post(f"{base}/auth/login", json={"email": "admin@nexus.test", "password": "nexus-demo"})
        token = login.json()["access_token"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            services = _requests_per_second(client, "/monitoring/services")
            metrics = _requests_per_second(client, "/svc/auth-service/metrics")
        return services, metrics
    finally:
        _stop(proc)


def _generator_seconds(users: int = 1_000_000) -> float:
    from nexus_refserver.databases import make_engine
    from nexus_refserver.generator import generate_users
    from nexus_refserver.schema import users_metadata

    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'users.sqlite3'}")
        users_metadata.create_all(engine)
        started = time.perf_counter()
        generate_users(engine, seed=42, count=users)
        elapsed = time.perf_counter() - started
        engine.dispose()
    return elapsed


def run() -> list[dict]:
    baseline = {"name": "baseline_static_json_rps", "value": _baseline_rps()}
    with tempfile.TemporaryDirectory() as directory:
        services_rps, metrics_rps = _refserver_rps(Path(directory))
    return [
        {
            "name": "refserver_services_rps",
            "value": services_rps,
            "unit": "req/s",
            "target": "informational",
            "baseline": baseline,
            "note": "GET /monitoring/services, bearer auth, one keep-alive client",
        },
        {
            "name": "refserver_metrics_rps",
            "value": metrics_rps,
            "unit": "req/s",
            "target": "informational",
            "baseline": baseline,
            "note": "GET /svc/auth-service/metrics (Prometheus text)",
        },
        {
            "name": "generator_1m_users_s",
            "value": _generator_seconds(),
            "unit": "s",
            "target": "informational",
            "note": "1,000,000 users into a fresh SQLite file (WAL, batched executemany)",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

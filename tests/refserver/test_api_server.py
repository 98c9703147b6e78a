"""The server process: its first stdout line, fast SIGTERM shutdown, and data reused across restarts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login, new_key
from tests.support.refserver import RefServer


def test_first_line_announces_the_url_and_sigterm_stops_within_two_seconds(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nexus_refserver",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
            *SMALL_SERVER_ARGS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert re.fullmatch(r"nexus-refserver listening on http://127\.0\.0\.1:\d+\n", line), line
        base = line.split()[-1]
        assert httpx.get(f"{base}/auth/me").status_code == 401
        # an open SSE stream must not hold shutdown up
        token = login(base, "viewer")["access_token"]
        with (
            httpx.Client(base_url=base, timeout=10) as client,
            client.stream("GET", "/alerts/stream", headers=bearer(token)) as stream,
        ):
            assert stream.status_code == 200
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(5)
            elapsed = time.monotonic() - started
        assert proc.returncode == 0
        assert elapsed < 2.0, f"shutdown took {elapsed:.2f} s"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_data_and_actions_survive_a_restart(refserver_factory: Callable[..., RefServer]) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS)
    token = login(server.base_url, "admin")["access_token"]
    user = httpx.get(f"{server.base_url}/admin/users/5", headers=bearer(token)).json()
    changed = httpx.patch(
        f"{server.base_url}/admin/users/5",
        json={"action": "reset_password", "reason": "locked out"},
        headers={**bearer(token), "Idempotency-Key": "restart-key", "If-Match": f'"v{user["version"]}"'},
    )
    assert changed.status_code == 200

    server.restart()
    token = login(server.base_url, "admin")["access_token"]
    after = httpx.get(f"{server.base_url}/admin/users/5", headers=bearer(token)).json()
    # not regenerated: the change is still there, and so is the key's stored response
    assert after["version"] == user["version"] + 1
    assert after["password_reset_at"] is not None
    replay = httpx.patch(
        f"{server.base_url}/admin/users/5",
        json={"action": "reset_password", "reason": "locked out"},
        headers={**bearer(token), "Idempotency-Key": "restart-key", "If-Match": f'"v{user["version"]}"'},
    )
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    fresh = httpx.patch(
        f"{server.base_url}/admin/users/5",
        json={"action": "verify_email", "reason": "checked"},
        headers={**bearer(token), "Idempotency-Key": new_key(), "If-Match": f'"v{after["version"]}"'},
    )
    assert fresh.status_code in (200, 409)  # 409 when the generator made this user verified already


def test_api_faults_apply_to_nexus_routes(refserver_session: RefServer) -> None:
    base = refserver_session.base_url
    token = login(base, "viewer")["access_token"]
    fault = httpx.post(f"{base}/_control/faults", json={"scope": "api", "kind": "error_rate", "value": 1.0})
    assert fault.status_code == 201, fault.text
    try:
        response = httpx.get(f"{base}/monitoring/api/health", headers=bearer(token))
        assert response.status_code >= 500
    finally:
        httpx.delete(f"{base}/_control/faults/{fault.json()['id']}")
    assert httpx.get(f"{base}/monitoring/api/health", headers=bearer(token)).status_code == 200

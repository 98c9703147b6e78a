"""Helpers for the security-event tests: SQL over a reference server's own database files, the attack
control endpoint, and walking a stream page by page."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.support.refserver import RefServer


def open_db(server: RefServer, name: str = "nexus") -> sqlite3.Connection:
    """A read-only connection to one of the server's SQLite files, rows addressable by column name."""
    conn = sqlite3.connect(f"file:{server.data_dir / (name + '.sqlite3')}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def sql_time(value: datetime) -> str:
    """A time as the server's SQLite files store it (naive UTC text, microseconds), for comparisons."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def start_attack(server: RefServer, kind: str, speed: float = 100.0) -> dict[str, Any]:
    response = httpx.post(
        f"{server.base_url}/_control/attacks", json={"kind": kind, "speed": speed}, timeout=15
    )
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the server to write the events"
        time.sleep(0.2)


def walk(client: httpx.Client, stream: str, since: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Every event of the stream from `since` until the server says there is no more."""
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"since": since, "limit": limit}
    while True:
        response = client.get(f"/security/events/{stream}", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        events.extend(body["events"])
        if not body["more"]:
            return events
        params = {"after": body["next"], "limit": limit}

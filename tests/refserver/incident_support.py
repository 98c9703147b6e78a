"""Helpers for the incident tests: declare an incident and write to it with Idempotency-Key and If-Match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.refserver.conftest import new_key


def declare(client: httpx.Client, **fields: object) -> dict[str, Any]:
    body = {"title": "checkout latency", "severity": "high", **fields}
    response = client.post("/incidents", json=body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 201, response.text
    return response.json()


def write(
    client: httpx.Client,
    method: str,
    path: str,
    version: int | None,
    body: object = None,
    *,
    key: str | None = None,
) -> httpx.Response:
    """One write with a fresh (or the given) Idempotency-Key and If-Match `"v<version>"` (none if None)."""
    headers = {"Idempotency-Key": key or new_key()}
    if version is not None:
        headers["If-Match"] = f'"v{version}"'
    return client.request(method, path, json=body, headers=headers)


def change(client: httpx.Client, incident: dict[str, Any], **fields: object) -> httpx.Response:
    return write(client, "PATCH", f"/incidents/{incident['id']}", incident["version"], fields)


def changed(client: httpx.Client, incident: dict[str, Any], **fields: object) -> dict[str, Any]:
    response = change(client, incident, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def timeline(client: httpx.Client, incident_id: int, **params: object) -> list[dict[str, Any]]:
    response = client.get(f"/incidents/{incident_id}/timeline", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def minutes_from_now(minutes: float) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)

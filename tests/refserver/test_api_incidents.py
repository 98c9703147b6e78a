"""Incidents: open, link alerts, update with If-Match, and the timeline of alerts, notes and statuses."""

from __future__ import annotations

import httpx

from tests.refserver.conftest import new_key


def open_incident(client: httpx.Client, **fields: object) -> httpx.Response:
    body = {"title": "checkout latency", "severity": "high", **fields}
    return client.post("/incidents", json=body, headers={"Idempotency-Key": new_key()})


def test_opening_an_incident_starts_its_timeline(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    response = open_incident(analyst, alert_ids=[7, 9], summary="p95 above 1 s")
    assert response.status_code == 201
    incident = response.json()
    assert response.headers["etag"] == '"v1"'
    assert response.headers["location"] == f"/incidents/{incident['id']}"
    assert incident["status"] == "open" and incident["created_by"] == "analyst@nexus.test"
    assert incident["alert_ids"] == [7, 9]
    timeline = analyst.get(f"/incidents/{incident['id']}/timeline").json()["items"]
    assert [(e["kind"], e["ref"]) for e in timeline] == [("status", None), ("alert", "7"), ("alert", "9")]


def test_status_changes_need_if_match_and_are_on_the_timeline(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = open_incident(analyst).json()
    path = f"/incidents/{incident['id']}"
    missing = analyst.patch(path, json={"status": "investigating"}, headers={"Idempotency-Key": new_key()})
    assert missing.status_code == 428
    moved = analyst.patch(
        path, json={"status": "investigating"}, headers={"Idempotency-Key": new_key(), "If-Match": '"v1"'}
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "investigating"
    assert moved.headers["etag"] == '"v2"'
    stale = analyst.patch(
        path, json={"commander": "someone"}, headers={"Idempotency-Key": new_key(), "If-Match": '"v1"'}
    )
    assert stale.status_code == 412
    resolved = analyst.patch(
        path, json={"status": "resolved"}, headers={"Idempotency-Key": new_key(), "If-Match": '"v2"'}
    )
    assert resolved.json()["resolved_at"] is not None
    reopened = analyst.patch(
        path, json={"status": "open"}, headers={"Idempotency-Key": new_key(), "If-Match": '"v3"'}
    )
    assert reopened.status_code == 409
    texts = [e["text"] for e in analyst.get(f"{path}/timeline").json()["items"] if e["kind"] == "status"]
    assert texts == ["opened", "open -> investigating", "investigating -> resolved"]


def test_null_fields_and_empty_patches_are_refused(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = open_incident(analyst).json()
    path = f"/incidents/{incident['id']}"
    for body in ({"severity": None}, {}):
        response = analyst.patch(path, json=body, headers={"Idempotency-Key": new_key(), "If-Match": '"v1"'})
        assert response.status_code == 422, body


def test_notes_are_appended_once_per_key(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = open_incident(analyst).json()
    key = new_key()
    path = f"/incidents/{incident['id']}/timeline"
    note = {"kind": "note", "text": "rolled back 2.4.1", "ref": "deploy-2.4.1"}
    first = analyst.post(path, json=note, headers={"Idempotency-Key": key})
    second = analyst.post(path, json=note, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    notes = [e for e in analyst.get(path).json()["items"] if e["kind"] == "note"]
    assert len(notes) == 1 and notes[0]["author"] == "analyst@nexus.test"


def test_incident_list_filters_and_pages(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    for _ in range(3):
        open_incident(analyst, title="paging")
    page = analyst.get("/incidents", params={"status": "open", "limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert page["items"][0]["id"] > page["items"][1]["id"]
    rest = analyst.get(
        "/incidents", params={"status": "open", "limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert rest["items"][0]["id"] < page["items"][1]["id"]
    assert analyst.get("/incidents/999999").status_code == 404


def test_viewers_cannot_see_incidents(api_as) -> None:  # type: ignore[no-untyped-def]
    response = api_as("viewer").get("/incidents")
    assert response.status_code == 403
    assert response.json()["required_role"] == "analyst"

"""Incidents: declare, list, change with If-Match; statuses and the milestones they imply; milestone order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.refserver.conftest import new_key
from tests.refserver.incident_support import (
    change,
    changed,
    declare,
    minutes_from_now,
    parse,
    rfc3339,
    timeline,
    write,
)

MILESTONES = (
    "impact_started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
)


def test_a_declared_incident_is_in_triage_detected_now_with_its_timeline_started(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    before = datetime.now(UTC) - timedelta(seconds=1)
    response = analyst.post(
        "/incidents",
        json={
            "title": "checkout latency",
            "severity": "high",
            "alert_ids": [970007, 970009, 970007],
            "summary": "p95 above 1 s",
            "services": ["puabo-nuki-order-processor", "billing-service"],
            "responders": [{"email": "ops@nexus.test", "role": "ops"}],
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 201
    incident = response.json()
    assert response.headers["etag"] == '"v1"'
    assert response.headers["location"] == f"/incidents/{incident['id']}"
    assert incident["status"] == "triage" and incident["created_by"] == "analyst@nexus.test"
    assert incident["alert_ids"] == [970007, 970009]
    assert incident["services"] == ["puabo-nuki-order-processor", "billing-service"]
    assert incident["responders"] == [{"email": "ops@nexus.test", "role": "ops"}]
    detected = parse(incident["detected_at"])
    assert before <= detected <= datetime.now(UTC) + timedelta(seconds=1)
    # alerts that no server has (the shared one fires real alerts for other tests): the impact started at
    # detection
    assert incident["impact_started_at"] == incident["detected_at"]
    assert all(incident[name] is None for name in MILESTONES[2:])
    entries = timeline(analyst, incident["id"])
    assert [(e["kind"], e["text"], e["ref"]) for e in entries] == [
        ("status", "declared", None),
        ("alert", "linked alert 970007", "970007"),
        ("alert", "linked alert 970009", "970009"),
    ]
    assert all(e["hidden"] is False and e["pinned"] is False and e["edited_at"] is None for e in entries)


def test_a_declaration_may_say_when_the_impact_started_and_when_it_was_detected(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    impact, detected = minutes_from_now(-30), minutes_from_now(-20)
    incident = declare(analyst, impact_started_at=rfc3339(impact), detected_at=rfc3339(detected))
    assert parse(incident["impact_started_at"]) == impact
    assert parse(incident["detected_at"]) == detected
    only_detected = declare(analyst, detected_at="2026-01-05T10:00:00+02:00")
    assert only_detected["detected_at"] == only_detected["impact_started_at"] == "2026-01-05T08:00:00Z"


def test_each_status_sets_the_milestone_it_implies_once_and_reopening_keeps_them(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    investigating = changed(analyst, incident, status="investigating")
    assert investigating["acknowledged_at"] is not None and investigating["mitigated_at"] is None
    fixing = changed(analyst, investigating, status="fixing")
    assert {name: fixing[name] for name in MILESTONES} == {name: investigating[name] for name in MILESTONES}
    monitoring = changed(analyst, fixing, status="monitoring")
    assert monitoring["mitigated_at"] is not None and monitoring["resolved_at"] is None
    resolved = changed(analyst, monitoring, status="resolved")
    assert resolved["resolved_at"] is not None
    assert resolved["acknowledged_at"] == investigating["acknowledged_at"]
    assert resolved["mitigated_at"] == monitoring["mitigated_at"]
    reopened = changed(analyst, resolved, status="investigating")
    assert {name: reopened[name] for name in MILESTONES} == {name: resolved[name] for name in MILESTONES}
    closed = changed(analyst, reopened, status="closed")
    assert closed["closed_at"] is not None and closed["resolved_at"] == resolved["resolved_at"]
    assert closed["version"] == 7
    times = [parse(closed[name]) for name in MILESTONES]
    assert times == sorted(times)


def test_resolving_straight_from_triage_fills_every_milestone_before_it(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    resolved = changed(analyst, declare(analyst), status="resolved")
    assert resolved["acknowledged_at"] == resolved["mitigated_at"] == resolved["resolved_at"]
    assert resolved["closed_at"] is None
    closed = changed(analyst, declare(analyst), status="closed")
    assert closed["resolved_at"] is not None and closed["closed_at"] is not None
    assert closed["acknowledged_at"] is None and closed["mitigated_at"] is None


def test_closed_is_final_but_its_details_can_still_be_corrected(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    closed = changed(analyst, declare(analyst), status="closed")
    refused = change(analyst, closed, status="investigating")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        f"incident {closed['id']} is closed, and closed is final: it cannot move to investigating"
    )
    retitled = changed(analyst, closed, title="checkout latency (post-mortem)")
    assert retitled["status"] == "closed" and retitled["version"] == closed["version"] + 1


def test_milestones_out_of_order_are_refused_with_a_sentence(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst, detected_at="2025-12-06T14:40:00Z")
    refused = change(analyst, incident, acknowledged_at="2025-12-06T14:32:00Z")
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(
        "acknowledged_at (2025-12-06T14:32:00Z) is before detected_at (2025-12-06T14:40:00Z)."
    )
    assert analyst.get(f"/incidents/{incident['id']}").json() == incident
    # a status that fills a milestone is refused too when that breaks the order
    moved = changed(analyst, incident, detected_at=rfc3339(minutes_from_now(3)))
    implied = change(analyst, moved, status="investigating")
    assert implied.status_code == 422
    assert re.match(r"^acknowledged_at \(.+\) is before detected_at \(.+\)\.", implied.json()["detail"])
    impact_after_detection = analyst.post(
        "/incidents",
        json={
            "title": "x",
            "severity": "low",
            "impact_started_at": "2025-12-06T15:00:00Z",
            "detected_at": "2025-12-06T14:00:00Z",
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert impact_after_detection.status_code == 422
    assert impact_after_detection.json()["detail"].startswith(
        "detected_at (2025-12-06T14:00:00Z) is before impact_started_at (2025-12-06T15:00:00Z)."
    )


def test_times_more_than_five_minutes_ahead_are_refused(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    ahead = change(analyst, incident, resolved_at=rfc3339(minutes_from_now(10)))
    assert ahead.status_code == 422
    assert "resolved_at" in ahead.json()["detail"]
    assert "more than 5 minutes in the future" in ahead.json()["detail"]
    response = analyst.post(
        "/incidents",
        json={"title": "x", "severity": "low", "detected_at": rfc3339(minutes_from_now(60))},
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 422 and "detected_at" in response.json()["detail"]
    within = changed(analyst, incident, resolved_at=rfc3339(minutes_from_now(2)))
    assert within["resolved_at"] is not None and within["status"] == "triage"


def test_each_change_is_written_on_the_timeline_by_kind(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(
        analyst, summary="checkout latency", responders=[{"email": "a@nexus.test", "role": "ops"}]
    )
    changed(
        analyst,
        incident,
        status="investigating",
        severity="critical",
        commander="lead@nexus.test",
        responders=[{"email": "a@nexus.test", "role": "comms"}, {"email": "b@nexus.test", "role": "ops"}],
        services=["billing-service"],
        title="checkout down",
        summary="checkout latency",  # unchanged: no entry
    )
    entries = [(e["kind"], e["text"], e["ref"]) for e in timeline(analyst, incident["id"])][1:]
    assert entries == [
        ("status", "triage → investigating", None),
        ("severity", "high → critical", None),
        ("role", "commander: none → lead@nexus.test", "commander"),
        ("role", "responders: added b@nexus.test (ops); a@nexus.test is now comms (was ops)", "responders"),
        ("field", 'title: "checkout latency" → "checkout down"', "title"),
        ("field", "services: none → billing-service", "services"),
    ]


def test_changes_need_if_match_and_a_stale_one_is_refused(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    path = f"/incidents/{incident['id']}"
    missing = write(analyst, "PATCH", path, None, {"status": "investigating"})
    assert missing.status_code == 428
    moved = write(analyst, "PATCH", path, 1, {"status": "investigating"})
    assert moved.status_code == 200 and moved.headers["etag"] == '"v2"'
    stale = write(analyst, "PATCH", path, 1, {"commander": "someone@nexus.test"})
    assert stale.status_code == 412
    assert analyst.get(path).headers["etag"] == '"v2"'


def test_null_fields_and_empty_patches_are_refused(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    incident = declare(analyst)
    path = f"/incidents/{incident['id']}"
    for body in ({"severity": None}, {"detected_at": None}, {}, {"status": "open"}, {"detected_at": 5}):
        response = write(analyst, "PATCH", path, 1, body)
        assert response.status_code == 422, body


def test_incident_list_filters_by_status_and_pages(api_as) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    for _ in range(3):
        changed(analyst, declare(analyst, title="paging"), status="fixing")
    page = analyst.get("/incidents", params={"status": "fixing", "limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert {item["status"] for item in page["items"]} == {"fixing"}
    assert page["items"][0]["id"] > page["items"][1]["id"]
    rest = analyst.get(
        "/incidents", params={"status": "fixing", "limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert rest["items"][0]["id"] < page["items"][1]["id"]
    assert analyst.get("/incidents", params={"status": "open"}).status_code == 422
    assert analyst.get("/incidents/999999").status_code == 404


def test_viewers_see_incidents_but_may_not_change_them_and_are_told_which_role_can(api_as) -> None:  # type: ignore[no-untyped-def]
    viewer = api_as("viewer")
    assert viewer.get("/incidents").status_code == 200
    moderator = api_as("moderator").get("/incidents")
    assert moderator.status_code == 403 and moderator.json()["required_role"] == "viewer"
    written = viewer.post(
        "/incidents", json={"title": "x", "severity": "low"}, headers={"Idempotency-Key": "k"}
    )
    assert written.status_code == 403 and written.json()["required_role"] == "analyst"

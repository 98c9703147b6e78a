"""Alerts: the store's state machine, acknowledgement expiry, and the SSE stream with Last-Event-ID resume.

The unit tests drive AlertStore directly; the integration tests raise a real alert on a real server by
taking a simulated service down through the fault-control endpoint (clock factor 60, so "down for 30 s"
takes half a second).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from nexus_refserver.alert_store import AlertConflictError, AlertStore
from nexus_refserver.alerting import AlertObservation
from nexus_refserver.config import ServerConfig
from nexus_refserver.databases import Databases
from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login, new_key
from tests.support.refserver import RefServer

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALERT_KEYS = {
    "id", "fingerprint", "source", "rule", "severity", "state", "service", "namespace", "labels", "summary",
    "description", "runbook_url", "value", "threshold", "starts_at", "updated_at", "ends_at", "ack_by",
    "ack_at", "ack_expires_at", "resolved_by", "silenced_until", "silenced_by", "silence_comment",
}  # fmt: skip


def observation(
    state: str, at: datetime = T0, fingerprint: str = "fp-1", severity: str = "high"
) -> AlertObservation:
    return AlertObservation(
        fingerprint=fingerprint,
        rule="ServiceDown",
        severity=severity,
        state=state,
        service="auth-service",
        namespace="nexus-auth",
        labels={"service": "auth-service"},
        summary="auth-service is down",
        description="health checks fail",
        runbook_url="runbook://failover",
        value=1.0,
        threshold=0.5,
        at=at,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    dbs = Databases.open(ServerConfig(data_dir=tmp_path))
    dbs.create_schema()
    yield AlertStore(dbs.nexus)
    dbs.dispose()


def event_kinds(store: AlertStore) -> list[tuple[int, str, int]]:
    return [(seq, json.loads(data)["state"], json.loads(data)["id"]) for seq, data in store.events_after(0)]


def test_an_alert_goes_pending_firing_resolved_with_one_event_each(store: AlertStore) -> None:
    store.observe(observation("pending"))
    store.observe(observation("pending", T0 + timedelta(seconds=5)))  # no change, no event
    store.observe(observation("firing", T0 + timedelta(seconds=30)))
    store.observe(observation("resolved", T0 + timedelta(seconds=90)))
    assert event_kinds(store) == [(1, "pending", 1), (2, "firing", 1), (3, "resolved", 1)]
    items, total, latest = store.list(None, None, None, 10)
    assert total == 1 and latest == 3
    alert = items[0]
    assert set(alert) == ALERT_KEYS
    assert alert["starts_at"] == "2026-11-01T12:00:00Z"
    assert alert["ends_at"] == "2026-11-01T12:01:30Z"


def test_the_same_fingerprint_after_resolution_is_a_new_alert(store: AlertStore) -> None:
    store.observe(observation("firing"))
    store.observe(observation("resolved", T0 + timedelta(seconds=10)))
    store.observe(observation("firing", T0 + timedelta(seconds=20)))
    items, total, _ = store.list(None, None, None, 10)
    assert total == 2
    assert [item["state"] for item in items] == ["firing", "resolved"]


def test_an_expired_acknowledgement_fires_again(store: AlertStore) -> None:
    store.observe(observation("firing"))
    before, after = store.acknowledge(1, "analyst@nexus.test", ack_timeout_s=60)
    assert before["state"] == "firing"
    assert after["state"] == "acknowledged" and after["ack_by"] == "analyst@nexus.test"
    # the condition still holds: the alert stays acknowledged
    store.observe(observation("firing", T0 + timedelta(seconds=5)))
    assert store.get(1)["state"] == "acknowledged"
    assert store.expire_acknowledgements(datetime.now(UTC) + timedelta(seconds=30)) == 0
    assert store.expire_acknowledgements(datetime.now(UTC) + timedelta(seconds=61)) == 1
    again = store.get(1)
    assert again["state"] == "firing"
    assert again["ack_by"] is None and again["ack_expires_at"] is None
    assert [state for _, state, _ in event_kinds(store)] == ["firing", "acknowledged", "firing"]


def test_acknowledging_a_resolved_alert_conflicts(store: AlertStore) -> None:
    store.observe(observation("firing"))
    store.resolve(1, "admin@nexus.test")
    with pytest.raises(AlertConflictError):
        store.acknowledge(1, "admin@nexus.test", None)
    with pytest.raises(AlertConflictError):
        store.resolve(1, "admin@nexus.test")
    assert store.get(1)["resolved_by"] == "admin@nexus.test"


def test_filters_by_state_and_severity(store: AlertStore) -> None:
    store.observe(observation("firing", fingerprint="a", severity="critical"))
    store.observe(observation("pending", fingerprint="b", severity="low"))
    store.observe(observation("firing", fingerprint="c", severity="low"))
    firing, total, _ = store.list(["firing"], None, None, 10)
    assert total == 2 and {a["fingerprint"] for a in firing} == {"a", "c"}
    low_firing, total, _ = store.list(["firing"], ["low"], None, 10)
    assert total == 1 and low_firing[0]["fingerprint"] == "c"


def test_an_observation_from_another_thread_wakes_a_waiting_stream(store: AlertStore) -> None:
    async def scenario() -> bool:
        store.notifier.bind(asyncio.get_running_loop())
        token = store.notifier.current()
        threading.Timer(0.1, store.observe, args=(observation("firing"),)).start()
        return await store.notifier.wait(token, 5.0)

    assert asyncio.run(scenario()) is True
    assert store.latest_seq() == 1


# --- against a real server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alerting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    server = RefServer(
        tmp_path_factory.mktemp("refserver-alerts"),
        *SMALL_SERVER_ARGS,
        "--clock-factor",
        "60",
        "--enable-fault-control",
        "--sse-keepalive",
        "1",
        session_owned=True,
    )
    server.start()
    yield server
    server.stop()


def wait_for(predicate: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def read_stream(
    base_url: str, token: str, last_event_id: str | None, until: Callable[[list[dict], list[str]], bool]
) -> tuple[list[dict], list[str]]:
    """Events (`{id, event, data}`) and comment lines, read until `until` holds or 10 s pass."""
    headers = bearer(token)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict] = []
    comments: list[str] = []
    current: dict = {}
    deadline = time.monotonic() + 10
    with (
        httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=5.0)) as client,
        client.stream("GET", "/alerts/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                events.append(current)
                current = {}
            if until(events, comments) or time.monotonic() > deadline:
                break
    return events, comments


def test_a_real_fault_raises_an_alert_that_streams_acks_expires_and_resumes(
    alerting_server: RefServer,
) -> None:
    base = alerting_server.base_url
    analyst = login(base, "analyst")["access_token"]
    api = httpx.Client(base_url=base, headers=bearer(analyst), timeout=10)
    try:
        fault = httpx.post(f"{base}/_control/faults", json={"scope": "auth-service", "kind": "down"})
        assert fault.status_code == 201, fault.text

        def firing() -> dict | None:
            items = api.get("/alerts", params={"state": "firing"}).json()["items"]
            return next(
                (a for a in items if a["rule"] == "ServiceDown" and a["service"] == "auth-service"), None
            )

        alert = wait_for(firing, 20, "ServiceDown on auth-service")
        listing = api.get("/alerts")
        newest = int(listing.headers["last-event-id"])
        assert newest >= 1

        # the whole history from the start: consecutive ids, no gaps, and the alert's own events
        history, _ = read_stream(base, analyst, "0", lambda ev, _c: len(ev) >= newest)
        assert [event["id"] for event in history] == list(range(1, newest + 1))
        assert all(event["event"] == "alert" and set(event["data"]) == ALERT_KEYS for event in history)
        ours = [event["data"]["state"] for event in history if event["data"]["id"] == alert["id"]]
        assert ours[-1] == "firing"

        acked = api.post(
            f"/alerts/{alert['id']}/acknowledge",
            json={"comment": "looking", "ack_timeout_s": 1},
            headers={"Idempotency-Key": new_key()},
        )
        assert acked.status_code == 200, acked.text
        body = acked.json()
        assert body["state"] == "acknowledged"
        assert body["ack_by"] == "analyst@nexus.test"
        assert body["ack_expires_at"] is not None

        # the acknowledgement expires after 1 s: the alert fires again, and the stream resumed after
        # `newest` carries exactly the acknowledgement and the re-raise, nothing before them twice
        def refired() -> bool:
            return any(
                a["id"] == alert["id"] for a in api.get("/alerts", params={"state": "firing"}).json()["items"]
            )

        wait_for(refired, 10, "the acknowledgement to expire")
        tail, _ = read_stream(
            base,
            analyst,
            str(newest),
            lambda ev, _c: any(e["data"]["id"] == alert["id"] and e["data"]["state"] == "firing" for e in ev),
        )
        assert tail[0]["id"] == newest + 1
        assert [e["id"] for e in tail] == list(range(newest + 1, newest + 1 + len(tail)))
        mine = [(e["data"]["state"], e["data"]["ack_by"]) for e in tail if e["data"]["id"] == alert["id"]]
        assert mine[:2] == [("acknowledged", "analyst@nexus.test"), ("firing", None)]

        audit = httpx.get(
            f"{base}/audit",
            params={"entity_type": "alert", "entity_id": str(alert["id"])},
            headers=bearer(login(base, "admin")["access_token"]),
        ).json()["items"]
        assert [entry["action"] for entry in audit] == ["alert.acknowledge"]
        assert audit[0]["reason"] == "looking"
    finally:
        httpx.delete(f"{base}/_control/faults")
        api.close()


def test_resolving_then_clearing_the_fault(alerting_server: RefServer) -> None:
    base = alerting_server.base_url
    token = login(base, "moderator")["access_token"]
    api = httpx.Client(base_url=base, headers=bearer(token), timeout=10)
    try:
        assert (
            httpx.post(f"{base}/_control/faults", json={"scope": "user-auth", "kind": "down"}).status_code
            == 201
        )

        def firing() -> dict | None:
            items = api.get("/alerts", params={"state": "firing"}).json()["items"]
            return next(
                (a for a in items if a["rule"] == "ServiceDown" and a["service"] == "user-auth"), None
            )

        alert = wait_for(firing, 20, "ServiceDown on user-auth")
        key = new_key()
        resolved = api.post(
            f"/alerts/{alert['id']}/resolve", json={"comment": "fixed"}, headers={"Idempotency-Key": key}
        )
        assert resolved.status_code == 200
        assert resolved.json()["state"] == "resolved"
        assert resolved.json()["resolved_by"] == "moderator@nexus.test"
        replay = api.post(
            f"/alerts/{alert['id']}/resolve", json={"comment": "fixed"}, headers={"Idempotency-Key": key}
        )
        assert replay.headers["idempotent-replayed"] == "true"
        again = api.post(f"/alerts/{alert['id']}/resolve", json={}, headers={"Idempotency-Key": new_key()})
        assert again.status_code == 409

        # the service recovers: the engine's "resolved" finds no active alert and changes nothing
        httpx.delete(f"{base}/_control/faults")
        time.sleep(2.5)  # two engine rounds
        history = api.get("/alerts", params={"state": "resolved"}).json()["items"]
        assert [a["resolved_by"] for a in history if a["id"] == alert["id"]] == ["moderator@nexus.test"]

        # it goes down again: a new alert with the same fingerprint, which the engine resolves itself
        assert (
            httpx.post(f"{base}/_control/faults", json={"scope": "user-auth", "kind": "down"}).status_code
            == 201
        )

        def new_one() -> dict | None:
            found = firing()
            return found if found and found["id"] != alert["id"] else None

        fresh = wait_for(new_one, 20, "a new alert for the same condition")
        assert fresh["fingerprint"] == alert["fingerprint"]
        httpx.delete(f"{base}/_control/faults")

        def auto_resolved() -> bool:
            items = api.get("/alerts", params={"state": "resolved"}).json()["items"]
            return any(a["id"] == fresh["id"] and a["resolved_by"] is None for a in items)

        wait_for(auto_resolved, 20, "the engine to resolve the alert once the service is back")
    finally:
        httpx.delete(f"{base}/_control/faults")
        api.close()


def test_a_quiet_stream_sends_keepalive_comments(alerting_server: RefServer) -> None:
    token = login(alerting_server.base_url, "viewer")["access_token"]
    _, comments = read_stream(alerting_server.base_url, token, None, lambda _e, c: ": keepalive" in c)
    assert ": keepalive" in comments


def test_a_bad_last_event_id_is_a_422_problem(alerting_server: RefServer) -> None:
    token = login(alerting_server.base_url, "viewer")["access_token"]
    response = httpx.get(
        f"{alerting_server.base_url}/alerts/stream", headers={**bearer(token), "Last-Event-ID": "yesterday"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"

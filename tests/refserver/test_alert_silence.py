"""Silencing a Nexus alert: its own state (`silenced`, with until when, by whom and why), audited as
`alert.silence`, published on the alert stream, and ended by the store's clock, which gives the alert back
the state it had.

The store tests drive AlertStore directly with a chosen clock; the API tests raise a real alert on a real
server by taking a simulated service down (clock factor 60: "down for 30 s" takes half a second).
"""

from __future__ import annotations

import json
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
ONCALL = "analyst@nexus.test"


def observation(state: str, at: datetime = T0) -> AlertObservation:
    return AlertObservation(
        fingerprint="fp-lag",
        rule="ReplicationLagHigh",
        severity="high",
        state=state,
        service="postgres-marketplace-replica",
        namespace="nexus-data",
        labels={"service": "postgres-marketplace-replica", "database": "marketplace", "role": "replica"},
        summary="replication lag 42 s > 10 s",
        description="lagging",
        runbook_url="runbook://failover",
        value=42.0,
        threshold=10.0,
        at=at,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    dbs = Databases.open(ServerConfig(data_dir=tmp_path))
    dbs.create_schema()
    yield AlertStore(dbs.nexus)
    dbs.dispose()


def states(store: AlertStore) -> list[str]:
    """The state of every event in the log, in order."""
    return [json.loads(data)["state"] for _, data in store.events_after(0)]


def in_a_minute() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


# --- the store's state machine ----------------------------------------------------------------------------


def test_a_silence_is_its_own_state_with_until_when_by_whom_and_why(store: AlertStore) -> None:
    store.observe(observation("firing"))
    until = in_a_minute()
    before, after = store.silence(1, ONCALL, until, "failover drill")
    assert before["state"] == "firing" and before["silenced_until"] is None
    assert after["state"] == "silenced"
    assert after["silenced_by"] == ONCALL and after["silence_comment"] == "failover drill"
    assert abs(datetime.fromisoformat(after["silenced_until"]) - until) < timedelta(milliseconds=1)
    assert after["ack_by"] is None  # not an acknowledgement
    assert states(store) == ["firing", "silenced"]


def test_a_silenced_alert_returns_to_firing_when_the_silence_ends(store: AlertStore) -> None:
    store.observe(observation("firing"))
    until = in_a_minute()
    store.silence(1, ONCALL, until, None)
    assert store.expire_silences(until - timedelta(seconds=1)) == 0
    assert store.get(1)["state"] == "silenced"
    assert store.expire_silences(until) == 1
    alert = store.get(1)
    assert alert["state"] == "firing"
    assert (alert["silenced_until"], alert["silenced_by"], alert["silence_comment"]) == (None, None, None)
    assert states(store) == ["firing", "silenced", "firing"]


def test_the_store_clock_that_expires_acknowledgements_also_ends_silences(store: AlertStore) -> None:
    store.observe(observation("firing"))
    until = in_a_minute()
    store.silence(1, ONCALL, until, None)
    store.expire_acknowledgements(until + timedelta(seconds=1))
    assert store.get(1)["state"] == "firing"


def test_a_silenced_acknowledged_alert_returns_to_acknowledged_with_its_owner(store: AlertStore) -> None:
    store.observe(observation("firing"))
    store.acknowledge(1, "olive@nexus.test", None)
    until = in_a_minute()
    store.silence(1, ONCALL, until, "maintenance")
    store.expire_silences(until)
    alert = store.get(1)
    assert alert["state"] == "acknowledged" and alert["ack_by"] == "olive@nexus.test"


def test_an_alert_silenced_while_pending_returns_to_firing_if_it_fired_meanwhile(store: AlertStore) -> None:
    store.observe(observation("pending"))
    until = in_a_minute()
    store.silence(1, ONCALL, until, None)
    store.observe(observation("firing", T0 + timedelta(seconds=30)))
    assert store.get(1)["state"] == "silenced"  # the condition holds: the silence holds
    store.expire_silences(until)
    assert store.get(1)["state"] == "firing"


def test_a_silenced_alert_stays_one_alert_while_its_condition_holds_and_resolves_with_it(
    store: AlertStore,
) -> None:
    store.observe(observation("firing"))
    store.silence(1, ONCALL, in_a_minute(), None)
    store.observe(observation("firing", T0 + timedelta(seconds=5)))
    _, total, _ = store.list(None, None, None, 10)
    assert total == 1 and store.get(1)["state"] == "silenced"
    store.observe(observation("resolved", T0 + timedelta(seconds=60)))
    assert store.get(1)["state"] == "resolved"
    assert states(store) == ["firing", "silenced", "resolved"]


def test_silencing_again_replaces_the_silence_and_keeps_the_state_to_return_to(store: AlertStore) -> None:
    store.observe(observation("firing"))
    store.acknowledge(1, "olive@nexus.test", None)
    store.silence(1, ONCALL, in_a_minute(), "first")
    later = in_a_minute() + timedelta(minutes=5)
    _, after = store.silence(1, "admin@nexus.test", later, "longer")
    assert (after["silenced_by"], after["silence_comment"]) == ("admin@nexus.test", "longer")
    store.expire_silences(later)
    assert store.get(1)["state"] == "acknowledged"


def test_unsilencing_ends_the_silence_now_and_only_a_silenced_alert_can_be(store: AlertStore) -> None:
    store.observe(observation("firing"))
    with pytest.raises(AlertConflictError):
        store.unsilence(1)
    store.silence(1, ONCALL, in_a_minute(), None)
    _, after = store.unsilence(1)
    assert after["state"] == "firing" and after["silenced_until"] is None


def test_a_resolved_alert_cannot_be_silenced(store: AlertStore) -> None:
    store.observe(observation("firing"))
    store.resolve(1, ONCALL)
    with pytest.raises(AlertConflictError):
        store.silence(1, ONCALL, in_a_minute(), None)


def test_a_silenced_alert_can_be_resolved(store: AlertStore) -> None:
    store.observe(observation("firing"))
    store.silence(1, ONCALL, in_a_minute(), None)
    _, after = store.resolve(1, ONCALL)
    assert after["state"] == "resolved" and after["resolved_by"] == ONCALL


# --- the API, on a real server -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    server = RefServer(
        tmp_path_factory.mktemp("refserver-silences"),
        *SMALL_SERVER_ARGS,
        "--clock-factor",
        "60",
        "--enable-fault-control",
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


def firing_alert(server: RefServer, api: httpx.Client, service: str) -> dict:
    """Take `service` down and wait for its ServiceDown alert to fire."""
    response = httpx.post(f"{server.base_url}/_control/faults", json={"scope": service, "kind": "down"})
    assert response.status_code == 201, response.text

    def firing() -> dict | None:
        items = api.get("/alerts", params={"state": "firing"}).json()["items"]
        return next((a for a in items if a["rule"] == "ServiceDown" and a["service"] == service), None)

    return wait_for(firing, 20, f"ServiceDown on {service}")  # type: ignore[return-value]


@pytest.fixture
def analyst(server: RefServer) -> Iterator[httpx.Client]:
    token = login(server.base_url, "analyst")["access_token"]
    with httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=10) as client:
        yield client
    httpx.delete(f"{server.base_url}/_control/faults")


def audit_of(server: RefServer, alert_id: int) -> list[dict]:
    response = httpx.get(
        f"{server.base_url}/audit",
        params={"entity_type": "alert", "entity_id": str(alert_id)},
        headers=bearer(login(server.base_url, "admin")["access_token"]),
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


def test_post_silence_silences_for_a_duration_and_audits_alert_silence(
    server: RefServer, analyst: httpx.Client
) -> None:
    alert = firing_alert(server, analyst, "auth-service")
    key = new_key()
    body = {"duration_s": 3600, "comment": "failover drill"}
    response = analyst.post(f"/alerts/{alert['id']}/silence", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 200, response.text
    silenced = response.json()
    assert silenced["state"] == "silenced"
    assert silenced["silenced_by"] == ONCALL and silenced["silence_comment"] == "failover drill"
    until = datetime.fromisoformat(silenced["silenced_until"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
    assert silenced["ack_by"] is None

    # the same key replays the first answer; the state filter knows `silenced`
    replay = analyst.post(f"/alerts/{alert['id']}/silence", json=body, headers={"Idempotency-Key": key})
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == silenced
    listed = analyst.get("/alerts", params={"state": "silenced"}).json()["items"]
    assert [a["id"] for a in listed] == [alert["id"]]

    entries = audit_of(server, alert["id"])
    assert [entry["action"] for entry in entries] == ["alert.silence"]
    assert entries[0]["actor"] == ONCALL and entries[0]["reason"] == "failover drill"
    assert entries[0]["before"]["state"] == "firing" and entries[0]["after"]["state"] == "silenced"

    # unsilence: back to firing, audited too
    back = analyst.post(f"/alerts/{alert['id']}/unsilence", json={}, headers={"Idempotency-Key": new_key()})
    assert back.status_code == 200 and back.json()["state"] == "firing"
    assert [entry["action"] for entry in audit_of(server, alert["id"])] == [
        "alert.silence",
        "alert.unsilence",
    ]


def test_a_silence_until_a_time_ends_by_itself_and_the_stream_publishes_both_changes(
    server: RefServer, analyst: httpx.Client
) -> None:
    alert = firing_alert(server, analyst, "user-auth")
    newest = int(analyst.get("/alerts").headers["last-event-id"])
    until = (datetime.now(UTC) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    response = analyst.post(
        f"/alerts/{alert['id']}/silence", json={"until": until}, headers={"Idempotency-Key": new_key()}
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "silenced" and response.json()["silence_comment"] is None

    def back_to_firing() -> bool:
        items = analyst.get("/alerts", params={"state": "firing"}).json()["items"]
        return any(a["id"] == alert["id"] for a in items)

    wait_for(back_to_firing, 10, "the silence to end")
    ours = stream_states(server, analyst, newest, alert["id"], count=2)
    assert ours == [("silenced", ONCALL), ("firing", None)]


def stream_states(
    server: RefServer, api: httpx.Client, after: int, alert_id: int, count: int
) -> list[tuple[str, str | None]]:
    """(state, silenced_by) of the alert's events on the stream after event `after`, until `count` came."""
    found: list[tuple[str, str | None]] = []
    headers = {**api.headers, "Last-Event-ID": str(after)}
    with (
        httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(10.0, read=5.0)) as client,
        client.stream("GET", "/alerts/stream", headers=headers) as response,
    ):
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
                if data["id"] == alert_id:
                    found.append((data["state"], data["silenced_by"]))
            if len(found) >= count:
                break
    return found


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"comment": "no end"}, "exactly one of until"),
        ({"duration_s": 60, "until": "2099-01-01T00:00:00Z"}, "exactly one of until"),
        ({"until": "2001-01-01T00:00:00Z"}, "in the past"),
        ({"until": "tomorrow"}, "not an RFC 3339 time"),
        ({"until": "2099-01-01T00:00:00"}, "UTC offset"),
        ({"duration_s": 0}, ""),
        ({"duration_s": 31 * 86400}, ""),
    ],
)
def test_a_silence_without_exactly_one_end_in_the_next_30_days_is_a_422_problem(
    server: RefServer, analyst: httpx.Client, body: dict, why: str
) -> None:
    response = analyst.post("/alerts/1/silence", json=body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert why in response.json()["detail"]


def test_silencing_needs_the_alerts_write_permission_and_an_alert_that_exists(
    server: RefServer, analyst: httpx.Client
) -> None:
    viewer = bearer(login(server.base_url, "viewer")["access_token"])
    refused = httpx.post(
        f"{server.base_url}/alerts/1/silence",
        json={"duration_s": 60},
        headers={**viewer, "Idempotency-Key": new_key()},
    )
    assert refused.status_code == 403
    missing = analyst.post(
        "/alerts/999999/silence", json={"duration_s": 60}, headers={"Idempotency-Key": new_key()}
    )
    assert missing.status_code == 404
    no_key = analyst.post("/alerts/1/silence", json={"duration_s": 60})
    assert no_key.status_code == 422

"""Scenarios declare incidents: the default one opens the order processor incident when its error-rate
fault begins, linked to the scenario's alerts of that moment; a server without a scenario declares none."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from nexus_refserver.alert_store import AlertStore
from nexus_refserver.alerting import AlertEngine
from nexus_refserver.audit import AuditLog
from nexus_refserver.clock import ManualClock, SimClock
from nexus_refserver.config import ServerConfig
from nexus_refserver.databases import make_engine
from nexus_refserver.incidents import IncidentStore
from nexus_refserver.scenario_incidents import ScenarioIncidents
from nexus_refserver.schema import nexus_metadata
from nexus_refserver.schema_upgrade import upgrade_nexus
from nexus_refserver.telemetry import ScenarioError, build_estate, load_scenario
from nexus_refserver.telemetry.scenario import NO_SCENARIO, parse_scenario
from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login
from tests.refserver.incident_support import parse
from tests.support.refserver import RefServer

ORDERS = "puabo-nuki-order-processor"
TITLE = "Order processor failing on the marketplace database"


@pytest.fixture
def nexus_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'nexus.sqlite3'}")
    nexus_metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_the_default_scenario_declares_its_incident_when_the_error_rate_fault_begins() -> None:
    scenario = load_scenario("default")
    (incident,) = scenario.incidents
    errors = next(fault for fault in scenario.faults if fault.kind == "error_rate")
    assert incident.at_s == errors.at_s == 45
    assert (incident.title, incident.severity, incident.services) == (TITLE, "high", (ORDERS,))
    assert incident.note == "Scenario: order processor error rate at 8 %"
    assert incident.created_by == "oncall@nexus.test"
    assert load_scenario("none").incidents == () and load_scenario("cascade").incidents == ()


def test_a_scenario_incident_links_the_scenario_alerts_active_at_that_moment(nexus_engine: Engine) -> None:
    clock = ManualClock()
    estate = build_estate(ServerConfig(scenario="default", seed=11), clock=clock)
    alert_store = AlertStore(nexus_engine)
    engine = AlertEngine(estate, alert_store)
    while clock.elapsed() < 45.0:
        clock.advance(5.0)
        estate.tick()
        engine.evaluate()
    active, _total, _seq = alert_store.list(["pending", "firing"], None, None, 50)
    assert {(a["rule"], a["service"]) for a in active} == {
        ("ApiLatencyP95High", ORDERS),
        ("ScaleOutLatency", ORDERS),
    }
    store = IncidentStore(nexus_engine, AuditLog(nexus_engine))
    declarer = ScenarioIncidents(estate.scenario, clock, store, nexus_engine)
    declared = declarer.declare(estate.scenario.incidents[0])
    assert declared is not None
    assert sorted(declared["alert_ids"]) == sorted(a["id"] for a in active)
    assert declared["status"] == "triage" and declared["created_by"] == "oncall@nexus.test"
    assert declared["impact_started_at"] == min(a["starts_at"] for a in active)
    entries = [(e["kind"], e["text"]) for e in store.timeline(declared["id"])]
    assert entries[0] == ("status", "declared")
    assert entries[-1] == ("custom", "Scenario: order processor error rate at 8 %")
    assert [kind for kind, _text in entries].count("alert") == len(active)
    # the same scenario run again while the incident is still open declares no second one
    assert declarer.declare(estate.scenario.incidents[0]) is None
    assert store.list(None, None, 10)[1] == 1


def test_declarations_wait_for_their_simulated_time_and_no_scenario_declares_nothing(
    nexus_engine: Engine,
) -> None:
    store = IncidentStore(nexus_engine, AuditLog(nexus_engine))
    scenario = parse_scenario(
        '[[incident]]\nat_s = 30\ntitle = "later"\nseverity = "low"\n'
        '[[incident]]\nat_s = 0\ntitle = "first"\nseverity = "medium"\nservices = ["billing-service"]\n'
    )
    clock = SimClock(clock_factor=300.0)  # 30 simulated seconds in 0.1 s
    started = time.monotonic()
    asyncio.run(ScenarioIncidents(scenario, clock, store, nexus_engine).run())
    assert time.monotonic() - started >= 0.09
    items, total = store.list(None, None, 10)
    assert [item["title"] for item in items] == ["later", "first"] and total == 2
    asyncio.run(asyncio.wait_for(ScenarioIncidents(NO_SCENARIO, clock, store, nexus_engine).run(), 1.0))
    assert store.list(None, None, 10)[1] == 2


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[incident]]\ntitle = "x"\nseverity = "high"', "incident #1: missing keys: at_s"),
        ('[[incident]]\nat_s = 1\ntitle = "x"\nseverity = "huge"', "severity must be one of"),
        ('[[incident]]\nat_s = 1\ntitle = ""\nseverity = "low"', "title must be a non-empty string"),
        (
            '[[incident]]\nat_s = 1\ntitle = "x"\nseverity = "low"\nservices = ["nope"]',
            "unknown services: nope",
        ),
        ('[[incident]]\nat_s = 1\ntitle = "x"\nseverity = "low"\nwhen = 2', "unknown keys: when"),
        ("incident = 3", "'incident' must be an array of tables"),
    ],
)
def test_invalid_scenario_incidents_are_refused_with_a_clear_error(toml: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=r"my\.toml") as error:
        parse_scenario(toml, origin="my.toml")
    assert message in str(error.value)


def test_a_server_running_the_default_scenario_declares_the_incident_itself(
    refserver_factory: Callable[..., RefServer],
) -> None:
    args = [arg for arg in SMALL_SERVER_ARGS if arg not in ("--scenario", "none")]
    server = refserver_factory(*args, "--scenario", "default", "--clock-factor", "60")
    token = login(server.base_url, "analyst")["access_token"]
    with httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=10) as client:
        deadline = time.monotonic() + 10.0
        items: list[dict] = []
        while not items and time.monotonic() < deadline:
            items = client.get("/incidents").json()["items"]
            time.sleep(0.1)
        assert len(items) == 1, "no incident declared within 10 s (45 simulated s take 0.75 s)"
        incident = items[0]
        assert incident["title"] == TITLE and incident["severity"] == "high"
        assert incident["services"] == [ORDERS] and incident["status"] == "triage"
        assert incident["created_by"] == "oncall@nexus.test"
        assert parse(incident["impact_started_at"]) <= parse(incident["detected_at"])
        alerts = client.get("/alerts", params={"limit": 500}).json()["items"]
        scenario_alerts = {
            a["id"] for a in alerts if a["service"].startswith(("puabo-nuki-order", "postgres-market"))
        }
        assert set(incident["alert_ids"]) <= scenario_alerts
        entries = client.get(f"/incidents/{incident['id']}/timeline").json()["items"]
        assert entries[0]["text"] == "declared"
        assert ("custom", "Scenario: order processor error rate at 8 %") in [
            (e["kind"], e["text"]) for e in entries
        ]


def test_a_server_without_a_scenario_declares_nothing(api_as) -> None:  # type: ignore[no-untyped-def]
    items = api_as("analyst").get("/incidents", params={"limit": 500}).json()["items"]
    assert [item for item in items if item["created_by"] == "oncall@nexus.test"] == []


def test_an_older_nexus_database_is_upgraded_to_the_six_statuses(tmp_path: Path) -> None:
    old = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with old.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE incidents (id INTEGER PRIMARY KEY, title VARCHAR(300) NOT NULL, severity "
                "VARCHAR(16) NOT NULL, status VARCHAR(16) NOT NULL, commander VARCHAR(200), summary TEXT NOT "
                "NULL, alert_ids TEXT NOT NULL, created_by VARCHAR(200) NOT NULL, created_at DATETIME NOT "
                "NULL,"
                " updated_at DATETIME NOT NULL, resolved_at DATETIME, version INTEGER NOT NULL)"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE incident_timeline (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL "
                "REFERENCES incidents (id), at DATETIME NOT NULL, kind VARCHAR(16) NOT NULL, author "
                "VARCHAR(200) NOT NULL, text TEXT NOT NULL, ref VARCHAR(200))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO incidents VALUES (1, 'old', 'low', 'open', NULL, '', '[]', 'a@nexus.test', "
                "'2026-01-01 10:00:00.000000', '2026-01-01 10:00:00.000000', NULL, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO incident_timeline VALUES (1, 1, '2026-01-01 10:00:00.000000', 'status', "
                "'a@nexus.test', 'opened', NULL)"
            )
        )
    try:
        nexus_metadata.create_all(old)
        upgrade_nexus(old, nexus_metadata)
        upgrade_nexus(old, nexus_metadata)  # a second start finds nothing to do
        store = IncidentStore(old, AuditLog(old))
        incident = store.get(1)
        assert incident["status"] == "triage" and incident["services"] == [] and incident["responders"] == []
        assert incident["detected_at"] == incident["impact_started_at"] == "2026-01-01T10:00:00Z"
        (entry,) = store.timeline(1)
        assert entry["created_at"] == entry["at"] and entry["hidden"] is False
    finally:
        old.dispose()

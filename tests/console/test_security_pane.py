"""Security on the reference server: every attack of the scenario is detected by its rule, with the right
evidence, within two poll intervals, and shows as an alert in the alert queue; a day of benign traffic
raises nothing; the Security pane lists the detections and the rules' states, pivots from an address to
the accounts it tried, and Investigate opens an incident with the evidence on its timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from nexus_console.domain.detection_alerts import SECURITY_SOURCE
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile
from nexus_console.services.security_feed import SecuritySettings
from nexus_console.views.security.pane import SecurityPane
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.refserver.security_support import parse_time, start_attack
from tests.support.refserver import RefServer
from tests.support.session import console_session

INTERVAL_S = 2.0
WRITE_AND_READ_S = 1.5  # the server writes events every 0.5 s; reading a poll's pages takes the rest
FAST = SessionSettings(security=SecuritySettings(interval_s=INTERVAL_S))
# the attack, its rule, and what the detection is keyed by in the attack's actors
ATTACKS = (
    ("brute_force", "BruteForceLogin"),
    ("credential_stuffing", "CredentialStuffing"),
    ("new_country_login", "LoginFromNewCountry"),
    ("impossible_travel", "ImpossibleTravel"),
    ("bot_client", "BotLikeApiClient"),
    ("injection_burst", "InjectionAttempts"),
    ("bulk_data_access", "UnusualDataAccess"),
)


def security_alerts(session: ConsoleSession) -> list[Any]:
    return [alert for alert in session.alerts.queue.store if alert.source == SECURITY_SOURCE]


def with_security(
    server: RefServer, check: Callable[[ConsoleSession], Awaitable[None]], email: str = "analyst@nexus.test"
) -> Callable[[], Awaitable[None]]:
    async def scenario() -> None:
        async with api_stack(server.base_url) as stack:
            me = await stack.auth.login(Credentials(email, DEMO_PASSWORD))
            profile = Profile("lab", server.base_url)
            async with console_session(profile, stack.api, stack.http, me, settings=FAST) as session:
                await check(session)

    return scenario


def test_each_attack_is_detected_by_its_rule_with_its_evidence_and_benign_traffic_raises_nothing(
    qloop: QLoop, refserver_factory: Any
) -> None:
    server: RefServer = refserver_factory(
        "--seed", "9", "--scale", "0.02", "--scenario", "none", "--enable-fault-control"
    )

    async def check(session: ConsoleSession) -> None:
        feed = session.security
        assert feed is not None and session.security_poller is not None
        await wait_until(lambda: session.security_poller.latest.last_good is not None, timeout_s=60)
        for _ in range(3):  # a day of benign history and a few live polls
            await asyncio.sleep(INTERVAL_S)
        assert security_alerts(session) == [], "benign traffic raised nothing"

        for kind, rule in ATTACKS:
            started = await asyncio.to_thread(start_attack, server, kind, 100.0)
            ends_in = max(0.0, (parse_time(started["ends_at"]) - datetime.now(UTC)).total_seconds())

            actors = " ".join(str(value) for value in _flat(started.get("actors", {})))

            def detected(rule: str = rule, actors: str = actors) -> list[Any]:
                """The rule's alerts about this attack's address, account or client."""
                return [a for a in security_alerts(session) if a.name == rule and _keyed_by(a, actors)]

            # the attack's events are written within its (compressed) duration and half a second (the
            # server's write tick); two polls find it, and a poll of a page of events takes under a second
            await wait_until(lambda: bool(detected()), timeout_s=ends_in + 2 * INTERVAL_S + WRITE_AND_READ_S)
            alert = detected()[0]
            assert alert.description.startswith("Evidence:\n") and alert.runbook == "runbooks/security.md"
            detection = feed.detection(alert.fingerprint)
            assert detection is not None and detection.evidence
        states = {state.name: state for state in feed.engine.states()}
        assert all(states[rule].matches >= 1 and states[rule].dropped == 0 for _kind, rule in ATTACKS)
        brute = next(a for a in security_alerts(session) if a.name == "BruteForceLogin")
        evidence = feed.detection(brute.fingerprint).evidence  # type: ignore[union-attr]
        assert len(evidence) == 8 and all(e["result"] == "failure" for e in evidence)
        assert len({e["ip"] for e in evidence}) == 1

    qloop.run(with_security(server, check)(), timeout_s=240)


def _keyed_by(alert: Any, actors: str) -> bool:
    if alert.name == "CredentialStuffing":  # platform-wide: keyed by the result, not by an actor
        return True
    labels = alert.labels
    key = labels.get("ip") or labels.get("user") or labels.get("client") or labels.get("actor") or ""
    return bool(key) and key in actors


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for inner in value.values() for item in _flat(inner)]
    if isinstance(value, list | tuple):
        return [item for inner in value for item in _flat(inner)]
    return [value]


def test_the_pane_shows_detections_and_rules_pivots_and_investigates_into_an_incident(
    qloop: QLoop, refserver_factory: Any
) -> None:
    server: RefServer = refserver_factory(
        "--seed", "9", "--scale", "0.02", "--scenario", "none", "--enable-fault-control"
    )
    attack = start_attack(server, "brute_force", 100.0)

    async def check(session: ConsoleSession) -> None:
        pane = SecurityPane(session)
        pane.resize(1366, 768)
        pane.show()
        try:
            await wait_until(
                lambda: pane.snapshot is not None and pane.detections.rowCount() > 0, timeout_s=60
            )
            rules = [row[0] for row in pane.rules.items()]
            assert rules[:2] == ["BruteForceLogin", "CredentialStuffing"] and len(rules) == 8
            row = next(i for i, r in enumerate(pane.detections.items()) if r[1] == "BruteForceLogin")
            pane.detection_view.selectRow(row)
            assert "8 failed logins from" in pane.evidence.text() and pane.investigate.isEnabled()
            ip = pane.selected_detection().key
            assert ip in " ".join(str(v) for v in _flat(attack.get("actors", {})))

            pane.pivot_to_ip(ip)
            await wait_until(lambda: pane.pivot is not None, timeout_s=20)
            tried = {row[0] for row in pane.pivot.tables[0].rows}
            body, _ = await session.api.get_json(f"/security/ip/{ip}")
            assert tried == {account["user"] for account in body["accounts"]} and len(tried) == 3

            pane.investigate.click()
            await wait_until(lambda: pane.message.text().startswith("Opened incident #"), timeout_s=30)
            incident_id = int(pane.message.text().split("#")[1].split()[0])

            async def evidence_on_timeline() -> int:
                body, _ = await session.api.get_json(f"/incidents/{incident_id}/timeline")
                items = body["items"] if isinstance(body, dict) else body
                return sum("Evidence (BruteForceLogin)" in str(item.get("text", "")) for item in items)

            counted = [0]

            async def poll() -> None:
                while counted[0] < 8:
                    counted[0] = await evidence_on_timeline()
                    await asyncio.sleep(0.5)

            await asyncio.wait_for(poll(), 30)
            assert counted[0] == 8
        finally:
            pane.shutdown()
            pane.hide()
            pane.deleteLater()

    qloop.run(with_security(server, check)(), timeout_s=180)


def test_only_analysts_and_admins_read_security_events(refserver_session: RefServer) -> None:
    for role, allowed in (("analyst", True), ("admin", True), ("viewer", False), ("finance", False)):
        token = httpx.post(
            f"{refserver_session.base_url}/auth/login",
            json={"email": f"{role}@nexus.test", "password": DEMO_PASSWORD},
        ).json()["access_token"]
        response = httpx.get(
            f"{refserver_session.base_url}/security/events/login",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert (response.status_code == 200) is allowed, (role, response.status_code)

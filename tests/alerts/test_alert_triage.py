"""The triage workflow without widgets: `session.alerts.triage` on a session that is never started, its
queue fed in-process and its Nexus API answered in-process. Which targets each action takes, what each
alert's source does, and the sentence the pane shows."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from nexus_console.domain.alert_actions import NOTHING_TO, TriageAction, eligible
from nexus_console.domain.alert_rules import LOCAL_SOURCE
from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity, parse_rfc3339
from nexus_console.domain.freshness import SourceState
from nexus_console.services.alert_runtime import AlertRuntime
from nexus_console.services.health_sources import DB_HEALTH
from nexus_console.workers.session import ConsoleSession
from tests.alerts.conftest import make_alert
from tests.support.session import offline_session

OWNER = "ops@nexus.test"  # tests.support.session.me_with_roles
ACK_CONFLICT = "alert 7 is already resolved"


def nexus_alert(i: int, state: AlertState = AlertState.FIRING) -> Alert:
    return Alert(
        fingerprint=f"fp{i}",
        source="nexus",
        name=f"Nexus{i}",
        severity=Severity.HIGH,
        state=state,
        source_id=str(i),
    )


SILENCE_END = "2030-01-01T12:15:00Z"


def nexus_api(request: httpx.Request) -> httpx.Response:
    """POST /alerts/7/acknowledge or /silence: 409 (resolved meanwhile); POST /alerts/8/resolve: the resolved
    alert; POST /alerts/9/silence: the silenced alert."""
    path = request.url.path
    if request.method == "POST" and path in ("/alerts/7/acknowledge", "/alerts/7/silence"):
        return httpx.Response(
            409, json={"type": "about:blank", "title": "Conflict", "status": 409, "detail": ACK_CONFLICT}
        )
    if request.method == "POST" and path == "/alerts/8/resolve":
        assert json.loads(request.content) == {"comment": ""}
        body = {"id": 8, "fingerprint": "fp8", "rule": "Nexus8", "severity": "high", "state": "resolved"}
        return httpx.Response(200, json={**body, "resolved_by": OWNER})
    if request.method == "POST" and path == "/alerts/9/silence":
        assert json.loads(request.content) == {"duration_s": 900, "comment": "deploy"}
        body = {"id": 9, "fingerprint": "fp9", "rule": "Nexus9", "severity": "high", "state": "silenced"}
        silence = {"silenced_until": SILENCE_END, "silenced_by": OWNER, "silence_comment": "deploy"}
        return httpx.Response(200, json={**body, **silence})
    return httpx.Response(404, json={"status": 404, "title": "Not Found"})


@pytest_asyncio.fixture
async def session() -> AsyncIterator[ConsoleSession]:
    async with offline_session("analyst", api_transport=httpx.MockTransport(nexus_api)) as built:
        yield built


def runtime(session: ConsoleSession) -> AlertRuntime:
    return session.alerts


def stored(session: ConsoleSession, alert: Alert) -> Alert:
    found = session.alerts.queue.store.get(alert.key)
    assert found is not None, f"{alert.key} is not in the queue"
    return found


def test_which_alerts_each_action_takes() -> None:
    states = {state: make_alert(state.value, source="prometheus", state=state) for state in AlertState}
    alerts = list(states.values())
    assert {a.state for a in eligible(TriageAction.ACKNOWLEDGE, alerts)} == {
        AlertState.FIRING,
        AlertState.PENDING,
    }
    for action in (TriageAction.RESOLVE, TriageAction.SILENCE):
        assert {a.state for a in eligible(action, alerts)} == set(AlertState) - {AlertState.RESOLVED}


@pytest.mark.asyncio
async def test_acknowledging_takes_firing_and_pending_alerts_and_counts_the_rest_as_handled(
    session: ConsoleSession,
) -> None:
    queue = runtime(session).queue
    firing = make_alert("Firing", source="prometheus")
    pending = make_alert("Pending", source="prometheus", state=AlertState.PENDING)
    acked = make_alert("Acked", source="prometheus", state=AlertState.ACKNOWLEDGED, ack_by="someone")
    queue.apply_snapshot("prometheus", [firing, pending, acked])

    result = await session.alerts.triage.acknowledge([stored(session, a) for a in (firing, pending, acked)])

    assert result.text == f"Acknowledged 2 alerts as {OWNER}; 1 already handled"
    assert (result.action, result.done, result.skipped, result.problems) == (
        TriageAction.ACKNOWLEDGE,
        2,
        1,
        (),
    )
    for alert in (firing, pending):
        now = stored(session, alert)
        assert now.state is AlertState.ACKNOWLEDGED and now.ack_by == OWNER  # a local ack with the owner
        assert now.ack_expires_at == now.ack_at + runtime(session).settings.ack_timeout_s  # type: ignore[operator]
    assert stored(session, acked).ack_by == "someone"
    # Nothing left to acknowledge: said at once, nothing done.
    again = [stored(session, a) for a in (firing, pending)]
    assert session.alerts.triage.nothing_to(TriageAction.ACKNOWLEDGE, again) is not None
    nothing = await session.alerts.triage.acknowledge(again)
    assert nothing.text == NOTHING_TO[TriageAction.ACKNOWLEDGE] and nothing.done == 0 and nothing.skipped == 2
    assert (await session.alerts.triage.acknowledge([])).text == NOTHING_TO[TriageAction.ACKNOWLEDGE]


@pytest.mark.asyncio
async def test_an_ack_the_source_refuses_is_reported_with_the_alert_and_the_others_still_go_through(
    session: ConsoleSession,
) -> None:
    queue = runtime(session).queue
    refused = nexus_alert(7)
    local = make_alert("Local", source="prometheus")
    queue.apply(AlertDiff((refused,)))
    queue.apply_snapshot("prometheus", [local])

    result = await session.alerts.triage.acknowledge([refused, stored(session, local)])

    assert result.text.startswith(f"Acknowledged 1 alert as {OWNER}; failed: Nexus7: ")
    assert "409" in result.text and result.done == 1 and len(result.problems) == 1
    assert stored(session, refused).state is AlertState.FIRING
    assert stored(session, local).state is AlertState.ACKNOWLEDGED


@pytest.mark.asyncio
async def test_resolving_goes_to_the_nexus_server_and_other_sources_say_once_that_they_resolve_themselves(
    session: ConsoleSession,
) -> None:
    queue = runtime(session).queue
    nexus = nexus_alert(8)
    others = [make_alert(f"Am{i}", source="alertmanager") for i in range(2)]
    done = make_alert("Done", source="prometheus", state=AlertState.RESOLVED)
    queue.apply(AlertDiff((nexus,)))
    queue.apply_snapshot("alertmanager", others)

    result = await session.alerts.triage.resolve([nexus, *others, done])

    assert result.text == (
        "Resolved 1 alert; alertmanager alerts resolve at their source when the condition clears;"
        " acknowledge or silence them instead"
    )
    assert (result.done, result.skipped, len(result.problems)) == (1, 1, 1)  # one line for both
    queue.drain()  # the server's answer was buffered for the runtime's drain (this session is not started)
    assert stored(session, nexus).state is AlertState.RESOLVED
    assert all(stored(session, a).state is AlertState.FIRING for a in others)
    assert (await session.alerts.triage.resolve([done])).text == NOTHING_TO[TriageAction.RESOLVE]


@pytest.mark.asyncio
async def test_silencing_without_alertmanager_is_an_ack_that_lasts_the_duration(
    session: ConsoleSession,
) -> None:
    queue = runtime(session).queue
    alerts = [make_alert(f"P{i}", source="prometheus") for i in range(2)]
    done = make_alert("Done", source="prometheus", state=AlertState.RESOLVED)
    queue.apply_snapshot("prometheus", [*alerts, done])

    result = await session.alerts.triage.silence(
        [stored(session, a) for a in (*alerts, done)], duration_s=900, comment="deploy", duration_text="15m"
    )

    assert result.text == "Silenced 2 alerts for 15m"
    assert (result.done, result.skipped) == (2, 1)
    for alert in alerts:
        now = stored(session, alert)
        assert now.state is AlertState.ACKNOWLEDGED and now.ack_by == OWNER
        assert now.ack_expires_at == now.ack_at + 900  # type: ignore[operator]
    nothing = await session.alerts.triage.silence([done], duration_s=60, duration_text="1m")
    assert nothing.text == NOTHING_TO[TriageAction.SILENCE]


@pytest.mark.asyncio
async def test_silencing_a_nexus_alert_silences_it_at_the_server_not_an_acknowledgement(
    session: ConsoleSession,
) -> None:
    queue = runtime(session).queue
    alert = nexus_alert(9)
    queue.apply(AlertDiff((alert,)))

    result = await session.alerts.triage.silence(
        [alert], duration_s=900, comment="deploy", duration_text="15m"
    )

    assert result.text == "Silenced 1 alert for 15m"
    queue.drain()  # the server's answer was buffered for the runtime's drain
    now = stored(session, alert)
    assert now.state is AlertState.SILENCED and now.ack_by is None
    assert (now.silence_owner, now.silence_comment) == (OWNER, "deploy")
    assert now.silenced_until == parse_rfc3339(SILENCE_END)


@pytest.mark.asyncio
async def test_a_failed_silence_names_the_alert(session: ConsoleSession) -> None:
    refused = nexus_alert(7)  # POST /alerts/7/silence: the server refuses it (resolved meanwhile)
    runtime(session).queue.apply(AlertDiff((refused,)))
    result = await session.alerts.triage.silence([refused], duration_s=60, duration_text="1m")
    assert result.text.startswith("Silenced 0 alerts for 1m; failed: Nexus7: ") and "409" in result.text


@pytest.mark.asyncio
async def test_local_rule_alerts_are_the_last_known_picture_while_a_document_they_judge_fails() -> None:
    async with offline_session("analyst") as built:  # its API is a closed port: every document fails
        runtime = built.alerts
        problems, stale = runtime.failing_sources(time.time())
        assert LOCAL_SOURCE not in stale
        poller = runtime.rule_inputs[DB_HEALTH]
        polling = asyncio.create_task(poller.run())
        try:
            for _ in range(200):
                if poller.status.state is SourceState.ERROR:
                    break
                await asyncio.sleep(0.02)
            problems, stale = runtime.failing_sources(time.time())
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
    assert LOCAL_SOURCE in stale
    assert f"Local rules: their inputs are failing ({DB_HEALTH})" in problems

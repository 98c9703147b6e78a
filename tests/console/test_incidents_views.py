"""The Incidents pane's models under Qt's own model tester, the open incident on a wall viewer's Health
pane, the role a refused change needs, and the alert queue's key that declares an incident."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from nexus_console.domain.alerts import AlertState, Transition
from nexus_console.domain.auth import Me
from nexus_console.domain.freshness import SourceState, SourceStatus, Stamped
from nexus_console.domain.incident_flow import IncidentDraft, IncidentList
from nexus_console.domain.incident_timeline import assemble_timeline
from nexus_console.domain.incidents import IncidentStatus
from nexus_console.models.incident_tables import IncidentTableModel, TimelineTableModel
from nexus_console.services.auth import Credentials
from nexus_console.services.incident_runtime import IncidentWriteError
from nexus_console.services.profiles import Profile
from nexus_console.views.health import HealthPane
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.domain.test_incident_timeline import at, audit_json, make_alert, make_entry, make_incident
from tests.support.refserver import RefServer
from tests.support.session import console_session, window_session


def timeline_events() -> list[Any]:
    incident = make_incident()
    firing = make_alert()
    acked = dataclasses.replace(firing, state=AlertState.ACKNOWLEDGED, ack_by="bo@example.com")
    transitions = [
        Transition(at(14, 3), None, AlertState.FIRING, firing),
        Transition(at(14, 6), AlertState.FIRING, AlertState.ACKNOWLEDGED, acked),
    ]
    entries = [make_entry(), make_entry(id=13, text="paged the DBA", pinned=False)]
    return assemble_timeline(incident, entries, transitions, [audit_json(5, at(14, 8))])


def test_the_dashboard_and_timeline_models_pass_qts_own_model_tester(qtmodeltester: Any) -> None:
    incidents = IncidentTableModel()
    incidents.set_incidents(
        [make_incident(), make_incident(id=43, status=IncidentStatus.RESOLVED, resolved_at=at(15, 0))]
    )
    qtmodeltester.check(incidents)
    assert incidents.rowCount() == 2 and incidents.row_of(43) == 1
    incidents.set_incidents([make_incident(id=44)])
    incidents.tick()
    assert incidents.rowCount() == 1

    timeline = TimelineTableModel()
    events = timeline_events()
    timeline.set_events(events)
    qtmodeltester.check(timeline)
    assert timeline.rowCount() == len(events) >= 5
    first_note = timeline.row_of("entry:12")
    assert first_note is not None and timeline.index(first_note, 2).data() == "restarted the order processor"
    assert "2026" in timeline.index(first_note, 0).data()  # a full date on every row
    timeline.set_events(events[:2])
    assert timeline.rowCount() == 2


def test_an_open_incident_shows_as_a_banner_on_a_wall_viewers_health_pane(qtbot: Any) -> None:
    with window_session("viewer") as session:
        assert session.incidents is not None and session.incidents.outbox is None  # reads, never writes
        pane = HealthPane(session)
        qtbot.addWidget(pane)
        pane.show()
        now = time.time()
        opened = make_incident(title="Checkout errors", created_at=now - 600, impact_started_at=now - 900)
        listing = IncidentList((opened, make_incident(id=41, status=IncidentStatus.CLOSED, closed_at=now)))
        banner = pane.incident_banner
        banner.on_status(SourceStatus("incidents", SourceState.OK, Stamped(listing, now, now, 5.0)))
        assert banner.isVisible()
        assert banner.text().startswith("Incident #42 open for 15 min") and "Checkout errors" in banner.text()
        resolved = dataclasses.replace(opened, resolved_at=now, status=IncidentStatus.RESOLVED)
        banner.on_status(
            SourceStatus("incidents", SourceState.OK, Stamped(IncidentList((resolved,)), now, now, 5.0))
        )
        assert not banner.isVisible()


def test_a_viewer_who_tries_to_declare_is_told_which_role_may(
    qloop: QLoop, refserver_session: RefServer, tmp_path: Path
) -> None:
    async def scenario() -> str:
        async with api_stack(refserver_session.base_url) as stack:
            me = await stack.auth.login(Credentials("viewer@nexus.test", DEMO_PASSWORD))
            profile = Profile("lab", refserver_session.base_url)
            me = Me(me.id, me.email, me.name, frozenset(me.roles))
            async with console_session(profile, stack.api, stack.http, me, start=False) as session:
                assert session.incidents is not None
                try:
                    await session.incidents.declare(IncidentDraft("Checkout slow", make_incident().severity))
                except IncidentWriteError as exc:
                    return str(exc)
                return "declared"

    assert "You need the 'analyst' role" in qloop.run(scenario(), timeout_s=30)

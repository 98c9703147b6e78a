"""The Incidents pane's models under Qt's own model tester, the open incident on a wall viewer's Health
pane, the role a refused change needs, and the alert queue's key that declares an incident."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from nexus_console.domain.alerts import AlertState, Transition
from nexus_console.domain.auth import Me
from nexus_console.domain.freshness import SourceState, SourceStatus, Stamped
from nexus_console.domain.incident_flow import IncidentDraft, IncidentList
from nexus_console.domain.incident_timeline import assemble_timeline
from nexus_console.domain.incidents import IncidentStatus
from nexus_console.launch_options import settings_for_console
from nexus_console.models.incident_tables import IncidentTableModel, TimelineTableModel
from nexus_console.services.auth import Credentials
from nexus_console.services.incident_runtime import IncidentWriteError
from nexus_console.services.profiles import Profile
from nexus_console.views.alerts import AlertsPane
from nexus_console.views.health import HealthPane
from nexus_console.views.incidents import IncidentsPane
from nexus_console.views.incidents.declare_dialog import DeclareDialog
from nexus_console.views.main_window import MainWindow
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
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
        clicked: list[int] = []
        banner.clicked.connect(clicked.append)
        QTest.mouseClick(banner, Qt.MouseButton.LeftButton)
        assert clicked == [42]  # the incident it names, for the Incidents pane to open
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


def test_i_on_marked_alerts_declares_an_incident_that_links_the_nexus_ones(qtbot: Any, qloop: QLoop) -> None:
    declared: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/incidents":
            body = json.loads(request.content)
            declared.append(body)
            incident = make_incident(
                id=7, title=body["title"], status=IncidentStatus.TRIAGE, alert_ids=tuple(body["alert_ids"])
            )
            return httpx.Response(201, json=incident.to_json(), headers={"ETag": '"v1"'})
        if path.startswith("/incidents"):
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        return httpx.Response(404, json={"title": "not here", "status": 404})

    with window_session("analyst", api_transport=httpx.MockTransport(answer)) as session:
        window = MainWindow(session, [AlertsPane, IncidentsPane], settings_for_console())
        qtbot.addWidget(window)
        window.show()
        alerts = window.panes[0]
        assert isinstance(alerts, AlertsPane)
        orders = make_alert("41", "orders", summary="Checkout 5xx above 5%")
        node = make_alert("x", "orders", source="alertmanager", name="NodeDown", source_id="fp-9")
        session.alerts.queue.submit_snapshot("nexus", [orders])
        session.alerts.queue.submit_snapshot("alertmanager", [node])
        session.alerts.queue.drain()

        async def scenario() -> None:
            alerts.queue_view.select_row(0)
            alerts.table.setFocus()
            for row in range(alerts.proxy.rowCount()):
                alerts.queue_view.select_row(row)
                QTest.keyClick(alerts.table, "m")  # mark both
            QTest.keyClick(alerts.table, "i")
            await wait_until(lambda: window.findChild(DeclareDialog) is not None, timeout_s=5)
            dialog = window.findChild(DeclareDialog)
            assert window.current_pane() is window.panes[1]  # the Incidents pane, with the draft
            assert dialog.title_edit.text().endswith("on orders (+1 more alerts)")
            dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
            await wait_until(lambda: bool(declared), timeout_s=5)

        qloop.run(scenario(), timeout_s=20)
    (body,) = declared
    assert body["alert_ids"] == [41] and body["services"] == ["orders"] and body["severity"] == "critical"

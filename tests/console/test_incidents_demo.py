"""The Incidents pane against the real reference server: the demo scenario's incident assembled end to end,
and changes made with the server down that reach it exactly once when it returns."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from nexus_console import incident_cli
from nexus_console.domain.incident_timeline import EventType, linked_alert_key
from nexus_console.domain.incidents import IncidentStatus
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.domain.postmortem import ActionItem
from nexus_console.services.auth import AuthSession, Credentials
from nexus_console.services.keychain import Keychain
from nexus_console.views.incidents.edit_dialog import EditIncidentDialog
from nexus_console.views.incidents.export import export_postmortem
from tests.console.api_support import DEMO_PASSWORD
from tests.console.conftest import QLoop
from tests.console.console_support import write_profile
from tests.console.helpers import wait_until
from tests.console.incident_support import ADMIN, DEMO_TITLE, ORDERS, IncidentConsole, incident_console


def type_line(console: IncidentConsole, line: str) -> None:
    """The responder types on the quick-entry line and presses Enter."""
    entry = console.pane.detail.timeline.entry
    entry.setFocus()
    entry.setText(line)
    QTest.keyClick(entry, Qt.Key.Key_Return)


def server_timeline(base_url: str, token: str, incident_id: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/incidents/{incident_id}/timeline",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )
    response.raise_for_status()
    return list(response.json()["items"])


@pytest.mark.slow
def test_the_demo_incident_assembles_itself_from_alerts_acks_admin_actions_and_notes_in_order(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    server = refserver_factory(
        "--scenario", "default", "--clock-factor", "20", "--scale", "0.02", "--seed", "7"
    )

    async def scenario() -> None:
        async with incident_console(server.base_url, tmp_path) as console:
            pane = console.pane
            # The scenario declares its incident when the order processor starts failing; the pane follows it.
            await wait_until(
                lambda: console.detail is not None and console.detail.incident.title == DEMO_TITLE,
                timeout_s=60,
            )
            incident = console.detail.incident
            assert incident.services == (ORDERS,) and incident.status is IncidentStatus.TRIAGE
            assert pane.model.rowCount() >= 1 and "Open now: 1" in pane.stats_label.text()

            # An alert of the order processor fires; another responder acknowledges it.
            async def firing_alert() -> dict[str, Any] | None:
                answer = await console.api("GET", "/alerts?limit=500")
                items = answer.json()["items"]
                return next((a for a in items if a["service"] == ORDERS and a["state"] == "firing"), None)

            alert: dict[str, Any] | None = None
            deadline = time.monotonic() + 60
            while alert is None and time.monotonic() < deadline:
                alert = await firing_alert()
                if alert is None:
                    await asyncio.sleep(0.5)
            assert alert is not None, "no order processor alert fired"
            acked = await console.api("POST", f"/alerts/{alert['id']}/acknowledge", {"comment": "looking"})
            assert acked.status_code == 200, acked.text

            # An admin suspends a user meanwhile (the audit log has it).
            users = (await console.api("GET", "/admin/users?status=active&limit=1")).json()["items"]
            user = await console.api("GET", f"/admin/users/{users[0]['id']}")
            suspended = await console.api(
                "PATCH",
                f"/admin/users/{users[0]['id']}",
                {"action": "suspend", "reason": "card testing from the order processor"},
                **{"If-Match": user.headers["ETag"]},
            )
            assert suspended.status_code == 200, suspended.text

            # The responder backfills what they did a minute ago, notes what they do now, and resolves.
            earlier = datetime.now() - timedelta(minutes=1)
            type_line(console, f"{earlier:%H:%M} restarted the order processor")
            await wait_until(lambda: pane.detail.timeline.entry.text() == "", timeout_s=10)
            type_line(console, "error rate back under 1 %")
            await wait_until(lambda: pane.detail.timeline.entry.text() == "", timeout_s=10)
            await wait_until(
                lambda: any(e.text == "error rate back under 1 %" for e in console.detail.events), 20
            )
            detail = pane.detail
            detail.status_combo.setCurrentIndex(list(IncidentStatus).index(IncidentStatus.RESOLVED))
            detail.move_button.click()
            await wait_until(lambda: console.detail.incident.status is IncidentStatus.RESOLVED, timeout_s=20)
            await wait_until(lambda: pane.detail.message.text() == "Moved to Resolved.", timeout_s=10)

            def assembled() -> bool:
                kinds = {event.type for event in console.detail.events}
                return {EventType.ALERT, EventType.ACK, EventType.ADMIN, EventType.NOTE} <= kinds

            await wait_until(assembled, timeout_s=30)
            events = console.detail.events
            # One ordered list (within a displayed second the type decides: a milestone leads its status).
            assert [int(e.at) for e in events] == sorted(int(e.at) for e in events)
            assert all(e.link is not None for e in events)  # each leads to its source
            key = linked_alert_key(alert["id"])
            ack = next(e for e in events if e.type is EventType.ACK and e.link.target == key)
            assert ack.link.kind == "alert" and "acknowledged by " + ADMIN in ack.text
            fired = [e for e in events if e.type is EventType.ALERT and e.link.target == key]
            assert fired and fired[0].at <= ack.at
            admin = next(e for e in events if e.type is EventType.ADMIN)
            assert (
                admin.link.kind == "audit" and "suspend user" in admin.text and "card testing" in admin.text
            )
            backfilled = next(e for e in events if e.text == "restarted the order processor")
            assert datetime.fromtimestamp(backfilled.at).strftime("%H:%M") == f"{earlier:%H:%M}"
            assert backfilled.author == ADMIN and backfilled.link.kind == "incident_entry"
            now_note = next(e for e in events if e.text == "error rate back under 1 %")
            assert backfilled.at < now_note.at
            milestones = {e.key for e in events if e.type is EventType.MILESTONE}
            assert {"milestone:detected_at", "milestone:resolved_at"} <= milestones
            # Every row carries a full date, for incidents that span days.
            row = pane.detail.timeline.model.row_of(now_note.key)
            assert row is not None
            when = pane.detail.timeline.model.index(row, 0).data()
            assert str(datetime.now().year) in when
            # The dashboard says the incident is resolved, with its time to resolve.
            assert "Open now: 0" in pane.stats_label.text() and "MTTR" in pane.stats_label.text()

            # The post-mortem: written in the app, saved, exported as a real PDF.
            editor = pane.detail.postmortem
            pane.detail.tabs.setCurrentWidget(editor)
            await wait_until(lambda: editor.isEnabled(), timeout_s=10)
            editor.owner.setText(ADMIN)
            editor.texts["summary"].setPlainText("The order processor lost its database connections.")
            editor.add_item(ActionItem("Alert on connection pool exhaustion", "dba@nexus.test", None, False))
            editor.save_button.click()
            await wait_until(lambda: "Saved (version 1)" in editor.status.text(), timeout_s=10)
            pdf = tmp_path / "postmortem.pdf"
            pages = await export_postmortem(console.detail, editor.document(), "pdf", pdf)
            assert pages >= 1
            text = pdf_text(pdf)
            for expected in (
                DEMO_TITLE,
                "Summary",
                "lost its database connections",
                "Timeline",
                "restarted the order processor",
                "Action items",
                "connection pool exhaustion",
            ):
                assert expected in text, expected

            # Signed in with "remember me", the headless export writes the same document.
            keychain_auth = AuthSession(server.base_url, console.stack.http, Keychain("nexus-console:lab"))
            await keychain_auth.login(Credentials(ADMIN, DEMO_PASSWORD, remember=True))
            seen["incident_id"] = incident.id

    seen: dict[str, Any] = {}
    write_profile(server.base_url, "lab")
    qloop.run(scenario(), timeout_s=180)
    out = tmp_path / "headless.md"
    assert incident_cli.main(["export", str(seen["incident_id"]), "--format", "md", "--out", str(out)]) == 0
    markdown = out.read_text()
    assert markdown.startswith(f"# Post-mortem: {DEMO_TITLE}") or DEMO_TITLE in markdown.splitlines()[0]
    assert "## Timeline" in markdown and "restarted the order processor" in markdown
    assert "connection pool exhaustion" in markdown


def pdf_text(path: Path) -> str:
    """The PDF's text as poppler reads it."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


@pytest.mark.slow
def test_a_note_written_with_the_server_down_reaches_it_exactly_once_and_a_conflict_is_shown(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    server = refserver_factory("--scenario", "none", "--scale", "0.02", "--seed", "7")

    async def scenario() -> None:
        async with incident_console(server.base_url, tmp_path) as console:
            pane = console.pane
            declared = await console.api("POST", "/incidents", {"title": "Checkout slow", "severity": "high"})
            assert declared.status_code == 201, declared.text
            incident_id = declared.json()["id"]
            await wait_until(
                lambda: console.detail is not None and console.detail.incident.id == incident_id, 20
            )
            token = await console.stack.auth.token_getter()()

            server.stop()
            type_line(console, "paged the database team")
            strip = pane.queue_strip
            await wait_until(
                lambda: strip.isVisible() and "not answering" in strip.label.text(), timeout_s=20
            )
            assert "1 change waits" in strip.label.text()
            assert pane.detail.timeline.entry.text() == ""  # queued: the line is free for the next one

            server.start()
            await wait_until(lambda: not strip.isVisible(), timeout_s=30)
            await wait_until(
                lambda: any(e.text == "paged the database team" for e in console.detail.events), timeout_s=20
            )
            notes = [
                e
                for e in server_timeline(server.base_url, token, incident_id)
                if e["text"] == "paged the database team"
            ]
            assert len(notes) == 1  # exactly once

            # Someone else moves the incident on; the responder's change, made on what they saw, conflicts.
            current = (await console.api("GET", f"/incidents/{incident_id}")).json()["version"]
            await wait_until(lambda: console.detail.incident.version == current, timeout_s=10)
            seen = console.detail.incident
            other = await console.api(
                "PATCH",
                f"/incidents/{incident_id}",
                {"severity": "critical"},
                **{"If-Match": f'"v{seen.version}"'},
            )
            assert other.status_code == 200, other.text
            pane.move_to(IncidentStatus.FIXING)
            await wait_until(lambda: strip.isVisible() and "someone else changed" in strip.label.text(), 20)
            assert strip.again_button.isVisible()
            assert (await console.session.incidents.outbox.outbox.counts())[OutboxState.CONFLICT] == 1
            strip.again_button.click()
            await wait_until(lambda: console.detail.incident.status is IncidentStatus.FIXING, timeout_s=20)
            await wait_until(lambda: not strip.isVisible(), timeout_s=10)
            assert console.detail.incident.severity.value == "critical"  # their change kept

            # The responder corrects the note's time and text from the keyboard (e on the event, Enter).
            timeline = pane.detail.timeline
            note = next(e for e in console.detail.events if e.text == "paged the database team")
            assert timeline.select_key(note.key)
            timeline.table.setFocus()
            QTest.keyClick(timeline.table, "e")
            assert timeline.entry.text().endswith(" paged the database team")
            timeline.entry.setText("-10m paged the database team and the DBA on call")
            QTest.keyClick(timeline.entry, Qt.Key.Key_Return)
            corrected = "paged the database team and the DBA on call"
            await wait_until(lambda: any(e.text == corrected for e in console.detail.events), timeout_s=20)
            moved = next(e for e in console.detail.events if e.text == corrected)
            assert moved.key == note.key and abs(moved.at - (time.time() - 600)) < 30

            # Ctrl+E: a responder with a role and an earlier impact start, sent as one queued change.
            pane.edit()
            await wait_until(lambda: pane.findChild(EditIncidentDialog) is not None, timeout_s=5)
            dialog = pane.findChild(EditIncidentDialog)
            dialog.responders.setPlainText("dba@nexus.test database")
            dialog.times["impact_started_at"].setText("-30m")
            dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
            await wait_until(lambda: console.detail.incident.responders != (), timeout_s=20)
            edited = console.detail.incident
            assert [(r.email, r.role) for r in edited.responders] == [("dba@nexus.test", "database")]
            assert (
                edited.impact_started_at is not None
                and abs(edited.impact_started_at - (time.time() - 1800)) < 60
            )

    qloop.run(scenario(), timeout_s=180)

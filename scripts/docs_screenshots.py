"""Render the README's screenshots from the running console on the demo scenario.

Run on a real X display (the Makefile target wraps it in xvfb-run):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/docs_screenshots.py --out docs

It starts the console with `--demo`, lets the demo incident develop for `--settle` seconds (the order
processor's latency and 5xx climb within two minutes), then shows each view the way a user would reach it and
saves the window as PNG.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from nexus_console.app import ConsoleApp
from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.freshness import SourceState
from nexus_console.domain.incidents import IncidentStatus
from nexus_console.domain.postmortem import ActionItem
from nexus_console.domain.uptime import DAY_S, BucketTally, Grain, Tally
from nexus_console.launch_options import parse_args
from nexus_console.views.theme import apply_theme
from nexus_console.workers.event_loop import ConsoleEventLoop

INCIDENT_SERVICE = "puabo-nuki-order-processor"


async def settle(seconds: float) -> None:
    """Let Qt paint and the pollers deliver for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def shoot(console: ConsoleApp, out: Path, settle_s: float, size: tuple[int, int]) -> None:
    try:
        while console.window is None:
            await asyncio.sleep(0.1)
        window = console.window
        window.resize(*size)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = list(window.session.statuses().values())
            if statuses and all(s.state is SourceState.OK for s in statuses):
                break
            await asyncio.sleep(0.2)
        print(f"sources up; letting the demo incident develop for {settle_s:.0f} s", file=sys.stderr)
        await settle(settle_s)

        out.mkdir(parents=True, exist_ok=True)
        health = next(p for p in window.panes if p.title == "Health")
        window.show_pane("Health")
        health.select_service(INCIDENT_SERVICE)
        await settle(2)
        save(window, out / "health.png")

        health.tabs.setCurrentWidget(health.overview)
        await settle(2)
        save(window, out / "health-overview.png")
        health.tabs.setCurrentIndex(0)

        window.show_pane("Alerts")
        await settle(2)
        alerts = next(p for p in window.panes if p.title == "Alerts")
        if alerts.proxy.rowCount():
            alerts.queue_view.select_row(0)
        await settle(1)
        save(window, out / "alerts.png")

        await incident_shots(window, out)
        await admin_shots(window, out)
        await uptime_shots(window, out)
        await analytics_shots(window, out)
        await security_shots(window, out)
        await compliance_shots(window, out)
        await database_shots(window, out)
        await infrastructure_shots(window, out)
        await wall_shots(console, out)
    finally:
        console.request_quit(0)


async def incident_shots(window: Any, out: Path) -> None:
    """The demo incident as a responder works it: acknowledged, a note backfilled from the keyboard, moved
    to fixing; the dashboard with its timeline, then the post-mortem being written."""
    incidents = next(p for p in window.panes if p.title == "Incidents")
    window.show_pane("Incidents")
    deadline = time.monotonic() + 60
    while incidents.detail_data is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    timeline = incidents.detail.timeline
    if incidents.detail.incident is not None and incidents.detail.incident.status.value == "triage":
        incidents.move_to(IncidentStatus.INVESTIGATING)
        await settle(2)
        earlier = time.strftime("%H:%M", time.localtime(time.time() - 60))
        for line in (f"{earlier} restarted the order processor: no change", "DB connection pool at 100 %"):
            timeline.entry.setText(line)
            timeline.entry.returnPressed.emit()
            await settle(1.5)
        incidents.take_command()
        await settle(1.5)
        incidents.move_to(IncidentStatus.FIXING)
    await settle(4)
    if timeline.model.rowCount():
        timeline.table.selectRow(timeline.model.rowCount() - 1)
    await settle(1)
    save(window, out / "incidents.png")

    editor = incidents.detail.postmortem
    incidents.detail.tabs.setCurrentWidget(editor)
    deadline = time.monotonic() + 20
    while not editor.isEnabled() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    editor.owner.setText("admin@nexus.test")
    texts = {
        "summary": "The order processor ran out of marketplace database connections; 8 % of orders failed.",
        "impact": "Checkout errors for about 20 minutes; no orders lost (the clients retried).",
        "root_cause": "A connection leak in the retry path, released only on process restart.",
    }
    for name, text in texts.items():
        editor.texts[name].setPlainText(text)
    editor.add_item(
        ActionItem("Alert on connection pool saturation above 80 %", "dba@nexus.test", None, False)
    )
    editor.add_item(ActionItem("Close connections in the retry path", "orders@nexus.test", None, False))
    editor.save_button.click()
    await settle(2)
    save(window, out / "incident-postmortem.png")
    incidents.detail.tabs.setCurrentIndex(0)


async def admin_shots(window: Any, out: Path) -> None:
    """A user lookup with its detail, then the action queue with applied, queued and conflicting actions."""
    runtime = window.session.admin
    assert runtime is not None, "the screenshots sign in as the demo admin"
    await runtime.ready.wait()
    admin = next(p for p in window.panes if p.title == "Admin")
    window.show_pane("Admin")
    admin.search_edit.setText("patel")
    await admin.search()
    await settle(1)
    first = admin.model.id_at(0)
    if first is not None:
        admin.select_id(first)
    await settle(2)
    save(window, out / "admin-lookup.png")

    # As if an admin had worked through a few tickets: two actions on the versions they saw, and one on a user
    # another admin changed in the meantime (a conflict, shown with the server's state and the choices).
    users = [admin.model.id_at(row) for row in range(min(5, admin.model.rowCount()))]
    reasons = [
        ("suspend", "Chargeback fraud ring, ticket SEC-4411", False),
        ("reset_password", "Password reset requested by phone, ticket 88213", False),
        ("suspend", "Repeated harassment reports (T&S case 1907)", True),
    ]
    for user_id, (action, reason, outdated) in zip(users, reasons, strict=False):
        row = admin.model.cached_row(user_id) if user_id is not None else None
        if row is None:
            continue
        seen = int(row["version"])
        if outdated:
            await window.session.api.patch_json(
                f"/admin/users/{user_id}",
                {"action": "reset_password", "reason": "Requested by the user, ticket 88990"},
                if_match=f'"v{seen}"',
                idempotency_key=str(uuid.uuid4()),
            )
        await runtime.actions.queue(
            ActionRequest(EntityRef(EntityType.USER, user_id), action, reason, expected_version=seen)
        )
    await settle(4)
    window.show_pane("Action queue")
    await settle(1)  # a pane shown again catches up with what changed while it was hidden
    queue = next(p for p in window.panes if p.title == "Action queue")
    states = [str(queue.model.index(row, 4).data()) for row in range(queue.model.rowCount())]
    conflicts = [row for row, state in enumerate(states) if "conflict" in state]
    if conflicts:
        queue.table.selectRow(conflicts[0])
    await settle(2)
    save(window, out / "admin-queue.png")


async def uptime_shots(window: Any, out: Path) -> None:
    """The Uptime pane. A demo console has recorded minutes, not months: 89 days of scripted probe history
    (seeded, with a few outages and degraded days) go into its rollups first, so the picture shows what a
    console that has watched the estate for a quarter shows. The caption in the README says so."""
    session = window.session
    catalog = session.health.services.status.last_good
    names = [s.name for s in catalog.value.services] if catalog is not None else [INCIDENT_SERVICE]
    rng = random.Random(11)
    today = int(time.time()) // DAY_S * DAY_S
    tallies = []
    for name in names:
        for back in range(1, 90):
            down = rng.choice([0] * 60 + [rng.randint(60, 900), rng.randint(1800, 5400)])
            degraded = rng.choice([0] * 12 + [rng.randint(300, 3600)])
            if name == INCIDENT_SERVICE and back == 12:
                down = 2400
            no_data = 3600 if back in (30, 31) else 0  # the console was off for an update
            up = DAY_S - down - degraded - no_data
            tallies.append(
                BucketTally(name, Grain.DAY, today - back * DAY_S, Tally(up, degraded, down, no_data))
            )
    await session.uptime.store.record(tallies, {})
    uptime = window.show_pane("Uptime")
    await session.uptime.refresh()
    await settle(2)
    uptime.select(INCIDENT_SERVICE)
    await settle(1)
    save(window, out / "uptime.png")


async def analytics_shots(window: Any, out: Path) -> None:
    """Each page of the Analytics pane (the demo admin reads revenue too)."""
    analytics = window.show_pane("Analytics")
    for index in range(analytics.tabs.count()):
        title = analytics.tabs.tabText(index)
        if title == "Reports":
            continue
        analytics.tabs.setCurrentIndex(index)
        await settle(3)
        save(window, out / f"analytics-{title.lower()}.png")
    builder = analytics.builder
    analytics.tabs.setCurrentWidget(builder)
    builder.name.setText("Weekly vendor performance")
    for i in range(builder.metrics.count()):
        item = builder.metrics.item(i)
        item.setCheckState(
            Qt.CheckState.Checked if item.text() in ("Orders", "Units", "Revenue") else item.checkState()
        )
    builder.breakdowns[0].setCurrentText("Vendor")
    builder.breakdowns[1].setCurrentText("Week")
    builder.days.setValue(28)
    builder.schedule.setText("weekly mon 08:00")
    builder.email_to.setText("ops@nexus.test")
    builder.run_button.click()
    deadline = time.monotonic() + 20
    while builder.table is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await settle(1)
    save(window, out / "analytics-reports.png")


async def security_shots(window: Any, out: Path) -> None:
    """The demo's attacks as the analyst sees them: the detections with the brute force's evidence and its
    address pivoted to the accounts it tried; then the activity over the day."""
    pane = window.show_pane("Security")
    deadline = time.monotonic() + 60
    while (pane.snapshot is None or not pane.snapshot.detections) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    rows = [row[1] for row in pane.detections.items()]
    if "BruteForceLogin" in rows:
        pane.detection_view.selectRow(rows.index("BruteForceLogin"))
        pane.pivot_to_ip(pane.selected_detection().key)
    await settle(3)
    save(window, out / "security.png")
    pane.tabs.setCurrentIndex(1)
    await settle(2)
    save(window, out / "security-activity.png")
    pane.tabs.setCurrentIndex(0)


async def compliance_shots(window: Any, out: Path) -> None:
    """The data-subject requests with their clocks, then consent and retention."""
    pane = window.show_pane("Compliance")
    deadline = time.monotonic() + 30
    while pane.register is None and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await settle(2)
    save(window, out / "compliance.png")
    pane.tabs.setCurrentIndex(1)
    await settle(2)
    save(window, out / "compliance-consent.png")
    pane.tabs.setCurrentIndex(2)
    await settle(1)
    save(window, out / "compliance-moderation.png")
    pane.tabs.setCurrentIndex(0)


async def database_shots(window: Any, out: Path) -> None:
    """The PostgreSQL servers (the demo stack's primary and replicas when it runs), the primary's sessions,
    then its slowest statements."""
    pane = window.show_pane("Database")
    deadline = time.monotonic() + 30
    while (pane.snapshot is None or not pane.snapshot.readings) and time.monotonic() < deadline:
        if pane.snapshot is not None and pane.snapshot.note:
            break
        await asyncio.sleep(0.5)
    await settle(12)  # a few readings, so the rates have a line
    save(window, out / "database.png")
    pane.details.setCurrentIndex(1)
    await settle(1)
    save(window, out / "database-statements.png")
    pane.details.setCurrentIndex(0)


async def infrastructure_shots(window: Any, out: Path) -> None:
    """The hosts Prometheus knows (the demo stack's node exporter when it runs) with their triggers."""
    pane = window.show_pane("Infrastructure")
    deadline = time.monotonic() + 30
    while pane.snapshot is None and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await settle(3)
    save(window, out / "infrastructure.png")


async def wall_shots(console: ConsoleApp, out: Path) -> None:
    """The wall as a control room sees it: the status view, then a rotation item."""
    console.open_wall()
    wall = console.wall
    assert wall is not None
    name, wall_window = next(iter(wall.windows.items()))
    await settle(3)
    save(wall_window, out / "wall-status.png")
    wall.next_item(name)  # Health
    await settle(3)
    save(wall_window, out / "wall-health.png")
    console.close_wall()


def save(window: object, path: Path) -> None:
    if not window.grab().save(str(path), "PNG"):  # type: ignore[attr-defined]
        raise SystemExit(f"could not save {path}")
    print(f"saved {path}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--settle", type=float, default=150.0, help="seconds of demo before the shots")
    parser.add_argument("--size", default="1600x1000", help="window size WIDTHxHEIGHT (e.g. 1366x768)")
    options = parser.parse_args()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_theme(app)
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    console = ConsoleApp(parse_args(["--demo"]), app)
    with loop:
        width, height = (int(part) for part in options.size.lower().split("x"))
        shots = loop.create_task(shoot(console, options.out, options.settle, (width, height)))
        code = loop.run_until_complete(console.run())
        if shots.done() and shots.exception() is not None:
            raise shots.exception()  # type: ignore[misc]
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""The Alerts pane against real servers: keyboard triage of a real Nexus alert raised by a fault, and an
ack through Alertmanager that becomes a silence carrying the owner, against the real Prometheus stack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.domain.auth import Me
from nexus_console.models.alert_table import OWNER_COLUMN, STALE_ROLE, STATE_COLUMN
from nexus_console.services.alert_runtime import AlertSourceSettings
from nexus_console.services.auth import Credentials
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.profiles import Profile
from nexus_console.views.alerts import AlertsPane
from nexus_console.views.alerts.queue_view import AlertQueueView
from nexus_console.views.alerts.side_views import SilenceDialog
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import add_fault, wait_until
from tests.support.prometheus_stack import ALWAYS_FIRING, PrometheusStack
from tests.support.session import console_session

FAULTED_SERVICE = "puabo-nuki-order-processor"
ADMIN = "admin@nexus.test"


@dataclass
class FakePlayer:
    played: list[Severity] = field(default_factory=list)

    def play(self, severity: Severity) -> None:
        self.played.append(severity)

    def close(self) -> None:
        pass


@dataclass
class AlertsConsole:
    session: ConsoleSession
    pane: AlertsPane
    player: FakePlayer
    badges: list[int]

    @property
    def view(self) -> AlertQueueView:
        return self.pane.queue_view

    def rows(self) -> list[Alert]:
        return self.pane.proxy.visible_alerts()

    def find(self, predicate: Any) -> Alert | None:
        return next((alert for alert in self.rows() if predicate(alert)), None)

    def cell(self, key: str, column: int) -> str:
        row = self.pane.proxy.row_of_key(key)
        assert row is not None, f"{key} is not shown"
        return self.pane.proxy.index(row, column).data()

    def press(self, text: str) -> None:
        self.pane.table.setFocus()
        QTest.keyClick(self.pane.table, text)


@asynccontextmanager
async def alerts_console(
    base_url: str,
    tmp_path: Path,
    *,
    ack_timeout_s: float = 3600.0,
    health: HealthSourceSettings | None = None,
    **profile: Any,
) -> AsyncIterator[AlertsConsole]:
    """The real session of a signed-in admin (fast alert polling, the history in tmp_path, an alerts.toml
    whose critical sound repeats hourly; `health` for the Health sources the local rules judge) and a
    shown AlertsPane, built before the session starts (as the app does)."""
    pane_settings = tmp_path / "alerts.toml"
    pane_settings.write_text("[notifications]\nrepeat_critical_s = 3600\n")
    settings = SessionSettings(
        alerts=AlertSourceSettings(
            alertmanager_interval_s=0.5,
            prometheus_interval_s=1.0,
            history_path=tmp_path / "history.db",
            ack_timeout_s=ack_timeout_s,
            pane_settings_path=pane_settings,
        ),
        health=health or HealthSourceSettings(),
    )
    async with api_stack(base_url) as stack:
        me = await stack.auth.login(Credentials(ADMIN, DEMO_PASSWORD))
        async with console_session(
            Profile("lab", base_url, **profile),
            stack.api,
            stack.http,
            Me(me.id, me.email, me.name, frozenset(me.roles)),
            settings=settings,
            start=False,
        ) as session:
            player = FakePlayer()
            pane = AlertsPane(session, player=player)
            badges: list[int] = []
            pane.badge_changed.connect(badges.append)
            pane.resize(1600, 900)
            pane.show()
            session.start()
            try:
                yield AlertsConsole(session, pane, player, badges)
            finally:
                pane.shutdown()
                pane.hide()  # not close(): closing the last window would quit the qasync loop
                pane.deleteLater()


async def server_alert(base_url: str, token: str, alert_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        response = await http.get(
            "/alerts", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return next(item for item in response.json()["items"] if str(item["id"]) == alert_id)


@pytest.mark.slow
def confirm_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.objectName() == "resolveConfirm" and widget.isVisible():
            return widget
    return None


def test_pressing_a_acknowledges_a_real_nexus_alert_and_the_server_records_the_owner(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    # Access tokens live 4 s, so the ack below needs the session refreshed first.
    server = refserver_factory(
        "--scenario",
        "none",
        "--clock-factor",
        "60",
        "--enable-fault-control",
        "--scale",
        "0.02",
        "--access-ttl",
        "4",
    )

    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane = console.pane
            # The alert runtime's tasks run: the Nexus feed, the queue, its drain and the rule clock.
            await wait_until(lambda: console.session.tasks.pending() >= 4, timeout_s=5)
            assert pane.notifier.repeat_timer.interval() == 3_600_000  # alerts.toml, read by the runtime
            first_token_expiry = asyncio.get_running_loop().time() + 4.5
            await wait_until(lambda: pane.runtime.nexus.mode.value == "streaming", timeout_s=20)
            add_fault(server.base_url, FAULTED_SERVICE, "error_rate", 0.5)

            def firing() -> Alert | None:
                return console.find(
                    lambda a: (
                        a.source == "nexus" and a.service == FAULTED_SERVICE and a.state is AlertState.FIRING
                    )
                )

            await wait_until(lambda: firing() is not None, timeout_s=60)
            alert = firing()
            assert alert is not None
            # The new critical/high alert was announced once, with a sound for its severity.
            announced = [
                n for n in pane.notifier.shown if alert.name in n.title and n.severity is alert.severity
            ]
            if alert.severity in (Severity.CRITICAL, Severity.HIGH):
                assert len(announced) == 1
                assert alert.severity in console.player.played
            assert pane.notifier.badge >= 1
            assert console.badges and console.badges[-1] == pane.notifier.badge  # for the window's badge

            # j / k move, Enter opens the details of the selected alert.
            rows = pane.proxy.rowCount()
            console.view.select_row(0)
            console.press("j")
            assert pane.table.currentIndex().row() == min(1, rows - 1)
            console.press("k")
            assert pane.table.currentIndex().row() == 0
            assert console.view.select_key(alert.key)
            console.press("\r")
            assert pane.detail.alert is not None and pane.detail.alert.key == alert.key
            assert FAULTED_SERVICE in pane.detail.header.text()
            first_token = console.session.api.auth.access_token
            await asyncio.sleep(max(0.0, first_token_expiry - asyncio.get_running_loop().time()))
            pane.table.setFocus()
            console.press("a")

            await wait_until(lambda: "Acknowledged" in pane.message.text(), timeout_s=20)
            token = console.session.api.auth.access_token
            assert token is not None and token != first_token  # the expired token was refreshed

            async def acknowledged_at_server() -> bool:
                item = await server_alert(server.base_url, token, alert.source_id)
                return item["state"] == "acknowledged" and item["ack_by"] == ADMIN

            deadline = asyncio.get_running_loop().time() + 20
            while not await acknowledged_at_server():
                assert asyncio.get_running_loop().time() < deadline, "the server never saw the ack"
                await asyncio.sleep(0.2)
            # The row follows: acknowledged, with the owner and the ack's age and timeout.
            await wait_until(
                lambda: (
                    console.cell(alert.key, OWNER_COLUMN) == ADMIN
                    and console.cell(alert.key, STATE_COLUMN).startswith("acknowledged")
                ),
                timeout_s=10,
            )
            assert "back in" in console.cell(alert.key, STATE_COLUMN)
            assert "Acknowledged 1 alert" in pane.message.text()
            # The history keeps the transition to acknowledged; the detail shows it.
            await wait_until(
                lambda: (
                    pane.detail.transitions is not None
                    and any(t.after is AlertState.ACKNOWLEDGED for t in pane.detail.transitions)
                ),
                timeout_s=10,
            )
            # An acknowledged alert is no longer unhandled: the repeating critical sound stops.
            await wait_until(
                lambda: not any(a.key == alert.key for a in pane.notifier.unhandled()), timeout_s=5
            )

            # r resolves at the server, which records who resolved it; the queue hides resolved alerts.
            assert console.view.select_key(alert.key)
            console.press("r")
            if alert.severity is Severity.CRITICAL:  # one keystroke does not close a critical alert: it asks
                await wait_until(lambda: confirm_box() is not None, timeout_s=5)
                box = confirm_box()
                assert box is not None and "critical" in box.text()
                box.button(QMessageBox.StandardButton.Yes).click()
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                item = await server_alert(
                    server.base_url, console.session.api.auth.access_token, alert.source_id
                )
                if item["state"] == "resolved":
                    break
                assert asyncio.get_running_loop().time() < deadline, "the server never saw the resolve"
                await asyncio.sleep(0.2)
            assert item["resolved_by"] == ADMIN
            await wait_until(lambda: pane.proxy.row_of_key(alert.key) is None, timeout_s=10)

            # The server dies: the queue keeps its rows, greyed, and says why.
            shown = pane.proxy.rowCount()
            await asyncio.to_thread(server.kill)
            await wait_until(lambda: "Nexus alerts:" in pane.banner.text(), timeout_s=20)
            assert pane.proxy.rowCount() == shown
            assert shown > 0
            # every row greyed: the Nexus rows at once, the local rules' rows once their inputs fail too
            await wait_until(
                lambda: all(
                    pane.proxy.index(row, STATE_COLUMN).data(STALE_ROLE) is True for row in range(shown)
                ),
                timeout_s=20,
            )

    qloop.run(scenario(), timeout_s=110)


@pytest.mark.prometheus
@pytest.mark.slow
def test_ack_from_the_pane_is_an_alertmanager_silence_with_the_owner_and_expiring_it_raises_the_alert(
    qloop: QLoop,
    refserver_session: Any,
    prometheus_stack: PrometheusStack,
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with alerts_console(
            refserver_session.base_url,
            tmp_path,
            prometheus_url=prometheus_stack.prometheus_url,
            alertmanager_urls=tuple(prometheus_stack.alertmanager_urls),
        ) as console:
            pane = console.pane

            def always_firing() -> Alert | None:
                return console.find(lambda a: a.source == "alertmanager" and a.name == ALWAYS_FIRING)

            await wait_until(lambda: always_firing() is not None, timeout_s=40)
            alert = always_firing()
            assert alert is not None and alert.state is AlertState.FIRING
            assert len(alert.origins) == 2  # both Alertmanagers report it; one row
            assert console.view.select_key(alert.key)
            console.press("a")

            def acked() -> Alert | None:
                found = always_firing()
                return found if found is not None and found.state is AlertState.ACKNOWLEDGED else None

            await wait_until(lambda: acked() is not None, timeout_s=20)
            assert console.cell(alert.key, OWNER_COLUMN) == ADMIN
            async with httpx.AsyncClient(trust_env=False) as http:
                for url in prometheus_stack.alertmanager_urls:
                    silences = (await http.get(f"{url}/api/v2/silences")).json()
                    ours = [
                        s
                        for s in silences
                        if s["status"]["state"] == "active"
                        and s["createdBy"] == ADMIN
                        and any(
                            m["name"] == "alertname" and m["value"] == ALWAYS_FIRING for m in s["matchers"]
                        )
                    ]
                    assert ours, f"no active ack silence by {ADMIN} on {url}"
                    assert ours[0]["comment"].startswith("[ack]")
            # Expiring the silence brings the alert back as firing.
            await pane.runtime.unacknowledge(acked())
            await wait_until(
                lambda: (a := always_firing()) is not None and a.state is AlertState.FIRING, timeout_s=20
            )
            assert console.cell(alert.key, OWNER_COLUMN) == ""

            # s silences through the duration picker: a plain silence, the row shows silenced.
            assert console.view.select_key(alert.key)
            console.press("s")
            dialog = await _dialog()
            dialog.duration.setCurrentText("15m")
            dialog.comment.setText("maintenance")
            dialog.buttons.accepted.emit()
            await wait_until(
                lambda: (a := always_firing()) is not None and a.state is AlertState.SILENCED, timeout_s=20
            )
            silenced = always_firing()
            assert silenced is not None
            await pane.runtime.alertmanager.expire_silences(silenced.silenced_by)
            await wait_until(
                lambda: (a := always_firing()) is not None and a.state is AlertState.FIRING, timeout_s=20
            )

    qloop.run(scenario(), timeout_s=110)


async def _dialog() -> SilenceDialog:
    def find() -> SilenceDialog | None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, SilenceDialog) and widget.isVisible():
                return widget
        return None

    await wait_until(lambda: find() is not None, timeout_s=5)
    dialog = find()
    assert dialog is not None
    return dialog

"""The Alerts pane against a real reference server: `s` on a Nexus alert silences it at the server (the row
reads "Silenced until HH:MM by … — comment", the audit trail says alert.silence, not alert.acknowledge), and
the same replication-lag condition raised by a local rule and by the server is one row naming both."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from nexus_console.domain.alerts import Alert, AlertState
from nexus_console.models.alert_table import OWNER_COLUMN, SOURCE_COLUMN, STATE_COLUMN
from nexus_console.services.health_sources import HealthSourceSettings
from tests.console.conftest import QLoop
from tests.console.helpers import add_fault, wait_until
from tests.console.test_alerts_pane import ADMIN, FAULTED_SERVICE, AlertsConsole, _dialog, alerts_console

SERVER_ARGS = ("--scenario", "none", "--clock-factor", "60", "--enable-fault-control", "--scale", "0.02")


async def audit_actions(base_url: str, token: str, alert_id: str) -> list[str]:
    """The audit trail of one alert, oldest first."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        response = await http.get(
            "/audit",
            params={"entity_type": "alert", "entity_id": alert_id},
            headers={"Authorization": f"Bearer {token}"},
        )
    response.raise_for_status()
    return [entry["action"] for entry in reversed(response.json()["items"])]


def nexus_firing(console: AlertsConsole, service: str) -> Alert | None:
    return console.find(
        lambda a: a.source == "nexus" and a.service == service and a.state is AlertState.FIRING
    )


@pytest.mark.slow
def test_s_silences_a_nexus_alert_at_the_server_and_it_reads_silenced_not_acknowledged(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    server = refserver_factory(*SERVER_ARGS)

    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane = console.pane
            await wait_until(lambda: pane.runtime.nexus.mode.value == "streaming", timeout_s=20)
            add_fault(server.base_url, FAULTED_SERVICE, "down")
            await wait_until(lambda: nexus_firing(console, FAULTED_SERVICE) is not None, timeout_s=30)
            alert = nexus_firing(console, FAULTED_SERVICE)
            assert alert is not None

            assert console.view.select_key(alert.key)
            console.press("s")
            dialog = await _dialog()
            dialog.duration.setCurrentText("15m")
            dialog.comment.setText("maintenance")
            dialog.buttons.accepted.emit()

            def firing_again() -> Alert | None:
                found = pane.queue.store.get(alert.key)
                return found if found is not None and found.state is AlertState.FIRING else None

            def silenced() -> Alert | None:
                found = pane.queue.store.get(alert.key)
                return found if found is not None and found.state is AlertState.SILENCED else None

            await wait_until(lambda: silenced() is not None, timeout_s=20)
            now = silenced()
            assert now is not None and now.ack_by is None and now.silence_owner == ADMIN
            assert now.silenced_until is not None and now.updated_at is not None
            assert 899 < now.silenced_until - now.updated_at < 901  # 15 minutes from when it was silenced
            await wait_until(lambda: "Silenced 1 alert for 15m" in pane.message.text(), timeout_s=10)

            # The row and the detail say it is silenced, until when, by whom and why; not acknowledged.
            state = console.cell(alert.key, STATE_COLUMN)
            assert state.startswith("Silenced until ") and state.endswith(f" by {ADMIN} — maintenance")
            assert console.cell(alert.key, OWNER_COLUMN) == ADMIN
            assert console.view.select_key(alert.key)
            await wait_until(lambda: "Silenced until" in pane.detail.info.toPlainText(), timeout_s=5)
            assert "acknowledged" not in pane.detail.header.text()
            # A silenced alert no longer waits for someone: it leaves the badge's count.
            await wait_until(lambda: all(a.key != alert.key for a in pane.notifier.unhandled()), timeout_s=5)
            # The state filter knows silenced.
            pane.filter_edit.setText("@state=silenced")
            assert pane.proxy.visible_keys() == [alert.key]
            pane.filter_edit.setText("")

            # The server holds the silence, and its audit trail says alert.silence.
            token = console.session.api.auth.access_token
            assert token is not None
            assert await audit_actions(server.base_url, token, alert.source_id) == ["alert.silence"]

            # Ending the silence now gives the alert back its state: firing.
            await pane.runtime.unsilence(now)
            await wait_until(lambda: firing_again() is not None, timeout_s=20)
            await wait_until(lambda: console.cell(alert.key, STATE_COLUMN) == "firing", timeout_s=5)
            assert console.cell(alert.key, OWNER_COLUMN) == ""
            assert await audit_actions(server.base_url, token, alert.source_id) == [
                "alert.silence",
                "alert.unsilence",
            ]

    qloop.run(scenario(), timeout_s=90)


@pytest.mark.slow
def test_replication_lag_raised_by_a_local_rule_and_by_the_server_is_one_row_naming_both(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    server = refserver_factory(*SERVER_ARGS)

    async def scenario() -> None:
        async with alerts_console(
            server.base_url, tmp_path, health=HealthSourceSettings(documents_interval_s=1.0)
        ) as console:
            pane = console.pane
            await wait_until(lambda: pane.runtime.nexus.mode.value == "streaming", timeout_s=20)
            add_fault(server.base_url, "db:marketplace", "replication_lag_s", 40.0)

            def raised(source: str, name: str) -> Alert | None:
                return next(
                    (
                        a
                        for a in pane.queue.store
                        if a.source == source and a.name == name and a.state is AlertState.FIRING
                    ),
                    None,
                )

            await wait_until(
                lambda: (
                    raised("nexus", "ReplicationLagHigh") is not None
                    and raised("local", "DatabaseReplicationLagHigh") is not None
                ),
                timeout_s=40,
            )
            await asyncio.sleep(0.5)  # the next drain: both reached the table
            nexus = raised("nexus", "ReplicationLagHigh")
            local = raised("local", "DatabaseReplicationLagHigh")
            assert nexus is not None and local is not None
            assert nexus.service == "postgres-marketplace-replica"

            # One row, the server's, naming both sources; the local alert is folded into it.
            assert pane.proxy.row_of_key(local.key) is None
            assert console.cell(nexus.key, SOURCE_COLUMN) == "nexus + local"
            assert console.view.select_key(nexus.key)
            await wait_until(
                lambda: "Also raised by local (firing)" in pane.detail.info.toPlainText(), timeout_s=5
            )
            # Counted and announced once.
            ours = {nexus.key, local.key}
            assert sum(1 for a in pane.notifier.unhandled() if a.key in ours) == 1
            announced = [n for n in pane.notifier.shown if "ReplicationLag" in n.title]
            assert len(announced) == 1, announced
            # A filter that asks for the local source shows the local alert, naming the server's.
            pane.filter_edit.setText("@source=local alertname=DatabaseReplicationLagHigh")
            assert pane.proxy.visible_keys() == [local.key]
            assert console.cell(local.key, SOURCE_COLUMN) == "local + nexus"

    qloop.run(scenario(), timeout_s=90)

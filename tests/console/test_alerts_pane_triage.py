"""The Alerts pane's filter bar, groups, marks and bulk actions, and runbooks, on a real console stack
(reference server session) with alerts of a source that has no server-side ack (Prometheus), so acks are
local acks with a timeout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListWidget, QListWidgetItem

from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity
from nexus_console.models.alert_table import OWNER_COLUMN
from nexus_console.views.alerts.detail import alert_html, runbook_html, runbook_name
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.console.test_alerts_pane import ADMIN, AlertsConsole, alerts_console

SERVICES = ("orders", "orders", "orders", "catalog", "catalog", "billing")


def prometheus_alert(i: int, service: str, severity: Severity, **extra: Any) -> Alert:
    labels = {"alertname": f"Test{i}", "service": service, "severity": severity.value}
    fields: dict[str, Any] = {"state": AlertState.FIRING, **extra}
    return Alert(
        fingerprint=f"test-{i}",
        source="prometheus",
        name=f"Test{i}",
        severity=severity,
        service=service,
        namespace="shop",
        labels=labels,
        summary=f"test alert {i} on {service}",
        runbook="runbook://performance",
        starts_at=1.0,
        **fields,
    )


def feed(console: AlertsConsole) -> list[Alert]:
    severities = (
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.LOW,
        Severity.HIGH,
    )
    alerts = [prometheus_alert(i, s, v) for i, (s, v) in enumerate(zip(SERVICES, severities, strict=True))]
    console.pane.queue.submit_snapshot("prometheus", alerts)
    console.pane.queue.drain()  # at once, not at the runtime's next drain
    console.pane.filter_edit.setText("@source=prometheus")
    return alerts


@pytest.fixture
def server(refserver_session: Any) -> Any:
    return refserver_session


def test_a_bad_filter_points_at_the_token_and_keeps_the_last_good_filter(
    qloop: QLoop, server: Any, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane = console.pane
            feed(console)
            pane.filter_edit.setText("@source=prometheus severity>=high")
            assert pane.proxy.rowCount() == 4
            pane.filter_edit.setText("@source=prometheus severity>=hgh")
            assert pane.filter_error.isVisible()
            lines = pane.filter_error.text().splitlines()
            assert lines[0] == "@source=prometheus severity>=hgh"
            assert lines[1] == " " * lines[0].index("hgh") + "^^^"
            assert "unknown severity 'hgh'" in lines[2]
            assert pane.proxy.rowCount() == 4  # the last good filter still applies
            pane.filter_edit.setText("@source=prometheus @stat=firing")
            pointer = pane.filter_error.text().splitlines()[1]
            assert pointer.index("^") == len("@source=prometheus ") and pointer.count("^") == len("@stat")
            pane.filter_edit.setText("@source=prometheus service=~^ord")
            assert not pane.filter_error.isVisible()
            assert {a.service for a in pane.proxy.visible_alerts()} == {"orders"}
            # Resolved alerts stay out of the queue unless the filter asks for a state.
            done = prometheus_alert(99, "orders", Severity.HIGH, state=AlertState.RESOLVED)
            pane.queue.submit(AlertDiff((done,)))
            pane.queue.drain()
            pane.filter_edit.setText("@source=prometheus")
            assert pane.proxy.row_of_key(done.key) is None and pane.proxy.rowCount() == 6
            pane.filter_edit.setText("@source=prometheus @state=resolved")
            assert pane.proxy.visible_keys() == [done.key]

    qloop.run(scenario(), timeout_s=60)


def test_groups_count_alerts_per_value_and_g_cycles_the_grouping(
    qloop: QLoop, server: Any, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane, view = console.pane, console.view
            feed(console)
            assert view.group_counts() == {"orders": 3, "catalog": 2, "billing": 1}
            view.refresh_groups()
            labels = [view.groups.item(i).text() for i in range(view.groups.count())]
            assert labels[0].split()[0] == "6"
            # Most urgent first: orders holds the critical one.
            assert labels[1].split()[:2] == ["3", "orders"] and "(3 firing)" in labels[1]
            console.press("g")
            assert view.group_by == "alertname"
            console.press("g")
            assert view.group_by == "severity"
            assert view.group_counts() == {"critical": 1, "high": 3, "medium": 1, "low": 1}
            console.press("g")
            assert view.group_by == "namespace" and view.group_counts() == {"shop": 6}
            console.press("g")
            assert view.group_by == "service"
            # Clicking a group narrows the queue to it; "all" widens it again.
            view.refresh_groups()
            catalog = next(
                view.groups.item(i)
                for i in range(view.groups.count())
                if "catalog" in view.groups.item(i).text()
            )
            click_item(view.groups, catalog)
            assert {a.service for a in pane.proxy.visible_alerts()} == {"catalog"}
            assert pane.proxy.rowCount() == 2 and "2 of " in pane.counts.text()
            click_item(view.groups, view.groups.item(0))
            assert pane.proxy.rowCount() == 6
            # A click on a tray message brings the queue forward with the most urgent alert selected.
            pane.tabs.setCurrentWidget(pane.rules_view)
            pane.bring_forward()
            assert pane.tabs.currentIndex() == 0
            current = view.current_alert()
            assert current is not None and current.severity is Severity.CRITICAL

    qloop.run(scenario(), timeout_s=60)


def test_marks_then_a_acknowledges_every_marked_alert_with_an_owner_and_a_timeout(
    qloop: QLoop, server: Any, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane = console.pane
            alerts = feed(console)
            pane.filter_edit.setText("@source=prometheus service=orders")
            pane.table.setFocus()
            console.view.select_row(0)
            console.press("m")  # marks row 0 and moves down
            console.press("m")  # marks row 1
            marked = {a.key for a in pane.model.marked_alerts()}
            assert len(marked) == 2
            assert "2 marked" in pane.counts.text()
            console.press("a")
            await wait_until(lambda: "Acknowledged 2 alerts" in pane.message.text(), timeout_s=10)
            for key in marked:
                acked = pane.queue.store.get(key)
                assert acked is not None and acked.state is AlertState.ACKNOWLEDGED
                assert acked.ack_by == ADMIN and acked.ack_expires_at is not None
                assert console.cell(key, OWNER_COLUMN) == ADMIN
            assert not pane.model.marked
            # Ack is a state: the filter language finds it by owner; the rest stay unhandled.
            pane.filter_edit.setText(f"@source=prometheus @ack={ADMIN}")
            assert {a.key for a in pane.proxy.visible_alerts()} == marked
            unhandled = {a.key for a in pane.notifier.unhandled() if a.source == "prometheus"}
            assert unhandled == {a.key for a in alerts} - marked
            # r on an alert whose source resolves by itself says so and changes nothing.
            pane.filter_edit.setText("@source=prometheus")
            console.view.select_row(0)
            console.press("r")
            await wait_until(lambda: "resolve at their source" in pane.message.text(), timeout_s=10)
            # / focuses the filter; Esc returns to the queue.
            pane.activateWindow()
            await wait_until(lambda: pane.isActiveWindow(), timeout_s=5)
            console.press("/")
            await wait_until(lambda: QApplication.focusWidget() is pane.filter_edit, timeout_s=5)
            QTest.keyClick(pane.filter_edit, Qt.Key.Key_Escape)
            await wait_until(lambda: QApplication.focusWidget() is pane.table, timeout_s=5)

    qloop.run(scenario(), timeout_s=60)


def test_saved_filters_round_trip_through_the_history_file(qloop: QLoop, server: Any, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane = console.pane
            await pane.save_filter("orders on fire", "service=orders @state=firing")
            assert pane.saved_filters == {"orders on fire": "service=orders @state=firing"}
            assert pane.saved_combo.itemText(1) == "orders on fire"
            pane.saved_combo.activated.emit(1)
            assert pane.filter_edit.text() == "service=orders @state=firing"
            # The Save button asks for a name in a dialog.
            pane.filter_edit.setText("severity=critical")
            pane.save_button.click()
            await wait_until(lambda: _visible("saveFilterDialog") is not None, timeout_s=5)
            dialog = _visible("saveFilterDialog")
            dialog.setTextValue("criticals")
            dialog.accept()
            await wait_until(lambda: "criticals" in pane.saved_filters, timeout_s=10)
            assert pane.saved_filters["criticals"] == "severity=critical"
        async with alerts_console(server.base_url, tmp_path) as console:  # the next session
            await wait_until(lambda: console.pane.saved_combo.count() == 3, timeout_s=10)

    qloop.run(scenario(), timeout_s=60)


def test_the_detail_renders_the_packaged_runbook_labels_and_annotations() -> None:
    assert runbook_name("runbook://performance") == "performance"
    assert runbook_name("runbooks/monitoring.md") == "monitoring"
    assert runbook_name("https://example.org/rb") is None
    rendered = runbook_html("runbook://performance")
    assert "<h1>Runbook: performance</h1>" in rendered and "<li>" in rendered
    assert "No packaged runbook named nothing" in runbook_html("runbook://nothing")
    configured = runbook_html("runbook://failover", "https://wiki.example/rb/{name}")
    assert 'href="https://wiki.example/rb/failover"' in configured
    alert = prometheus_alert(1, "orders", Severity.CRITICAL, description="<b>5xx</b> above 5 %")
    document = alert_html(alert, [], 100.0)
    assert "&lt;b&gt;5xx&lt;/b&gt;" in document  # annotations are text, never markup
    assert "alertname" in document and "runbook://performance" in document


def test_an_ack_times_out_and_the_alert_is_raised_again(qloop: QLoop, server: Any, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path, ack_timeout_s=1.5) as console:
            pane = console.pane
            alerts = feed(console)
            assert console.view.select_key(alerts[0].key)
            console.press("a")
            await wait_until(
                lambda: pane.queue.store.get(alerts[0].key).state is AlertState.ACKNOWLEDGED, timeout_s=10
            )
            assert console.cell(alerts[0].key, OWNER_COLUMN) == ADMIN
            await wait_until(
                lambda: pane.queue.store.get(alerts[0].key).state is AlertState.FIRING, timeout_s=10
            )
            assert console.cell(alerts[0].key, OWNER_COLUMN) == ""
            assert any(a.key == alerts[0].key for a in pane.notifier.unhandled())

    qloop.run(scenario(), timeout_s=60)


def test_resolved_alerts_are_kept_in_the_history_and_found_by_search(
    qloop: QLoop, server: Any, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with alerts_console(server.base_url, tmp_path) as console:
            pane = console.pane
            alerts = feed(console)
            pane.queue.submit_snapshot("prometheus", alerts[1:])  # the first one cleared at its source
            pane.queue.drain()
            assert pane.proxy.row_of_key(alerts[0].key) is None
            pane.tabs.setCurrentWidget(pane.history_view)
            pane.history_view.query.setText("test alert 0")
            pane.history_view.run_search()
            await wait_until(lambda: pane.history_view.model.records() != [], timeout_s=10)
            records = pane.history_view.model.records()
            assert [r["alert"] for r in records] == [alerts[0].name]
            assert records[0]["change"] == "firing → resolved" and records[0]["source"] == "prometheus"
            pane.history_view.resolved_only.setChecked(False)  # every transition of the alert, newest first
            await wait_until(lambda: len(pane.history_view.model.records()) == 2, timeout_s=10)
            assert [r["change"] for r in pane.history_view.model.records()] == [
                "firing → resolved",
                "new → firing",
            ]

    qloop.run(scenario(), timeout_s=60)


def click_item(widget: QListWidget, item: QListWidgetItem) -> None:
    widget.scrollToItem(item)
    QTest.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=widget.visualItemRect(item).center())


def _visible(name: str) -> Any:
    return next((w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()), None)

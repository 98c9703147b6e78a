"""Alert history in SQLite: transitions kept across restarts, searchable; saved filters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from nexus_console.domain.alert_filter import FilterError
from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import AlertDiff, AlertState, Severity
from nexus_console.services.alert_history import AlertHistory
from tests.alerts.conftest import make_alert


@pytest.mark.asyncio
async def test_resolved_alerts_survive_a_restart_and_can_be_searched(tmp_path: Path) -> None:
    store = AlertStore()
    orders = make_alert(
        "HighErrorRate", service="orders", labels={"alertname": "HighErrorRate", "team": "pay"}
    )
    disk = make_alert("DiskFilling", service="catalog", severity=Severity.LOW, summary="disk 91 % full")
    transitions = [
        *store.apply(AlertDiff((orders, disk)), now=100.0).transitions,
        *store.apply(
            AlertDiff((replace(orders, state=AlertState.ACKNOWLEDGED, ack_by="alice"),)), 200.0
        ).transitions,
        *store.apply(AlertDiff(removals=(orders.key,)), now=300.0).transitions,
    ]
    history = AlertHistory(tmp_path / "history.sqlite3")
    try:
        assert await history.record(transitions) == 4
    finally:
        await history.close()

    reopened = AlertHistory(tmp_path / "history.sqlite3")
    try:
        resolved = await reopened.resolved()
        assert [(t.alert.name, t.before, t.at) for t in resolved] == [
            ("HighErrorRate", AlertState.ACKNOWLEDGED, 300.0)
        ]
        assert resolved[0].alert.ack_by == "alice"
        assert resolved[0].alert.labels == {"alertname": "HighErrorRate", "team": "pay"}
        life = await reopened.transitions_of(orders.key)
        assert [(t.before, t.after) for t in life] == [
            (None, AlertState.FIRING),
            (AlertState.FIRING, AlertState.ACKNOWLEDGED),
            (AlertState.ACKNOWLEDGED, AlertState.RESOLVED),
        ]
        assert [t.alert.name for t in await reopened.search("91 %")] == ["DiskFilling"]
        assert [t.at for t in await reopened.search("team=pay")] == [300.0, 200.0, 100.0]
        found = await reopened.search(filter_text="severity=low @state=firing")
        assert [t.alert.name for t in found] == ["DiskFilling"]
        assert [t.at for t in await reopened.search(since=150.0, until=250.0)] == [200.0]
        assert len(await reopened.search(limit=2)) == 2
        with pytest.raises(FilterError):
            await reopened.search(filter_text="@state=nope")
    finally:
        await reopened.close()


@pytest.mark.asyncio
async def test_saved_filters_are_validated_replaced_and_deleted(tmp_path: Path) -> None:
    history = AlertHistory(tmp_path / "history.sqlite3")
    try:
        await history.save_filter("critical orders", "severity=critical service=~order", at=1.0)
        await history.save_filter("mine", "@ack=alice", at=2.0)
        await history.save_filter("mine", "@ack=bob", at=3.0)
        with pytest.raises(FilterError):
            await history.save_filter("broken", "@age=soon", at=4.0)
        assert await history.saved_filters() == {
            "critical orders": "severity=critical service=~order",
            "mine": "@ack=bob",
        }
        assert await history.delete_filter("mine") is True
        assert await history.delete_filter("mine") is False
        assert list(await history.saved_filters()) == ["critical orders"]
    finally:
        await history.close()


@pytest.mark.asyncio
async def test_transitions_older_than_the_retention_are_pruned_on_a_later_write(tmp_path: Path) -> None:
    store = AlertStore()
    old = make_alert("OldAlert", service="orders")
    new = make_alert("NewAlert", service="catalog")
    history = AlertHistory(tmp_path / "history.sqlite3", retention_s=500.0)
    try:
        await history.record(store.apply(AlertDiff((old,)), now=900.0).transitions)
        # an hour later the next write prunes what is more than 500 s older than it
        await history.record(store.apply(AlertDiff((new,)), now=900.0 + 3_600.0).transitions)
        assert [t.alert.name for t in await history.search()] == ["NewAlert"]
    finally:
        await history.close()


@pytest.mark.asyncio
async def test_an_incidents_alert_changes_are_its_services_and_linked_alerts_in_its_window(
    tmp_path: Path,
) -> None:
    store = AlertStore()
    orders = make_alert("HighErrorRate", service="orders")
    linked = make_alert("ReplicaLag", service="marketplace-db")
    unrelated = [make_alert(f"Storm{i}", service=f"svc-{i}") for i in range(50)]
    transitions = [
        *store.apply(AlertDiff((orders, linked, *unrelated)), now=100.0).transitions,
        *store.apply(AlertDiff(removals=(orders.key,)), now=300.0).transitions,
        *store.apply(AlertDiff((make_alert("LateOne", service="orders"),)), now=900.0).transitions,
    ]
    history = AlertHistory(tmp_path / "history.sqlite3")
    try:
        await history.record(transitions)
        found = await history.between(50.0, 500.0, 100, services=["orders"], alert_keys=[linked.key])
        assert [(t.alert.name, t.at) for t in found] == [
            ("HighErrorRate", 100.0),
            ("ReplicaLag", 100.0),
            ("HighErrorRate", 300.0),
        ]
        assert await history.between(50.0, 500.0, 100) == []  # no services, no linked alerts: none of them
    finally:
        await history.close()

"""AlertQueue: snapshots and diffs into one store, subscribers, local acks with timeout, history."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from nexus_console.domain.alerts import AlertDiff, AlertState, StoreChange
from nexus_console.services.alert_history import AlertHistory
from nexus_console.services.alert_sources import AlertQueue
from tests.alerts.conftest import make_alert


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_snapshots_from_two_sources_live_side_by_side_and_subscribers_see_row_changes() -> None:
    queue = AlertQueue(clock=Clock())
    seen: list[StoreChange] = []
    unsubscribe = queue.subscribe(seen.append)
    am = [make_alert("A", source="alertmanager"), make_alert("B", source="alertmanager")]
    queue.apply_snapshot("alertmanager", am)
    queue.apply_snapshot("prometheus", [make_alert("P", source="prometheus", state=AlertState.PENDING)])
    assert sorted(alert.name for alert in queue.store) == ["A", "B", "P"]
    queue.apply_snapshot("alertmanager", am[1:])
    assert sorted(alert.name for alert in queue.store) == ["B", "P"]
    assert [change.removed for change in seen] == [(), (), ((0, 0),)]
    queue.apply_snapshot("alertmanager", am[1:])  # nothing new: no notification
    assert len(seen) == 3
    unsubscribe()
    queue.apply_snapshot("alertmanager", [])
    assert len(seen) == 3


@pytest.mark.asyncio
async def test_a_local_ack_survives_the_next_snapshots_then_times_out_and_the_alert_fires_again() -> None:
    clock = Clock()
    queue = AlertQueue(clock=clock)
    pending = make_alert("LatencyHigh", source="local", state=AlertState.FIRING)
    queue.apply_snapshot("local", [pending])
    await queue.acknowledge(pending, owner="alice", comment="on it", timeout_s=600)
    acked = queue.store.get(pending.key)
    assert acked is not None and acked.state is AlertState.ACKNOWLEDGED
    assert (acked.ack_by, acked.ack_at, acked.ack_expires_at) == ("alice", 1_000.0, 1_600.0)

    clock.now = 1_300.0
    queue.apply_snapshot("local", [replace(pending, value=3.0)])  # a fresh evaluation
    still = queue.store.get(pending.key)
    assert still is not None and still.state is AlertState.ACKNOWLEDGED and still.ack_by == "alice"
    assert still.ack_age_s(clock.now) == 300.0

    clock.now = 1_600.0
    change = queue.tick()
    assert [(t.before, t.after) for t in change.transitions] == [(AlertState.ACKNOWLEDGED, AlertState.FIRING)]
    queue.apply_snapshot("local", [pending])
    reraised = queue.store.get(pending.key)
    assert reraised is not None and reraised.state is AlertState.FIRING and reraised.ack_by is None


@pytest.mark.asyncio
async def test_unacknowledging_a_local_ack_fires_the_alert_again() -> None:
    queue = AlertQueue(clock=Clock())
    alert = make_alert("X", source="prometheus")
    queue.apply_snapshot("prometheus", [alert])
    await queue.acknowledge(alert, owner="bob", timeout_s=60)
    await queue.unacknowledge(alert)
    current = queue.store.get(alert.key)
    assert current is not None and current.state is AlertState.FIRING
    queue.apply_snapshot("prometheus", [alert])
    assert queue.store.get(alert.key) == alert


@pytest.mark.asyncio
async def test_transitions_reach_the_history_file_on_flush(tmp_path: Path) -> None:
    clock = Clock()
    history = AlertHistory(tmp_path / "history.sqlite3")
    queue = AlertQueue(history=history, clock=clock)
    try:
        alert = make_alert("Flappy", source="alertmanager")
        queue.apply_snapshot("alertmanager", [alert])
        clock.now = 1_060.0
        queue.apply_snapshot("alertmanager", [])
        assert await queue.flush_history() == 2
        assert await queue.flush_history() == 0
        resolved = await history.resolved()
        assert [(t.alert.name, t.at) for t in resolved] == [("Flappy", 1_060.0)]
    finally:
        await history.close()


@pytest.mark.asyncio
async def test_the_queue_loop_raises_expired_acks_and_writes_history_until_cancelled(tmp_path: Path) -> None:
    clock = Clock()
    history = AlertHistory(tmp_path / "history.sqlite3")
    queue = AlertQueue(history=history, clock=clock)
    alert = make_alert(
        "Acked", source="nexus", state=AlertState.ACKNOWLEDGED, ack_by="alice", ack_expires_at=1_010.0
    )
    queue.apply_snapshot("nexus", [alert])
    task = asyncio.create_task(queue.run(interval_s=0.01))
    try:
        clock.now = 1_010.0
        deadline = time.monotonic() + 5
        while queue.store.get(alert.key).state is not AlertState.FIRING:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the expired ack was not raised"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    try:
        life = await history.transitions_of(alert.key)
        assert [(t.before, t.after) for t in life] == [
            (None, AlertState.ACKNOWLEDGED),
            (AlertState.ACKNOWLEDGED, AlertState.FIRING),
        ]
    finally:
        await history.close()


def test_buffered_updates_reach_subscribers_as_one_batch_on_drain() -> None:
    queue = AlertQueue(clock=Clock())
    batches: list[StoreChange] = []
    queue.subscribe(batches.append)
    first = [make_alert(f"A{i}", source="alertmanager") for i in range(5)]
    queue.submit_snapshot("alertmanager", first)
    queue.submit_snapshot("alertmanager", first[:3])  # a newer poll replaces the buffered one
    queue.submit(AlertDiff((make_alert("N", source="nexus"),)))
    queue.submit(AlertDiff((make_alert("N", source="nexus", state=AlertState.ACKNOWLEDGED),)))
    assert batches == [] and len(queue.store) == 0
    change = queue.drain()
    assert batches == [change]
    assert change.inserted == range(0, 4)
    assert sorted((a.name, a.state.value) for a in queue.store) == [
        ("A0", "firing"),
        ("A1", "firing"),
        ("A2", "firing"),
        ("N", "acknowledged"),
    ]
    assert not queue.drain()
    assert len(batches) == 1

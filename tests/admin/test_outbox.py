"""The durable outbox on its own (a real SQLite file, no network): order per entity, conflicts that
hold back only their entity, offline editing, and surviving restarts and crashes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nexus_console.domain.admin import ActionError, ActionRequest, EntityRef, EntityType
from nexus_console.domain.outbox_model import OutboxError, OutboxState, SendOutcome, SendResult
from nexus_console.services.outbox import Outbox


def user(n: int) -> EntityRef:
    return EntityRef(EntityType.USER, str(n))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock):  # type: ignore[no-untyped-def]
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock)
    yield box
    box.close()


def applied(entry_id: int, version: int) -> SendResult:
    return SendResult(entry_id, SendOutcome.APPLIED, 200, applied_version=version)


def test_the_file_is_wal_with_full_sync(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
    assert outbox.pragma("synchronous") == 2  # FULL


def test_each_action_gets_its_own_idempotency_key_and_the_version_the_admin_saw(outbox: Outbox) -> None:
    a = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    b = outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=5))
    assert a.idempotency_key != b.idempotency_key
    assert (a.state, a.expected_version, b.expected_version) == (OutboxState.QUEUED, 3, 5)


def test_invalid_actions_are_never_queued(outbox: Outbox) -> None:
    with pytest.raises(ActionError):
        outbox.enqueue(ActionRequest(user(1), "ban", "", expected_version=1))
    with pytest.raises(OutboxError, match="version the admin saw"):
        outbox.enqueue(ActionRequest(user(1), "unsuspend", "follow-up"))
    assert outbox.open_count() == 0


def test_one_entity_is_sent_in_order_while_others_go_ahead(outbox: Outbox) -> None:
    first = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    second = outbox.enqueue(ActionRequest(user(1), "unsuspend", "follow-up"))  # follows the first
    other = outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    claimed = outbox.claim_ready(10)
    assert [e.id for e in claimed] == [first.id, other.id]
    assert all(e.state is OutboxState.SENDING for e in claimed)
    assert outbox.claim_ready(10) == []  # the second waits while the first is in flight
    outbox.record_results([applied(first.id, 4), applied(other.id, 2)])
    [next_one] = outbox.claim_ready(10)
    assert next_one.id == second.id
    assert next_one.expected_version == 4  # the version its predecessor produced


def test_a_conflict_holds_back_only_its_own_entity(outbox: Outbox) -> None:
    stuck = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    behind = outbox.enqueue(ActionRequest(user(1), "unsuspend", "follow-up"))
    free = [outbox.enqueue(ActionRequest(user(n), "suspend", "spam", expected_version=1)) for n in (2, 3)]
    outbox.claim_ready(1)
    server_now = {"id": 1, "status": "suspended", "version": 7}
    outbox.record_results([SendResult(stuck.id, SendOutcome.CONFLICT, 412, "stale", server_state=server_now)])
    assert [e.id for e in outbox.claim_ready(10)] == [f.id for f in free]
    conflict = outbox.get(stuck.id)
    assert conflict.state is OutboxState.CONFLICT and conflict.server_state == server_now
    assert [e.id for e in outbox.blocked_entities()] == [stuck.id]
    assert outbox.get(behind.id).state is OutboxState.QUEUED


def test_apply_again_resends_on_the_servers_version_under_a_new_key(outbox: Outbox) -> None:
    entry = outbox.enqueue(ActionRequest(user(1), "ban", "fraud", expected_version=3))
    outbox.claim_ready(1)
    outbox.record_results(
        [
            SendResult(
                entry.id, SendOutcome.CONFLICT, 412, "stale", server_state={"version": 6, "status": "active"}
            )
        ]
    )
    again = outbox.apply_again(entry.id)
    assert (again.state, again.expected_version) == (OutboxState.QUEUED, 6)
    assert again.idempotency_key != entry.idempotency_key
    assert [e.id for e in outbox.claim_ready(5)] == [entry.id]


def test_discarding_a_conflict_lets_the_entitys_next_action_go_on_its_base_version(outbox: Outbox) -> None:
    entry = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    nxt = outbox.enqueue(ActionRequest(user(1), "reset_password", "follow-up"))
    outbox.claim_ready(1)
    outbox.record_results([SendResult(entry.id, SendOutcome.CONFLICT, 409, "already suspended")])
    assert outbox.discard(entry.id).state is OutboxState.CANCELLED
    [claimed] = outbox.claim_ready(5)
    assert (claimed.id, claimed.expected_version) == (nxt.id, 3)


def test_offline_the_admin_can_edit_the_reason_and_cancel_before_sending(outbox: Outbox) -> None:
    entry = outbox.enqueue(ActionRequest(user(1), "ban", "spam", expected_version=2))
    assert outbox.edit_reason(entry.id, "spam and fraud").reason == "spam and fraud"
    with pytest.raises(ActionError, match="needs a reason"):
        outbox.edit_reason(entry.id, "")
    assert outbox.cancel(entry.id).state is OutboxState.CANCELLED
    assert outbox.claim_ready(5) == []


def test_once_sent_an_action_can_no_longer_be_edited_or_cancelled(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.enqueue(ActionRequest(user(1), "ban", "spam", expected_version=2))
    outbox.claim_ready(1)
    # the network failed: it goes back to queued, but its key has been used with this body
    outbox.record_results(
        [SendResult(entry.id, SendOutcome.RETRY, None, "ConnectError")], retry_at=clock.now + 5
    )
    back = outbox.get(entry.id)
    assert back.state is OutboxState.QUEUED and back.ever_sent and not back.is_editable
    with pytest.raises(OutboxError):
        outbox.edit_reason(entry.id, "other")
    with pytest.raises(OutboxError):
        outbox.cancel(entry.id)


def test_a_retry_waits_until_it_is_due(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.enqueue(ActionRequest(user(1), "ban", "spam", expected_version=2))
    outbox.claim_ready(1)
    outbox.record_results([SendResult(entry.id, SendOutcome.RETRY, 503, "HTTP 503")], retry_at=clock.now + 5)
    assert outbox.claim_ready(5) == []
    assert outbox.next_due_at() == pytest.approx(clock.now + 5)
    clock.now += 5
    [again] = outbox.claim_ready(5)
    assert (again.id, again.idempotency_key, again.attempts) == (entry.id, entry.idempotency_key, 2)


def test_the_queue_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, clock=clock)
    queued = [box.enqueue(ActionRequest(user(n), "suspend", "spam", expected_version=1)) for n in range(5)]
    box.close()
    reopened = Outbox(path, clock=clock)
    try:
        assert [e.id for e in reopened.entries([OutboxState.QUEUED])] == [e.id for e in queued]
        assert [e.idempotency_key for e in reopened.entries()] == [e.idempotency_key for e in queued]
    finally:
        reopened.close()


def test_after_a_crash_in_flight_actions_are_resent_with_the_same_key(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, clock=clock)
    entry = box.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    box.claim_ready(1)
    # the process died with the action in `sending` (close() only lets go of the file; it moves no entry)
    crashed = sqlite3.connect(path)
    assert crashed.execute("SELECT state FROM actions").fetchone()[0] == "sending"
    crashed.close()
    box.close()
    reopened = Outbox(path, clock=clock)
    try:
        assert reopened.recovered == 1
        [again] = reopened.claim_ready(5)
        assert (again.id, again.idempotency_key) == (entry.id, entry.idempotency_key)
    finally:
        reopened.close()


def test_failed_actions_hold_their_entity_until_retried_or_discarded(outbox: Outbox) -> None:
    entry = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    outbox.enqueue(ActionRequest(user(1), "unsuspend", "follow-up"))
    outbox.claim_ready(1)
    outbox.record_results([SendResult(entry.id, SendOutcome.FAILED, 403, "HTTP 403: needs admin")])
    assert outbox.claim_ready(5) == []
    assert outbox.retry_failed(entry.id).state is OutboxState.QUEUED
    assert [e.id for e in outbox.claim_ready(5)] == [entry.id]


def test_counts_by_state(outbox: Outbox) -> None:
    a = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    outbox.claim_ready(1)
    outbox.record_results([applied(a.id, 2)])
    counts = outbox.counts()
    assert counts[OutboxState.APPLIED] == 1 and counts[OutboxState.QUEUED] == 1
    assert outbox.open_count() == 1


def test_a_rows_badge_is_its_open_head_else_its_newest_action(outbox: Outbox) -> None:
    done = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    outbox.claim_ready(1)
    outbox.record_results([applied(done.id, 2)])
    head = outbox.enqueue(ActionRequest(user(1), "unsuspend", "appeal", expected_version=2))
    outbox.enqueue(ActionRequest(user(1), "ban", "again", expected_version=None))
    only = outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    gone = outbox.enqueue(ActionRequest(user(3), "suspend", "spam", expected_version=1))
    outbox.cancel(gone.id)
    badges = outbox.latest_for("user", ["1", "2", "3", "4"])
    assert {k: v.id for k, v in badges.items()} == {"1": head.id, "2": only.id}
    outbox.claim_ready(5)
    outbox.record_results([applied(head.id, 3)])
    assert outbox.latest_for("user", ["1"])["1"].action == "ban"


def test_recording_and_claiming_together_hands_the_applied_version_to_the_entitys_next_action(
    outbox: Outbox,
) -> None:
    first = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    second = outbox.enqueue(ActionRequest(user(1), "unsuspend", "appeal"))
    other = outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    assert [e.id for e in outbox.claim_ready(10)] == [first.id, other.id]

    claimed = outbox.record_and_claim([applied(first.id, 4)], None, 10)

    assert [(e.id, e.expected_version, e.state) for e in claimed] == [(second.id, 4, OutboxState.SENDING)]
    assert outbox.get(first.id).state is OutboxState.APPLIED
    assert outbox.get(other.id).state is OutboxState.SENDING  # still in flight, not claimed twice


def test_recording_with_no_room_to_claim_only_stores_the_answers(outbox: Outbox) -> None:
    first = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    outbox.claim_ready(1)

    assert outbox.record_and_claim([applied(first.id, 4)], None, 0) == []
    assert outbox.counts()[OutboxState.QUEUED] == 1


def test_a_conflict_recorded_with_a_claim_holds_back_only_its_entity(outbox: Outbox) -> None:
    first = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    outbox.enqueue(ActionRequest(user(1), "unsuspend", "appeal"))
    other = outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    outbox.claim_ready(1)

    conflict = SendResult(first.id, SendOutcome.CONFLICT, 412, "HTTP 412: stale")
    claimed = outbox.record_and_claim([conflict], None, 10)

    assert [e.id for e in claimed] == [other.id]
    assert outbox.get(first.id).state is OutboxState.CONFLICT


def test_queueing_claiming_and_recording_use_indexes_not_scans(outbox: Outbox) -> None:
    """A pass over every queued row per action made a 10k-action replay quadratic."""
    statements: list[str] = []
    outbox.trace(statements.append)
    first = outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=3))
    outbox.enqueue(ActionRequest(user(1), "unsuspend", "appeal"))
    outbox.claim_ready(10)
    outbox.record_and_claim([applied(first.id, 4)], None, 10)
    outbox.trace(None)

    queries = [s for s in statements if s.lstrip().startswith(("SELECT", "UPDATE", "INSERT"))]
    assert queries
    planner = sqlite3.connect(outbox.path)  # the schema and its indexes are in the file
    plans = {query: [row[3] for row in planner.execute("EXPLAIN QUERY PLAN " + query)] for query in queries}
    planner.close()
    for query, plan in plans.items():
        assert not [step for step in plan if step.startswith("SCAN") or "TEMP B-TREE" in step], (
            query,
            plan,
        )
        if "entity_id = ?" in query or "entity_id = '" in query:
            assert any("ix_actions_open_entity" in step for step in plan), (query, plan)

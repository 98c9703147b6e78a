"""The admin Qt models on their own: the lazy lookup table (ids + bounded row cache), the queue table and
the audit table with its CSV export (services/audit_trail.py); and the queue pane on a long queue."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from nexus_console.domain.admin import EntityRef, EntityType
from nexus_console.domain.audit_changes import change_text
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from nexus_console.domain.replica_reads import RowFreshness
from nexus_console.models.admin_table import LOADING_TEXT, WAITING_TEXT, EntityTableModel
from nexus_console.models.audit_table import AuditTableModel
from nexus_console.models.outbox_table import OutboxTableModel
from nexus_console.services.audit_trail import write_audit_csv


def user_rows(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "email": f"user{i}@example.test",
            "name": f"User {i}",
            "status": "active",
            "email_verified": i % 2 == 0,
            "last_active_at": None,
            "version": 1,
        }
        for i in range(first, first + count)
    ]


def entry(entry_id: int, state: OutboxState, *, created_at: float, entity_id: str = "7") -> OutboxEntry:
    return OutboxEntry(
        id=entry_id,
        entity=EntityRef(EntityType.USER, entity_id),
        action="suspend",
        reason="spam",
        params={},
        idempotency_key=f"k{entry_id}",
        expected_version=3,
        state=state,
        attempts=0,
        created_at=created_at,
        updated_at=created_at,
    )


def test_lookup_model_passes_qt_model_tester(qtmodeltester: Any) -> None:
    model = EntityTableModel(EntityType.USER, cache_size=20)
    model.reset(EntityType.USER, user_rows(1, 50), has_more=True)
    model.set_marked("3", True)
    model.set_freshness("4", RowFreshness.WAITING_FOR_REPLICA)
    qtmodeltester.check(model, force_py=True)


def test_evicted_rows_show_a_placeholder_and_are_asked_for_in_one_batch(qtbot: Any) -> None:
    model = EntityTableModel(EntityType.USER, cache_size=10)
    model.reset(EntityType.USER, user_rows(1, 30), has_more=False)
    assert model.rowCount() == 30
    assert model.cached_count() == 10  # only the newest ten rows stay cached
    asked: list[list[str]] = []
    model.rows_wanted.connect(asked.append)

    assert model.data(model.index(0, 1)) == LOADING_TEXT
    assert model.data(model.index(1, 1)) == LOADING_TEXT
    assert model.data(model.index(0, 0)) == "1"  # the id column never needs the row
    qtbot.waitUntil(lambda: bool(asked), timeout=2000)
    assert asked == [["1", "2"]]

    model.data(model.index(0, 1))  # asked already and not answered: not asked again
    model.put_rows({"1": user_rows(1, 1)[0], "2": None})
    assert model.data(model.index(0, 1)) == "user1@example.test"
    assert model.data(model.index(29, 2)) == "User 30"


def test_more_pages_are_fetched_once_per_request() -> None:
    model = EntityTableModel(EntityType.VENDOR)
    model.reset(EntityType.VENDOR, [{"id": 1, "name": "A", "status": "approved"}], has_more=True)
    wanted: list[bool] = []
    model.more_wanted.connect(lambda: wanted.append(True))
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert wanted == [True]
    model.append([{"id": 2, "name": "B", "status": "pending"}], has_more=False)
    assert model.rowCount() == 2 and not model.canFetchMore(QModelIndex())


def test_marks_badges_and_freshness_show_in_the_console_column() -> None:
    model = EntityTableModel(EntityType.USER)
    model.reset(EntityType.USER, user_rows(1, 3), has_more=False)
    console = model.columnCount() - 1
    assert model.headerData(console, Qt.Orientation.Horizontal) == "Console"
    assert model.setData(model.index(1, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert model.marked_ids() == ["2"]
    model.set_freshness("1", RowFreshness.WAITING_FOR_REPLICA)
    assert model.data(model.index(0, console)) == WAITING_TEXT
    model.set_badges({"3": entry(1, OutboxState.CONFLICT, created_at=time.time(), entity_id="3")})
    assert model.data(model.index(2, console)) == "suspend: conflict"
    model.set_freshness("1", RowFreshness.CURRENT)
    assert model.data(model.index(0, console)) == ""


def test_queue_model_shows_age_and_state_and_keeps_rows_on_update(qtmodeltester: Any) -> None:
    now = 10_000.0
    model = OutboxTableModel(clock=lambda: now)
    model.set_entries(
        [entry(1, OutboxState.QUEUED, created_at=now - 90), entry(2, OutboxState.APPLIED, created_at=now - 5)]
    )
    qtmodeltester.check(model, force_py=True)
    state, age = 4, 5
    assert model.data(model.index(0, state)) == "queued"
    assert model.data(model.index(0, age)) == "1 min"
    assert model.data(model.index(1, age)) == "5 s"
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.set_entries(
        [
            entry(1, OutboxState.SENDING, created_at=now - 90),
            entry(2, OutboxState.APPLIED, created_at=now - 5),
        ]
    )
    assert resets == [] and model.data(model.index(0, state)) == "sending"


def test_audit_csv_export_writes_every_entry_with_before_and_after(
    tmp_path: Path, qtmodeltester: Any
) -> None:
    entries = [
        {
            "id": 9,
            "at": "2026-11-23T10:00:00Z",
            "actor": "admin@nexus.test",
            "action": "suspend",
            "entity_type": "user",
            "entity_id": "42",
            "before": {"status": "active", "version": 3},
            "after": {"status": "suspended", "version": 4},
            "reason": "chargebacks, again",
            "idempotency_key": "abc",
        }
    ]
    model = AuditTableModel()
    model.set_entries(entries)
    qtmodeltester.check(model, force_py=True)
    assert model.data(model.index(0, 5)) == "status: active → suspended"
    path = tmp_path / "audit.csv"
    assert write_audit_csv(entries, path) == 1
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["reason"] == "chargebacks, again"
    assert rows[0]["before"] == '{"status": "active", "version": 3}'
    assert change_text(None, None) == ""
    # Never "None → …": a field set, cleared or a record created says so.
    assert change_text({"note": None}, {"note": "vip"}) == "note: set to vip"
    assert change_text({"note": "vip"}, {"note": None}) == "note: cleared (was vip)"
    assert change_text(None, {"id": 7}) == "created"
    created = change_text(None, {"id": 7, "title": "DB down", "severity": "high", "note": None, "version": 1})
    assert created == "created: title: DB down; severity: high"
    when = model.data(model.index(0, 0))
    assert len(when) == 19 and when[:4] == "2026" and "T" not in when and "." not in when, when


def test_queue_pane_lists_every_entry_past_the_first_page(qloop: Any, tmp_path: Path) -> None:
    import httpx

    from nexus_console.domain.admin import DryRunItem, DryRunOutcome, DryRunSummary
    from nexus_console.services.admin_runtime import AdminSettings
    from nexus_console.services.api_client import NexusClient
    from nexus_console.services.profiles import Profile
    from nexus_console.views.admin import QueuePane
    from nexus_console.workers.session import SessionSettings
    from tests.console.helpers import wait_until
    from tests.support.session import admin_session, me_with_roles

    profile = Profile("lab", "http://127.0.0.1:9")  # nothing listens: the queue stays queued, offline
    settings = SessionSettings(
        admin=AdminSettings(outbox_path=tmp_path / "outbox.sqlite3", offline_probe_max_s=0.5)
    )

    async def scenario() -> None:
        async with (
            httpx.AsyncClient(trust_env=False) as http,
            admin_session(
                profile, NexusClient(profile.api_base_url, http), me_with_roles("admin"), settings=settings
            ) as session,
        ):
            runtime = session.admin
            assert runtime is not None and runtime.actions is not None
            assert runtime.problem is not None and "lookups unavailable" in runtime.problem  # the queue works
            pane = QueuePane(session)
            try:
                items = tuple(
                    DryRunItem(EntityRef(EntityType.USER, str(i)), DryRunOutcome.WILL_APPLY, "active", 1)
                    for i in range(1, 1201)
                )
                await runtime.actions.queue_bulk(DryRunSummary(EntityType.USER, "suspend", "spam", {}, items))
                # the queue changed: the pane re-reads it, every page of it
                await wait_until(lambda: pane.model.rowCount() == 1200, timeout_s=10)
                assert pane.model.entry_at(1199).entity.id == "1200"  # the newest is listed too
                await wait_until(lambda: runtime.offline, timeout_s=10)
                await pane.reload()
                assert pane.counts_label.text() == (
                    "API unreachable: actions wait here (editable until sent) · 1200 queued"
                )
            finally:
                pane.shutdown()
                pane.deleteLater()

    qloop.run(scenario())


def test_a_conflict_the_action_cannot_apply_to_says_so_and_offers_only_discard() -> None:
    from nexus_console.domain.admin import EntityRef, EntityType
    from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
    from nexus_console.views.admin.queue_pane import describe_entry, no_longer_applies

    def conflict(server: dict) -> OutboxEntry:
        return OutboxEntry(
            id=1,
            entity=EntityRef(EntityType.USER, "31"),
            action="suspend",
            reason="chargebacks",
            params={},
            idempotency_key="k",
            expected_version=1,
            state=OutboxState.CONFLICT,
            attempts=1,
            created_at=0.0,
            updated_at=0.0,
            last_error="HTTP 409: suspend does not apply",
            server_state=server,
        )

    banned = conflict(
        {"status": "banned", "version": 2, "email_verified": True, "signup_at": "2026-03-06T14:01:00Z"}
    )
    assert no_longer_applies(banned)
    text = describe_entry(banned)
    assert "Suspend no longer applies: user 31 is banned on the server now. Discard the action." in text
    assert "email_verified: yes" in text and "T14:01:00Z" not in text
    changed = conflict({"status": "active", "version": 2})
    assert not no_longer_applies(changed)
    assert "Apply again on the server's version" in describe_entry(changed)

"""The Admin, Action queue and Audit panes driven like a user, against a real PostgreSQL primary with
streaming replicas (the console reads replica 1) and the reference server writing to the primary."""

from __future__ import annotations

import asyncio
import csv
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest

from nexus_console.domain.admin import ActionError, EntityType, spec_for
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.models.admin_table import LOADING_TEXT, WAITING_TEXT
from nexus_console.services.admin_runtime import AdminRuntime
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile
from nexus_console.services.replicas import ReplicaConfig, ReplicaSet
from nexus_console.views.admin import AdminPane, AuditPane, QueuePane
from nexus_console.views.admin.dialogs import DryRunDialog, ReasonDialog, StepUpDialog
from nexus_console.workers.session import ConsoleSession
from tests.console.api_support import api_stack
from tests.console.helpers import wait_until
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import PLATFORM_DATABASES, primary_rows, wait_for_replicas
from tests.support.qloop import QLoop
from tests.support.refserver import RefServer
from tests.support.session import admin_session, fast_admin_settings

ADMIN = "admin@nexus.test"
MODERATOR = "moderator@nexus.test"
PASSWORD = "nexus-demo"


@dataclass
class Session:
    """A signed-in console session with its admin runtime running, and the panes a test opened on it."""

    session: ConsoleSession
    panes: list[Any]

    @property
    def runtime(self) -> AdminRuntime:
        assert self.session.admin is not None
        return self.session.admin

    def add(self, pane: Any) -> Any:
        self.panes.append(pane)
        return pane


def pg_replicas(cluster: PgCluster) -> ReplicaSet:
    """Replica 1 first, replica 2 as failover, for each platform database."""
    return ReplicaSet(
        [
            ReplicaConfig(
                name, tuple(cluster.replica_url(name, i) for i in range(len(cluster.replica_ports)))
            )
            for name in PLATFORM_DATABASES
        ]
    )


@asynccontextmanager
async def open_session(
    base_url: str, replicas: ReplicaSet, outbox: Path, email: str = ADMIN
) -> AsyncIterator[Session]:
    """A signed-in session with its admin runtime ready, started inside the running loop and closed in the
    same run (between qloop runs, Qt may step the session's tasks without a running loop)."""
    async with api_stack(base_url) as stack:
        me = await stack.auth.login(Credentials(email, PASSWORD))
        async with admin_session(
            Profile("lab", base_url), stack.api, me, settings=fast_admin_settings(outbox), replicas=replicas
        ) as console:
            session = Session(console, [])
            try:
                assert session.runtime.problem is None
                yield session
            finally:
                for pane in session.panes:
                    pane.shutdown()
                    pane.deleteLater()


@dataclass
class AdminEnv:
    qloop: QLoop
    base_url: str
    cluster: PgCluster
    outbox: Path

    def run(self, scenario: Callable[[Session], Awaitable[None]], email: str = ADMIN) -> None:
        """Open a session, run the scenario in it, close it: all in one run of the loop."""

        async def body() -> None:
            async with open_session(self.base_url, pg_replicas(self.cluster), self.outbox, email) as session:
                await scenario(session)

        self.qloop.run(body(), 120)


@pytest.fixture
def env(qloop: QLoop, pg_refserver: RefServer, pg_cluster: PgCluster, tmp_path: Path) -> AdminEnv:
    return AdminEnv(qloop, pg_refserver.base_url, pg_cluster, tmp_path / "outbox.sqlite3")


def users_with_status(cluster: PgCluster, status: str, count: int, offset: int) -> list[dict[str, Any]]:
    """Users from the primary (ground truth), far apart from the ones other tests pick."""
    return primary_rows(
        cluster,
        "users",
        "SELECT id, email, status, version FROM users WHERE status = %s ORDER BY id DESC LIMIT %s OFFSET %s",
        (status, count, offset),
    )


def user_status(cluster: PgCluster, user_id: int) -> str:
    return str(
        primary_rows(cluster, "users", "SELECT status FROM users WHERE id = %s", (user_id,))[0]["status"]
    )


async def search_user(pane: AdminPane, user_id: int) -> None:
    pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(EntityType.USER))
    pane.search_edit.setText(str(user_id))
    task = pane.start_search()
    assert task is not None
    await task
    assert pane.model.ids() == [str(user_id)]
    pane.select_id(str(user_id))
    await wait_until(lambda: pane.detail_id == str(user_id), timeout_s=15)


async def answer_reason(owner: Any, reason: str, *, confirm: bool) -> None:
    """Type a reason (and tick the confirmation), checking OK is refused until both are given."""
    await wait_until(lambda: isinstance(owner.active_dialog, ReasonDialog), timeout_s=10)
    dialog = owner.active_dialog
    assert not dialog.ok_button.isEnabled()
    dialog.reason.setPlainText(reason)
    if confirm:
        assert dialog.confirm is not None
        assert not dialog.ok_button.isEnabled()
        dialog.confirm.setChecked(True)
    assert dialog.ok_button.isEnabled()
    dialog.ok_button.click()


async def answer_step_up(pane: AdminPane, password: str) -> StepUpDialog:
    await wait_until(lambda: isinstance(pane.active_dialog, StepUpDialog), timeout_s=10)
    dialog = pane.active_dialog
    dialog.password.setText(password)
    dialog.accept()
    return dialog


async def entry_state(runtime: AdminRuntime, entity_id: str, entity_type: str = "user") -> OutboxState | None:
    assert runtime.outbox is not None
    latest = await runtime.outbox.latest_for(entity_type, [entity_id])
    return latest[entity_id].state if entity_id in latest else None


async def wait_for_state(
    runtime: AdminRuntime,
    entity_id: str,
    state: OutboxState,
    timeout_s: float = 20,
    entity_type: str = "user",
) -> None:
    deadline = time.monotonic() + timeout_s
    while (seen := await entry_state(runtime, entity_id, entity_type)) is not state:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{entity_type} {entity_id}: outbox entry is {seen}, not {state}")
        await asyncio.sleep(0.05)


def patch_user(base_url: str, user_id: int, action: str, version: int, reason: str) -> httpx.Response:
    """Another admin's write, straight through the API."""
    token = httpx.post(f"{base_url}/auth/login", json={"email": ADMIN, "password": PASSWORD}).json()[
        "access_token"
    ]
    return httpx.patch(
        f"{base_url}/admin/users/{user_id}",
        json={"action": action, "reason": reason},
        headers={
            "Authorization": f"Bearer {token}",
            "If-Match": f'"v{version}"',
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=30,
    )


# ---- lookups ---------------------------------------------------------------------------------------


def test_user_search_on_the_replica_shows_results_with_the_replica_lag(qloop: QLoop, env: AdminEnv) -> None:

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        pane.status_combo.setCurrentIndex(pane.status_combo.findData("active"))
        task = pane.start_search()
        assert task is not None
        await task
        assert pane.model.rowCount() > 0
        rows = [pane.model.cached_row(i) for i in pane.model.ids()]
        assert all(row is not None and row["status"] == "active" for row in rows)
        assert "matching users" in pane.count_label.text()
        assert "users replica" in pane.lag_label.text() and "read" in pane.lag_label.text()
        # the next keyset page when the view reaches the end, and rows evicted from the cache come back
        first_page = pane.model.rowCount()
        assert pane.model.canFetchMore(QModelIndex())
        pane.model.fetchMore(QModelIndex())
        await wait_until(lambda: pane.model.rowCount() > first_page, timeout_s=15)
        pane.model.evict([pane.model.id_at(0)])
        assert pane.model.data(pane.model.index(0, 1)) == LOADING_TEXT
        await wait_until(lambda: pane.model.cached_row(pane.model.id_at(0)) is not None, timeout_s=15)
        assert pane.model.data(pane.model.index(0, 1)) not in ("", LOADING_TEXT)
        pane.select_id(pane.model.id_at(0))
        await wait_until(lambda: pane.detail_id == pane.model.id_at(0), timeout_s=15)
        html = pane.detail.toPlainText()
        for section in ("Profile", "Sync history", "Orders", "Cart", "Search activity", "replica"):
            assert section in html

    env.run(scenario)


def test_replica_failover_is_shown_and_with_no_replica_the_results_stay_marked_stale(
    env: AdminEnv, pg_cluster: PgCluster
) -> None:
    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await pane.start_search()
        assert "failover" not in pane.lag_label.text()
        pg_cluster.stop("replica1")
        try:
            await pane.start_search()
            assert pane.model.rowCount() > 0
            assert "users replica" in pane.lag_label.text() and "(failover: URL 2)" in pane.lag_label.text()
            shown = pane.model.ids()
            pg_cluster.stop("replica2")
            await pane.start_search()
            # nothing answers: the last results stay, greyed, with since when and why
            assert pane.model.ids() == shown
            assert pane.stale_banner.text().startswith("stale since ")
            assert "every replica URL failed" in pane.stale_banner.text()
            assert pane.table.property("stale") is True
            pg_cluster.start()
            await pane.start_search()
            assert pane.stale_banner.text() == "" and pane.table.property("stale") is False
        finally:
            pg_cluster.start()
            wait_for_replicas(pg_cluster)

    env.run(scenario)


# ---- actions and read-your-writes ------------------------------------------------------------------


def test_suspend_from_the_ui_is_applied_and_the_row_waits_for_the_replica_then_refreshes(
    qloop: QLoop, env: AdminEnv, pg_cluster: PgCluster
) -> None:
    user = users_with_status(pg_cluster, "active", 1, 10)[0]
    user_id = str(user["id"])

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        queue = admin.add(QueuePane(admin.session))
        await search_user(pane, user["id"])
        assert pane.action_buttons["suspend"].isEnabled()
        pg_cluster.pause_replay(0)
        try:
            pane.action_buttons["suspend"].click()
            await answer_reason(pane, "chargeback fraud ring", confirm=True)
            await wait_for_state(admin.runtime, user_id, OutboxState.APPLIED)
            assert user_status(pg_cluster, user["id"]) == "suspended"
            await wait_until(lambda: pane.model.badge(user_id) == WAITING_TEXT, timeout_s=10)
            assert pane.model.cached_row(user_id)["status"] == "active"  # the replica has not replayed it
            # a new search on the lagging replica still knows the row is behind, and says how far
            await pane.search()
            assert pane.model.badge(user_id) == WAITING_TEXT
            assert "bytes behind" in pane.lag_label.text()
            pane.select_id(user_id)
            await wait_until(lambda: pane.detail_id == user_id, timeout_s=15)
            await wait_until(lambda: queue.model.rowCount() == 1, timeout_s=10)
            assert queue.model.data(queue.model.index(0, 4)) == "applied"
        finally:
            pg_cluster.resume_replay(0)
        await wait_until(lambda: pane.model.badge(user_id) == "", timeout_s=20)
        assert pane.model.cached_row(user_id)["status"] == "suspended"
        await wait_until(lambda: "suspended" in pane.detail.toPlainText(), timeout_s=10)

    env.run(scenario)


def test_a_destructive_action_cancelled_in_its_dialog_queues_nothing(
    qloop: QLoop, env: AdminEnv, pg_cluster: PgCluster
) -> None:
    user = users_with_status(pg_cluster, "active", 1, 12)[0]

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await search_user(pane, user["id"])
        task = pane.start_action(spec_for(EntityType.USER, "suspend"))
        await wait_until(lambda: isinstance(pane.active_dialog, ReasonDialog), timeout_s=10)
        pane.active_dialog.reason.setPlainText("changed my mind")
        pane.active_dialog.reject()
        assert await task is False
        assert await admin.runtime.outbox.open_count() == 0

    env.run(scenario)


def test_a_destructive_action_re_checks_the_current_state_before_it_is_queued(
    env: AdminEnv, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    user = users_with_status(pg_cluster, "active", 1, 14)[0]

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await search_user(pane, user["id"])
        # another admin suspends the user while this one types the reason
        assert (
            patch_user(pg_refserver.base_url, user["id"], "suspend", user["version"], "other").status_code
            == 200
        )
        wait_for_replicas(pg_cluster)
        task = pane.start_action(spec_for(EntityType.USER, "suspend"))
        assert task is not None
        await answer_reason(pane, "spam", confirm=True)
        with pytest.raises(ActionError, match="no longer applies"):
            await task
        assert "no longer applies" in pane.error_label.text()
        assert await admin.runtime.outbox.open_count() == 0
        assert pane.model.cached_row(str(user["id"]))["status"] == "suspended"  # the row shows it now

    env.run(scenario)


def test_conflict_from_the_ui_apply_again_on_the_new_version_or_discard(
    qloop: QLoop, env: AdminEnv, pg_cluster: PgCluster, pg_refserver: RefServer
) -> None:
    first, second = users_with_status(pg_cluster, "active", 2, 20)

    async def conflict_for(admin: Session, pane: AdminPane, user: dict[str, Any]) -> None:
        await search_user(pane, user["id"])
        # another admin changes the user after the console read it, and the replica lags behind:
        # the console's re-check still sees the old version
        pg_cluster.pause_replay(0)
        try:
            answer = patch_user(
                pg_refserver.base_url, user["id"], "reset_password", user["version"], "user asked"
            )
            assert answer.status_code == 200, answer.text
            pane.action_buttons["suspend"].click()
            await answer_reason(pane, "spam wave", confirm=True)
            await wait_for_state(admin.runtime, str(user["id"]), OutboxState.CONFLICT)
        finally:
            pg_cluster.resume_replay(0)

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        queue = admin.add(QueuePane(admin.session))
        await conflict_for(admin, pane, first)
        await queue.reload()
        entry = next(e for e in queue.model.entries() if e.entity.id == str(first["id"]))
        queue.select_entry(entry.id)
        detail = queue.detail.toPlainText()
        assert "current record" in detail and f"version: {first['version'] + 1}" in detail
        assert "{" not in detail  # fields in words, not the server's JSON
        # who changed what since the version the action expected, from the audit trail
        await wait_until(lambda: "Changed on the server since" in queue.detail.toPlainText(), timeout_s=15)
        history = queue.detail.toPlainText().split("Changed on the server since")[1]
        assert f"v{first['version']} → v{first['version'] + 1}" in history
        assert "admin@nexus.test · user.reset_password (“user asked”): password_reset_at: set to" in history
        assert queue.apply_again_button.isEnabled() and queue.discard_button.isEnabled()
        assert not queue.edit_button.isEnabled()
        queue.apply_again_button.click()
        await wait_for_state(admin.runtime, str(first["id"]), OutboxState.APPLIED)
        assert user_status(pg_cluster, first["id"]) == "suspended"

        await conflict_for(admin, pane, second)
        await queue.reload()
        entry = next(e for e in queue.model.entries() if e.entity.id == str(second["id"]))
        queue.select_entry(entry.id)
        queue.discard_button.click()
        await wait_until(
            lambda: queue.model.entries()[queue.model.row_of(entry.id)].state is OutboxState.CANCELLED
        )
        assert user_status(pg_cluster, second["id"]) == "active"

    env.run(scenario)


def test_ban_requires_step_up_re_authentication(qloop: QLoop, env: AdminEnv, pg_cluster: PgCluster) -> None:
    user = users_with_status(pg_cluster, "active", 1, 30)[0]

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await search_user(pane, user["id"])
        pane.action_buttons["ban"].click()
        await answer_reason(pane, "fraud confirmed by payments", confirm=True)
        first = await answer_step_up(pane, "not-the-password")
        await wait_until(
            lambda: isinstance(pane.active_dialog, StepUpDialog) and pane.active_dialog is not first
        )
        assert pane.active_dialog.error.text() == "Wrong password."
        assert await admin.runtime.outbox.open_count() == 0  # nothing queued before the step-up
        await answer_step_up(pane, PASSWORD)
        await wait_for_state(admin.runtime, str(user["id"]), OutboxState.APPLIED)
        assert user_status(pg_cluster, user["id"]) == "banned"

    env.run(scenario)


def test_bulk_suspend_on_marked_rows_after_a_dry_run_and_step_up(
    qloop: QLoop, env: AdminEnv, pg_cluster: PgCluster
) -> None:
    active = users_with_status(pg_cluster, "active", 2, 40)
    suspended = users_with_status(pg_cluster, "suspended", 1, 0)
    wait_for_replicas(pg_cluster)
    ids = [str(u["id"]) for u in active + suspended]

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        pane.status_combo.setCurrentIndex(0)
        task = pane.start_search()  # every user, first page; the marked ones are loaded by id below
        assert task is not None
        await task
        rows = (await admin.runtime.lookups.rows_by_id(EntityType.USER, ids)).value
        pane.model.reset(EntityType.USER, [rows[i] for i in ids], has_more=False)
        for entity_id in ids[:-1]:
            pane.model.set_marked(entity_id, True)
        pane.select_id(ids[-1])
        QTest.keyClick(pane.table, Qt.Key.Key_M)  # the keyboard marks the current row
        assert pane.model.marked_ids() == ids
        pane.bulk_combo.setCurrentIndex(pane.bulk_combo.findData("suspend"))
        pane.bulk_button.click()
        await answer_reason(pane, "coordinated spam", confirm=True)
        await wait_until(lambda: isinstance(pane.active_dialog, DryRunDialog), timeout_s=15)
        dry = pane.active_dialog
        assert (
            dry.summary_label.text() == "Suspend: 2 will change, 1 already in a state where it does not apply"
        )
        dry.accept()
        await answer_step_up(pane, PASSWORD)
        for user in active:
            await wait_for_state(admin.runtime, str(user["id"]), OutboxState.APPLIED)
            assert user_status(pg_cluster, user["id"]) == "suspended"
        assert await entry_state(admin.runtime, str(suspended[0]["id"])) is None

    env.run(scenario)


# ---- offline -----------------------------------------------------------------------------------------


def sqlite_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


def test_offline_queue_edit_and_cancel_then_restart_applies_the_rest(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    """A dedicated reference server (this test stops it), on SQLite files the console reads read-only,
    as in --demo."""
    server: RefServer = refserver_factory("--seed", "11", "--scale", "0.02", "--scenario", "none")
    users_db = server.data_dir / "users.sqlite3"
    kept, cancelled = sqlite_rows(
        users_db, "SELECT id, version FROM users WHERE status = 'active' ORDER BY id LIMIT 2"
    )
    outbox = tmp_path / "outbox.sqlite3"

    async def offline_part(session: Session) -> None:
        pane = session.add(AdminPane(session.session))
        queue = session.add(QueuePane(session.session))
        server.stop()
        for user in (kept, cancelled):
            await search_user(pane, user["id"])
            task = pane.start_action(spec_for(EntityType.USER, "suspend"))
            assert task is not None
            await answer_reason(pane, "first reason", confirm=True)
            assert await task is True
            await wait_until(lambda: session.runtime.offline, timeout_s=10)
        await queue.reload()
        assert "API unreachable" in queue.counts_label.text()
        entries = {e.entity.id: e for e in queue.model.entries()}
        assert all(e.state is OutboxState.QUEUED and e.is_editable for e in entries.values())

        queue.select_entry(entries[str(kept["id"])].id)
        assert queue.edit_button.isEnabled() and queue.cancel_button.isEnabled()
        queue.edit_button.click()
        await wait_until(lambda: isinstance(queue.active_dialog, ReasonDialog), timeout_s=10)
        queue.active_dialog.reason.setPlainText("edited while offline")
        queue.active_dialog.ok_button.click()
        await wait_until(
            lambda: (entry := queue.selected_entry()) is not None and entry.reason == "edited while offline"
        )

        cancelled_id = entries[str(cancelled["id"])].id
        queue.select_entry(cancelled_id)
        queue.cancel_button.click()
        await wait_until(
            lambda: queue.model.entries()[queue.model.row_of(cancelled_id)].state is OutboxState.CANCELLED
        )

    async def scenario() -> None:
        replicas = ReplicaSet.sqlite_directory(server.data_dir)
        try:
            async with open_session(server.base_url, replicas, outbox) as session:
                await offline_part(session)
            # the console quits with the action still queued
        finally:
            server.start()
        replicas = ReplicaSet.sqlite_directory(server.data_dir)
        async with open_session(server.base_url, replicas, outbox) as session:
            await wait_for_state(session.runtime, str(kept["id"]), OutboxState.APPLIED, timeout_s=30)

    qloop.run(scenario(), 120)
    status = "SELECT status FROM users WHERE id = ?"
    assert sqlite_rows(users_db, status, (kept["id"],))[0]["status"] == "suspended"
    assert sqlite_rows(users_db, status, (cancelled["id"],))[0]["status"] == "active"
    trail = sqlite_rows(
        server.data_dir / "nexus.sqlite3",
        "SELECT reason FROM audit_log"
        " WHERE entity_type = 'user' AND entity_id = ? AND action = 'user.suspend'",
        (str(kept["id"]),),
    )
    assert [row["reason"] for row in trail] == ["edited while offline"]


# ---- RBAC and audit ------------------------------------------------------------------------------------


def test_a_moderator_reads_users_but_sees_no_user_actions_and_approves_a_product(
    env: AdminEnv, pg_cluster: PgCluster
) -> None:
    product = primary_rows(
        pg_cluster, "marketplace", "SELECT id FROM products WHERE status = 'pending' ORDER BY id DESC LIMIT 1"
    )[0]

    async def scenario(session: Session) -> None:
        pane = session.add(AdminPane(session.session))
        assert session.session.me.may_access(AdminPane.required_roles)
        assert not session.session.me.may_access(AuditPane.required_roles)
        assert list(pane.action_buttons) == ["_read_only"]
        assert not pane.bulk_button.isEnabled()
        task = pane.start_search()
        assert task is not None
        await task
        assert pane.model.rowCount() > 0  # moderators may read users
        pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(EntityType.VENDOR))
        assert list(pane.action_buttons) == ["_read_only"]
        pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(EntityType.PRODUCT))
        assert list(pane.action_buttons) == ["approve", "reject", "remove"]
        assert pane.bulk_button.isEnabled()
        pane.search_edit.setText(str(product["id"]))
        await pane.start_search()
        pane.select_id(str(product["id"]))
        await wait_until(lambda: pane.action_buttons["approve"].isEnabled(), timeout_s=15)
        pane.action_buttons["approve"].click()
        await answer_reason(pane, "listing checked against the policy", confirm=False)
        await wait_for_state(session.runtime, str(product["id"]), OutboxState.APPLIED, entity_type="product")
        approved = primary_rows(
            pg_cluster, "marketplace", "SELECT status FROM products WHERE id = %s", (product["id"],)
        )
        assert approved[0]["status"] == "approved"

    env.run(scenario, email=MODERATOR)


def test_adjusting_a_vendors_commission_sends_the_new_rate(env: AdminEnv, pg_cluster: PgCluster) -> None:
    vendor = primary_rows(
        pg_cluster, "marketplace", "SELECT id FROM vendors WHERE status = 'approved' ORDER BY id LIMIT 1"
    )[0]

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(EntityType.VENDOR))
        pane.search_edit.setText(str(vendor["id"]))
        await pane.start_search()
        pane.select_id(str(vendor["id"]))
        await wait_until(lambda: pane.detail_id == str(vendor["id"]), timeout_s=15)
        assert "Commission and compliance" in pane.detail.toPlainText()
        pane.action_buttons["set_commission"].click()
        await wait_until(lambda: isinstance(pane.active_dialog, ReasonDialog), timeout_s=10)
        dialog = pane.active_dialog
        assert dialog.commission is not None
        dialog.commission.setValue(12.5)
        dialog.reason.setPlainText("renegotiated contract, Q4")
        dialog.ok_button.click()
        await wait_for_state(admin.runtime, str(vendor["id"]), OutboxState.APPLIED, entity_type="vendor")
        rate = primary_rows(
            pg_cluster, "marketplace", "SELECT commission_pct FROM vendors WHERE id = %s", (vendor["id"],)
        )
        assert float(rate[0]["commission_pct"]) == 12.5

    env.run(scenario)


def test_audit_viewer_filters_and_exports_csv(
    qloop: QLoop, env: AdminEnv, pg_cluster: PgCluster, pg_refserver: RefServer, tmp_path: Path
) -> None:
    user = users_with_status(pg_cluster, "active", 1, 60)[0]
    reason = f"audit viewer check {uuid.uuid4().hex[:8]}"
    assert (
        patch_user(pg_refserver.base_url, user["id"], "suspend", user["version"], reason).status_code == 200
    )

    async def scenario(admin: Session) -> None:
        pane = admin.add(AuditPane(admin.session))
        pane.action_edit.setText("user.suspend")
        pane.entity_type_combo.setCurrentIndex(pane.entity_type_combo.findData("user"))
        task = pane.start_search()
        assert task is not None
        await task
        assert pane.model.rowCount() >= 1
        assert {e["action"] for e in pane.model.entries()} == {"user.suspend"}
        pane.entity_id_edit.setText(str(user["id"]))
        pane.actor_edit.setText(ADMIN)
        pane.since_edit.setText("1h")  # typed as a person would; sent as RFC 3339
        pane.until_edit.setText("now")
        await pane.start_search()
        assert pane.model.rowCount() == 1
        pane.until_edit.setText("2h")  # until two hours ago: before the suspension
        await pane.start_search()
        assert pane.model.rowCount() == 0
        pane.since_edit.clear()
        pane.until_edit.clear()
        await pane.start_search()
        assert pane.model.rowCount() == 1
        pane.table.selectRow(0)
        assert reason in pane.detail.toPlainText() and '"status": "suspended"' in pane.detail.toPlainText()
        assert pane.model.data(pane.model.index(0, 5)).startswith("status: active → suspended")
        pane.entity_id_edit.clear()
        await pane.start_search()
        totals.append(pane.total)
        count = await pane.export_csv(tmp_path / "audit.csv")
        assert count == pane.total and count >= 1

    totals: list[int | None] = []
    env.run(scenario)
    with (tmp_path / "audit.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == totals[0]
    assert {row["action"] for row in rows} == {"user.suspend"} and {row["actor"] for row in rows} == {ADMIN}
    assert reason in {row["reason"] for row in rows}

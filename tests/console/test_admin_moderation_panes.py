"""The rest of seed 000's admin, driven like a user in the Admin pane against the reference server on a
real PostgreSQL primary with streaming replicas: merge duplicate accounts, platform access and roles,
vendor review with feedback, content moderation and subject-link moderation; offline and conflict too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nexus_console.domain.admin import EntityType, spec_for
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.views.admin import AdminPane
from nexus_console.views.admin.dialogs import ReasonDialog
from nexus_console.views.admin.merge_dialog import MergeDialog
from tests.console.helpers import wait_until
from tests.console.test_admin_panes import (
    MODERATOR,
    PASSWORD,
    AdminEnv,
    Session,
    answer_reason,
    answer_step_up,
    env,  # noqa: F401 - the fixture
    open_session,
    search_user,
    sqlite_rows,
    users_with_status,
    wait_for_state,
)
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import primary_rows, wait_for_replicas
from tests.support.qloop import QLoop
from tests.support.refserver import RefServer


def user_row(cluster: PgCluster, user_id: int) -> dict[str, Any]:
    return primary_rows(cluster, "users", "SELECT * FROM users WHERE id = %s", (user_id,))[0]


def count_for(cluster: PgCluster, table: str, user_id: int) -> int:
    rows = primary_rows(cluster, "users", f"SELECT count(*) AS n FROM {table} WHERE user_id = %s", (user_id,))
    return int(rows[0]["n"])


def new_vendor_registration(cluster: PgCluster) -> dict[str, Any]:
    """A vendor registers on the marketplace (a row on the primary, as the marketplace would write it)."""
    vendor = primary_rows(
        cluster,
        "marketplace",
        "INSERT INTO vendors (id, name, email, country, created_at, status, commission_pct, warnings,"
        " products_removed, late_shipments, version)"
        " SELECT max(id) + 1, 'Fjord Ceramics ' || (max(id) + 1), 'shop' || (max(id) + 1) || '@example.com',"
        " 'NO', now(), 'pending', 12, 0, 0, 0, 1 FROM vendors RETURNING id",
    )[0]
    wait_for_replicas(cluster)
    return vendor


async def search(pane: AdminPane, entity_type: EntityType, text: str) -> None:
    pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(entity_type))
    pane.search_edit.setText(text)
    await pane.start_search()
    pane.select_id(text)
    await wait_until(lambda: pane.detail_id == text, timeout_s=15)


def test_merging_a_duplicate_shows_both_accounts_and_moves_its_sessions(
    env: AdminEnv,  # noqa: F811
    pg_cluster: PgCluster,
) -> None:
    duplicate, target = users_with_status(pg_cluster, "active", 2, 60)
    sessions = count_for(pg_cluster, "sync_sessions", duplicate["id"])
    kept = count_for(pg_cluster, "sync_sessions", target["id"])

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await search_user(pane, duplicate["id"])
        assert "merge" not in [pane.bulk_combo.itemData(i) for i in range(pane.bulk_combo.count())]
        pane.action_buttons["merge"].click()
        await wait_until(lambda: isinstance(pane.active_dialog, MergeDialog), timeout_s=10)
        dialog = pane.active_dialog
        dialog.target_edit.setText(str(duplicate["id"]))
        await dialog.compare(str(duplicate["id"]))
        assert dialog.moves_label.text() == "An account cannot be merged into itself."
        dialog.target_edit.setText(str(target["id"]))
        await dialog.compare(str(target["id"]))
        compared = dialog.comparison.toPlainText()
        assert duplicate["email"] in compared and target["email"] in compared
        assert f"{sessions} sync sessions" in dialog.moves_label.text()
        assert f"move to user {target['id']}" in dialog.moves_label.text()
        dialog.reason.setPlainText("same person signed up twice")
        assert not dialog.ok_button.isEnabled()  # not confirmed yet
        dialog.confirm.setChecked(True)
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()
        await answer_step_up(pane, PASSWORD)
        await wait_for_state(admin.runtime, str(duplicate["id"]), OutboxState.APPLIED)

    env.run(scenario)
    merged = user_row(pg_cluster, duplicate["id"])
    assert merged["status"] == "merged" and merged["merged_into"] == target["id"]
    assert count_for(pg_cluster, "sync_sessions", duplicate["id"]) == 0
    assert count_for(pg_cluster, "sync_sessions", target["id"]) == kept + sessions


def test_granting_and_revoking_workstation_access_from_the_pane(
    env: AdminEnv,  # noqa: F811
    pg_cluster: PgCluster,
) -> None:
    user = users_with_status(pg_cluster, "active", 1, 70)[0]

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await search_user(pane, user["id"])
        assert "Platform access" in pane.detail.toPlainText()
        pane.action_buttons["grant_access"].click()
        await wait_until(lambda: isinstance(pane.active_dialog, ReasonDialog), timeout_s=10)
        dialog = pane.active_dialog
        dialog.platform.setCurrentIndex(dialog.platform.findText("Workstation"))
        assert [dialog.role.itemText(i) for i in range(dialog.role.count())] == [
            "editor",
            "reviewer",
            "admin",
        ]
        dialog.role.setCurrentText("reviewer")
        dialog.reason.setPlainText("joins the subject review team")
        dialog.ok_button.click()
        await wait_for_state(admin.runtime, str(user["id"]), OutboxState.APPLIED)
        assert json.loads(user_row(pg_cluster, user["id"])["platform_access"]) == {"workstation": "reviewer"}
        await wait_until(lambda: "Workstation: reviewer" in pane.detail.toPlainText(), timeout_s=20)

        await wait_until(lambda: pane.action_buttons["revoke_access"].isEnabled(), timeout_s=15)
        pane.action_buttons["revoke_access"].click()
        await wait_until(lambda: isinstance(pane.active_dialog, ReasonDialog), timeout_s=10)
        dialog = pane.active_dialog
        assert [dialog.platform.itemText(i) for i in range(dialog.platform.count())] == ["Workstation"]
        dialog.reason.setPlainText("left the team")
        dialog.ok_button.click()
        await wait_until(lambda: user_row(pg_cluster, user["id"])["platform_access"] is None, timeout_s=20)

    env.run(scenario)


def test_a_vendor_rejection_needs_feedback_and_the_vendor_record_keeps_it(
    env: AdminEnv,  # noqa: F811
    pg_cluster: PgCluster,
) -> None:
    vendor = new_vendor_registration(pg_cluster)

    async def scenario(admin: Session) -> None:
        pane = admin.add(AdminPane(admin.session))
        await search(pane, EntityType.VENDOR, str(vendor["id"]))
        pane.action_buttons["reject"].click()
        await wait_until(lambda: isinstance(pane.active_dialog, ReasonDialog), timeout_s=10)
        dialog = pane.active_dialog
        dialog.reason.setPlainText("tax documents missing")
        dialog.confirm.setChecked(True)
        assert not dialog.ok_button.isEnabled()  # feedback for the vendor is required
        dialog.feedback.setPlainText("Please upload your VAT certificate and apply again.")
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()
        await wait_for_state(admin.runtime, str(vendor["id"]), OutboxState.APPLIED, entity_type="vendor")
        await wait_until(lambda: "VAT certificate" in pane.detail.toPlainText(), timeout_s=20)

    env.run(scenario)
    row = primary_rows(pg_cluster, "marketplace", "SELECT * FROM vendors WHERE id = %s", (vendor["id"],))[0]
    assert row["status"] == "rejected"
    assert row["review_feedback"] == "Please upload your VAT certificate and apply again."


def test_a_moderator_hides_flagged_content_and_approves_a_subject_link(
    env: AdminEnv,  # noqa: F811
    pg_cluster: PgCluster,
) -> None:
    content = primary_rows(
        pg_cluster,
        "workstation",
        "SELECT id FROM contents WHERE flagged AND status = 'published' ORDER BY id DESC LIMIT 1",
    )[0]
    link = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT id FROM product_subject_links WHERE status = 'pending' ORDER BY id DESC LIMIT 1",
    )[0]

    async def scenario(moderator: Session) -> None:
        pane = moderator.add(AdminPane(moderator.session))
        pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(EntityType.CONTENT))
        assert list(pane.action_buttons) == ["hide", "unhide", "remove", "clear_flag"]
        pane.queue_combo.setCurrentIndex(pane.queue_combo.findText("Flagged queue"))
        await pane.start_search()
        rows = [pane.model.cached_row(i) for i in pane.model.ids()]
        assert rows and all(row["flagged"] and row["status"] != "removed" for row in rows)
        await search(pane, EntityType.CONTENT, str(content["id"]))
        assert "Flag reason" in pane.detail.toPlainText()
        await wait_until(lambda: pane.action_buttons["hide"].isEnabled(), timeout_s=15)
        assert not pane.action_buttons["unhide"].isEnabled()
        pane.action_buttons["hide"].click()
        await answer_reason(pane, "copyright claim under review", confirm=False)
        await wait_for_state(
            moderator.runtime, str(content["id"]), OutboxState.APPLIED, entity_type="content"
        )

        await search(pane, EntityType.SUBJECT_LINK, str(link["id"]))
        pane.action_buttons["approve"].click()
        await answer_reason(pane, "the product is in the scene", confirm=False)
        await wait_for_state(
            moderator.runtime, str(link["id"]), OutboxState.APPLIED, entity_type="subject_link"
        )

    env.run(scenario, email=MODERATOR)
    hidden = primary_rows(
        pg_cluster, "workstation", "SELECT status FROM contents WHERE id = %s", (content["id"],)
    )
    assert hidden[0]["status"] == "hidden"
    approved = primary_rows(
        pg_cluster, "marketplace", "SELECT status FROM product_subject_links WHERE id = %s", (link["id"],)
    )
    assert approved[0]["status"] == "verified"


def test_a_content_removal_that_meets_another_moderators_change_is_a_conflict_applied_again(
    env: AdminEnv,  # noqa: F811
    pg_cluster: PgCluster,
    pg_refserver: RefServer,
) -> None:
    content = primary_rows(
        pg_cluster,
        "workstation",
        "SELECT id, version FROM contents WHERE NOT flagged AND status = 'published' ORDER BY id LIMIT 1",
    )[0]
    wait_for_replicas(pg_cluster)

    async def scenario(moderator: Session) -> None:
        pane = moderator.add(AdminPane(moderator.session))
        await search(pane, EntityType.CONTENT, str(content["id"]))
        pg_cluster.pause_replay(0)  # the console's re-check still sees the version it showed
        try:
            other = moderator.session.api  # another moderator's hide, straight through the API
            answer, _headers = await other.patch_json(
                f"/admin/contents/{content['id']}",
                {"action": "hide", "reason": "first look"},
                if_match=f'"v{content["version"]}"',
                idempotency_key="other-moderator-1",
            )
            assert answer["status"] == "hidden"
            pane.action_buttons["remove"].click()
            await answer_reason(pane, "copyright upheld", confirm=True)
            await wait_for_state(
                moderator.runtime, str(content["id"]), OutboxState.CONFLICT, entity_type="content"
            )
        finally:
            pg_cluster.resume_replay(0)
        assert moderator.runtime.actions is not None
        entry = (await moderator.runtime.outbox.latest_for("content", [str(content["id"])]))[
            str(content["id"])
        ]
        assert entry.server_state is not None and entry.server_state["status"] == "hidden"
        await moderator.runtime.actions.apply_again(entry)
        await wait_for_state(
            moderator.runtime, str(content["id"]), OutboxState.APPLIED, entity_type="content"
        )

    env.run(scenario, email=MODERATOR)
    removed = primary_rows(
        pg_cluster, "workstation", "SELECT status FROM contents WHERE id = %s", (content["id"],)
    )
    assert removed[0]["status"] == "removed"


def test_platform_access_granted_offline_is_applied_once_the_api_is_back(
    qloop: QLoop, refserver_factory: Any, tmp_path: Path
) -> None:
    from nexus_console.services.replicas import ReplicaSet

    server: RefServer = refserver_factory("--seed", "11", "--scale", "0.02", "--scenario", "none")
    users_db = server.data_dir / "users.sqlite3"
    user = sqlite_rows(
        users_db,
        "SELECT id FROM users WHERE status = 'active' AND platform_access IS NULL ORDER BY id LIMIT 1",
    )[0]
    outbox = tmp_path / "outbox.sqlite3"

    async def scenario() -> None:
        try:
            async with open_session(
                server.base_url, ReplicaSet.sqlite_directory(server.data_dir), outbox
            ) as s:
                pane = s.add(AdminPane(s.session))
                await search_user(pane, user["id"])
                server.stop()
                task = pane.start_action(spec_for(EntityType.USER, "grant_access"))
                await wait_until(lambda: isinstance(pane.active_dialog, ReasonDialog), timeout_s=10)
                dialog = pane.active_dialog
                dialog.platform.setCurrentIndex(dialog.platform.findText("Nexus"))
                dialog.role.setCurrentText("analyst")
                dialog.reason.setPlainText("on-call analyst rotation")
                dialog.ok_button.click()
                assert await task is True
                await wait_until(lambda: s.runtime.offline, timeout_s=10)
        finally:
            server.start()
        async with open_session(server.base_url, ReplicaSet.sqlite_directory(server.data_dir), outbox) as s:
            await wait_for_state(s.runtime, str(user["id"]), OutboxState.APPLIED, timeout_s=30)

    qloop.run(scenario(), 120)
    row = sqlite_rows(users_db, "SELECT platform_access FROM users WHERE id = ?", (user["id"],))[0]
    assert json.loads(row["platform_access"]) == {"nexus": "analyst"}
    trail = sqlite_rows(
        server.data_dir / "nexus.sqlite3",
        "SELECT count(*) AS n FROM audit_log WHERE entity_id = ? AND action = 'user.grant_access'",
        (str(user["id"]),),
    )
    assert trail[0]["n"] == 1  # applied exactly once

"""The admin workflow without widgets: lookups through the entity descriptors, the permission rule, step-up
through the session's AuthSession, the re-check before queueing, bulk actions, the queue's own changes on
the runtime's feeds, read-your-writes, and the audit trail.

Against the real reference server, read through its SQLite files as replicas (as in --demo), in a real
ConsoleSession built the one way tests build it; read-your-writes with a lagging replica on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from nexus_console.domain.admin import ActionError, DryRunSummary, EntityRef, EntityType, spec_for
from nexus_console.domain.admin_flow import WRONG_PASSWORD, ActionStatus, CaughtUp
from nexus_console.domain.lookups import ProductDetail, ProductQueue, UserDetail, VendorDetail
from nexus_console.domain.outbox_model import OutboxState, SendOutcome, SendResult
from nexus_console.domain.replica_reads import RowFreshness
from nexus_console.services.admin_runtime import AdminRuntime
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile
from nexus_console.services.replicas import ReplicaConfig, ReplicaSet
from tests.admin.conftest import ADMIN_EMAIL, DEMO_PASSWORD, primary_rows
from tests.console.api_support import api_stack
from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer
from tests.support.session import admin_session, fast_admin_settings

pytestmark = pytest.mark.asyncio

MODERATOR = "moderator@nexus.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    """One reference server for the module, on SQLite files the console reads read-only (as in --demo)."""
    server = RefServer(
        tmp_path_factory.mktemp("refserver-workflow"),
        "--seed",
        "11",
        "--scale",
        "0.02",
        "--scenario",
        "none",
        session_owned=True,
    )
    server.start()
    yield server
    server.stop()


def sqlite_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


def users(server: RefServer, status: str, count: int, offset: int) -> list[dict[str, Any]]:
    """Users as the server has them now, far apart from the ones other tests pick."""
    return sqlite_rows(
        server.data_dir / "users.sqlite3",
        "SELECT id, email, status, version FROM users WHERE status = ? ORDER BY id LIMIT ? OFFSET ?",
        (status, count, offset),
    )


def user_status(server: RefServer, user_id: int) -> str:
    rows = sqlite_rows(server.data_dir / "users.sqlite3", "SELECT status FROM users WHERE id = ?", (user_id,))
    return str(rows[0]["status"])


@asynccontextmanager
async def admin_runtime(
    base_url: str, replicas: ReplicaSet, outbox: Path, email: str = ADMIN_EMAIL
) -> AsyncIterator[AdminRuntime]:
    """A signed-in session whose admin runtime is ready; its workflow is `runtime.workflow`."""
    async with api_stack(base_url) as stack:
        me = await stack.auth.login(Credentials(email, DEMO_PASSWORD))
        async with admin_session(
            Profile("lab", base_url), stack.api, me, settings=fast_admin_settings(outbox), replicas=replicas
        ) as session:
            assert session.admin is not None
            yield session.admin


@asynccontextmanager
async def sqlite_console(
    server: RefServer, tmp_path: Path, email: str = ADMIN_EMAIL
) -> AsyncIterator[AdminRuntime]:
    replicas = ReplicaSet.sqlite_directory(server.data_dir)
    async with admin_runtime(server.base_url, replicas, tmp_path / "outbox.sqlite3", email) as runtime:
        assert runtime.problem is None
        yield runtime


class Passwords:
    """The view's `ask_password`: answers from a list (None: the admin cancels); records the errors shown."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.errors: list[str | None] = []

    async def __call__(self, error: str | None) -> str | None:
        self.errors.append(error)
        return self.answers.pop(0)


def never_asked(_error: str | None) -> Any:
    raise AssertionError("no step-up expected")


class Revisions:
    """What the runtime published on `changes` while the test ran."""

    def __init__(self, runtime: AdminRuntime) -> None:
        self.seen: list[int] = []
        self.unsubscribe = runtime.changes.subscribe(self.seen.append)


async def state_of(runtime: AdminRuntime, entity_id: str, entity_type: str = "user") -> OutboxState | None:
    assert runtime.outbox is not None
    latest = await runtime.outbox.latest_for(entity_type, [entity_id])
    return latest[entity_id].state if entity_id in latest else None


async def wait_for_state(
    runtime: AdminRuntime,
    entity_id: str,
    state: OutboxState,
    entity_type: str = "user",
    timeout_s: float = 20,
) -> None:
    async with asyncio.timeout(timeout_s):
        while (await state_of(runtime, entity_id, entity_type)) is not state:
            await asyncio.sleep(0.05)


# ---- lookups through the entity descriptors -----------------------------------------------------------


async def test_every_entity_type_searches_pages_counts_and_loads_its_detail(
    server: RefServer, tmp_path: Path
) -> None:
    async with sqlite_console(server, tmp_path) as runtime:
        workflow = runtime.workflow
        details = {
            EntityType.USER: UserDetail,
            EntityType.VENDOR: VendorDetail,
            EntityType.PRODUCT: ProductDetail,
        }
        for entity_type, detail_type in details.items():
            result = await workflow.search(entity_type, "", limit=5)
            assert result.entity_type is entity_type
            rows = result.page.value.rows
            assert len(rows) == 5 and result.page.value.next_after is not None
            assert result.count.value.describe()
            more = await workflow.next_page(entity_type, result.search, result.page.value.next_after, limit=5)
            assert {r["id"] for r in more.value.rows}.isdisjoint({r["id"] for r in rows})
            first = str(rows[0]["id"])
            loaded = await workflow.detail(entity_type, first)
            assert isinstance(loaded.detail, detail_type)
            assert loaded.stamp.value is not None and str(loaded.stamp.value["id"]) == first
            found = await workflow.rows(entity_type, [first])
            assert found.value[first]["id"] == rows[0]["id"]
        # the filters reach the search: a status, and for products a queue
        suspended = await workflow.search(EntityType.USER, "", "suspended", limit=20)
        assert {r["status"] for r in suspended.page.value.rows} == {"suspended"}
        pending = await workflow.search(EntityType.PRODUCT, "", None, ProductQueue.PENDING, limit=20)
        assert pending.page.value.rows and {r["status"] for r in pending.page.value.rows} == {"pending"}


# ---- one action ---------------------------------------------------------------------------------------


async def test_an_action_is_re_checked_queued_applied_and_the_replica_row_is_published(
    server: RefServer, tmp_path: Path
) -> None:
    user = users(server, "active", 1, 100)[0]
    entity_id = str(user["id"])
    async with sqlite_console(server, tmp_path) as runtime:
        revisions = Revisions(runtime)
        results: list[list[SendResult]] = []
        caught: list[CaughtUp] = []
        runtime.results.subscribe(results.append)
        runtime.caught_up.subscribe(caught.append)
        outcome = await runtime.workflow.act(
            spec_for(EntityType.USER, "suspend"), entity_id, "spam wave", never_asked, seen=user
        )
        assert outcome.status is ActionStatus.QUEUED and outcome.queued
        [entry] = outcome.entries
        assert entry.expected_version == user["version"]  # the version re-read from the replica
        assert outcome.rows[entity_id]["status"] == "active"
        assert revisions.seen  # queueing published a change without anyone asking
        await wait_for_state(runtime, entity_id, OutboxState.APPLIED)
        assert user_status(server, user["id"]) == "suspended"
        applied = [r for batch in results for r in batch if r.entity == EntityRef(EntityType.USER, entity_id)]
        assert [r.outcome for r in applied] == [SendOutcome.APPLIED]
        # read-your-writes: the replica row that shows the write is published, and nothing waits any more
        for _ in range(200):
            if caught:
                break
            await asyncio.sleep(0.05)
        rows = {ref: row for c in caught for ref, row in c.rows.items()}
        published = rows[EntityRef(EntityType.USER, entity_id)]
        assert published["status"] == "suspended" and published["version"] == user["version"] + 1
        assert not runtime.catch_up.pending  # nothing waits any more: a later read is current
        assert runtime.workflow.freshness(EntityType.USER, [published]) == {entity_id: RowFreshness.CURRENT}


async def test_an_action_that_no_longer_applies_is_refused_with_the_current_row(
    server: RefServer, tmp_path: Path
) -> None:
    user = users(server, "suspended", 1, 5)[0]
    entity_id = str(user["id"])
    async with sqlite_console(server, tmp_path) as runtime:
        seen_as_active = dict(user, status="active")  # what the admin saw before someone else acted
        outcome = await runtime.workflow.act(
            spec_for(EntityType.USER, "suspend"), entity_id, "spam", never_asked, seen=seen_as_active
        )
        assert outcome.status is ActionStatus.REFUSED and not outcome.queued
        assert outcome.message == f"Suspend no longer applies to user {entity_id}: it is suspended now"
        assert outcome.rows[entity_id]["status"] == "suspended"
        gone = await runtime.workflow.act(spec_for(EntityType.USER, "suspend"), "999999", "spam", never_asked)
        assert gone.status is ActionStatus.REFUSED and gone.message == "user 999999 no longer exists"
        assert runtime.outbox is not None and await runtime.outbox.open_count() == 0


async def test_a_ban_steps_up_with_the_password_through_the_session(
    server: RefServer, tmp_path: Path
) -> None:
    first, second, third = users(server, "active", 3, 110)
    ban = spec_for(EntityType.USER, "ban")
    async with sqlite_console(server, tmp_path) as runtime:
        workflow = runtime.workflow
        assert runtime.outbox is not None
        cancelled = Passwords(None)
        outcome = await workflow.act(ban, str(first["id"]), "fraud", cancelled)
        assert outcome.status is ActionStatus.DECLINED and cancelled.errors == [None]
        wrong = Passwords("nope", "still nope", "wrong again")
        outcome = await workflow.act(ban, str(second["id"]), "fraud", wrong)
        assert outcome.status is ActionStatus.STEP_UP_FAILED
        assert outcome.message == "step-up re-authentication failed"
        assert wrong.errors == [None, WRONG_PASSWORD, WRONG_PASSWORD]
        assert await runtime.outbox.open_count() == 0  # nothing queued before the step-up
        right = Passwords("nope", DEMO_PASSWORD)
        outcome = await workflow.act(ban, str(third["id"]), "fraud", right)
        assert outcome.queued and right.errors == [None, WRONG_PASSWORD]
        await wait_for_state(runtime, str(third["id"]), OutboxState.APPLIED)
        assert user_status(server, third["id"]) == "banned"


async def test_a_moderator_may_act_on_products_only(server: RefServer, tmp_path: Path) -> None:
    [product] = sqlite_rows(
        server.data_dir / "marketplace.sqlite3",
        "SELECT id, status, version FROM products WHERE status = 'pending' ORDER BY id LIMIT 1 OFFSET 3",
    )
    user = users(server, "active", 1, 120)[0]
    async with sqlite_console(server, tmp_path, MODERATOR) as runtime:
        workflow = runtime.workflow
        assert [workflow.may_write(t) for t in (EntityType.USER, EntityType.VENDOR, EntityType.PRODUCT)] == [
            False,
            False,
            True,
        ]
        with pytest.raises(ActionError, match="your role may not change users"):
            await workflow.act(spec_for(EntityType.USER, "suspend"), str(user["id"]), "spam", never_asked)
        with pytest.raises(ActionError, match="your role may not change vendors"):
            await workflow.bulk(
                EntityType.VENDOR, ["1"], "suspend", "spam", confirm=_accept, ask_password=never_asked
            )
        outcome = await workflow.act(
            spec_for(EntityType.PRODUCT, "approve"), str(product["id"]), "listing checked", never_asked
        )
        assert outcome.queued
        await wait_for_state(runtime, str(product["id"]), OutboxState.APPLIED, "product")
    assert user_status(server, user["id"]) == "active"


async def _accept(_summary: DryRunSummary) -> bool:
    return True


# ---- bulk -------------------------------------------------------------------------------------------


async def test_a_bulk_action_is_dry_run_confirmed_stepped_up_and_queued(
    server: RefServer, tmp_path: Path
) -> None:
    active = users(server, "active", 2, 130)
    banned = users(server, "banned", 1, 0)
    ids = [str(u["id"]) for u in active + banned]
    async with sqlite_console(server, tmp_path) as runtime:
        workflow = runtime.workflow
        assert runtime.outbox is not None
        with pytest.raises(ActionError, match="mark rows first"):
            await workflow.bulk(
                EntityType.USER, [], "suspend", "x", confirm=_accept, ask_password=never_asked
            )
        summaries: list[DryRunSummary] = []

        async def decline(summary: DryRunSummary) -> bool:
            summaries.append(summary)
            return False

        outcome = await workflow.bulk(
            EntityType.USER, ids, "suspend", "spam ring", confirm=decline, ask_password=never_asked
        )
        assert outcome.status is ActionStatus.DECLINED
        assert (
            summaries[0].describe() == "Suspend: 2 will change, 1 already in a state where it does not apply"
        )
        assert await runtime.outbox.open_count() == 0  # a dry run queues nothing

        revisions = Revisions(runtime)
        outcome = await workflow.bulk(
            EntityType.USER,
            ids,
            "suspend",
            "spam ring",
            confirm=_accept,
            ask_password=Passwords(DEMO_PASSWORD),
        )
        assert outcome.queued and [e.entity.id for e in outcome.entries] == ids[:2]
        assert revisions.seen
        for user in active:
            await wait_for_state(runtime, str(user["id"]), OutboxState.APPLIED)
            assert user_status(server, user["id"]) == "suspended"
        assert await state_of(runtime, ids[2]) is None


# ---- the queue: offline, edited, cancelled, then sent ----------------------------------------------------


async def test_offline_actions_queue_behind_each_other_and_queue_changes_are_published(
    refserver_factory: Any, tmp_path: Path
) -> None:
    """A dedicated server (this test stops it)."""
    own: RefServer = refserver_factory("--seed", "11", "--scale", "0.02", "--scenario", "none")
    kept, cancelled = users(own, "active", 2, 0)
    outbox = tmp_path / "outbox.sqlite3"
    suspend, unsuspend = spec_for(EntityType.USER, "suspend"), spec_for(EntityType.USER, "unsuspend")
    replicas = ReplicaSet.sqlite_directory(own.data_dir)
    try:
        async with admin_runtime(own.base_url, replicas, outbox) as runtime:
            workflow, actions = runtime.workflow, runtime.actions
            assert actions is not None
            own.stop()
            revisions = Revisions(runtime)
            first = await workflow.act(suspend, str(kept["id"]), "first", never_asked, seen=kept)
            assert first.entries[0].expected_version == kept["version"]
            # behind an open action of the same entity: the version comes from that one when it is applied
            second = await workflow.act(unsuspend, str(kept["id"]), "follow-up", never_asked)
            assert second.queued and second.entries[0].expected_version is None
            other = await workflow.act(suspend, str(cancelled["id"]), "first", never_asked, seen=cancelled)
            async with asyncio.timeout(10):
                while not runtime.offline:
                    await asyncio.sleep(0.02)
            snapshot = await runtime.queue_snapshot()
            assert snapshot is not None and snapshot.offline
            assert (
                snapshot.describe() == "API unreachable: actions wait here (editable until sent) · 3 queued"
            )
            before = len(revisions.seen)
            await actions.edit_reason(first.entries[0].id, "edited while offline")
            await actions.cancel(other.entries[0].id)
            assert len(revisions.seen) == before + 2  # every change to the queue is published
            snapshot = await runtime.queue_snapshot()
            assert snapshot is not None
            assert [(e.reason, e.state) for e in snapshot.entries] == [
                ("edited while offline", OutboxState.QUEUED),
                ("follow-up", OutboxState.QUEUED),
                ("first", OutboxState.CANCELLED),
            ]
    finally:
        own.start()
    async with admin_runtime(own.base_url, ReplicaSet.sqlite_directory(own.data_dir), outbox) as runtime:
        await wait_for_state(runtime, str(kept["id"]), OutboxState.APPLIED, timeout_s=30)
        snapshot = await runtime.queue_snapshot()
        assert snapshot is not None
        assert [e.state for e in snapshot.entries] == [
            OutboxState.APPLIED,
            OutboxState.APPLIED,
            OutboxState.CANCELLED,
        ]
        assert snapshot.entries[1].expected_version == kept["version"] + 1
    assert user_status(own, kept["id"]) == "active"  # suspended, then unsuspended
    assert user_status(own, cancelled["id"]) == "active"


# ---- the audit trail --------------------------------------------------------------------------------


async def test_the_audit_trail_pages_with_filters_and_exports_csv(server: RefServer, tmp_path: Path) -> None:
    user = users(server, "active", 1, 140)[0]
    async with sqlite_console(server, tmp_path) as runtime:
        outcome = await runtime.workflow.act(
            spec_for(EntityType.USER, "suspend"), str(user["id"]), "audit trail check", never_asked
        )
        assert outcome.queued
        await wait_for_state(runtime, str(user["id"]), OutboxState.APPLIED)
        filters = {"action": "user.suspend", "entity_type": "user", "entity_id": str(user["id"])}
        page = await runtime.audit.page(filters)
        assert [(e["actor"], e["reason"]) for e in page.items] == [(ADMIN_EMAIL, "audit trail check")]
        assert page.next_cursor is None
        everything = {"action": "user.suspend"}
        first = await runtime.audit.page(everything, limit=1)
        assert len(first.items) == 1 and first.next_cursor is not None
        count = await runtime.audit.export_csv(everything, tmp_path / "audit.csv")
    with (tmp_path / "audit.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == count >= 2
    assert {row["action"] for row in rows} == {"user.suspend"}
    assert "audit trail check" in {row["reason"] for row in rows}


# ---- read-your-writes with a lagging replica (PostgreSQL) ------------------------------------------------


@pytest.mark.postgres
async def test_rows_wait_for_a_lagging_replica_and_are_published_when_it_catches_up(
    pg_refserver: RefServer, pg_cluster: PgCluster, tmp_path: Path
) -> None:
    [user] = primary_rows(
        pg_cluster,
        "users",
        "SELECT id, version FROM users WHERE id BETWEEN 600 AND 700 AND status = 'active'"
        " ORDER BY id LIMIT 1",
    )
    entity_id = str(user["id"])
    replicas = ReplicaSet([ReplicaConfig("users", (pg_cluster.replica_url("users", 0),))])
    async with admin_runtime(pg_refserver.base_url, replicas, tmp_path / "outbox.sqlite3") as runtime:
        caught: list[CaughtUp] = []
        runtime.caught_up.subscribe(caught.append)
        pg_cluster.pause_replay(0)
        try:
            outcome = await runtime.workflow.act(
                spec_for(EntityType.USER, "suspend"), entity_id, "fraud", never_asked
            )
            assert outcome.queued
            await wait_for_state(runtime, entity_id, OutboxState.APPLIED)
            row = (await runtime.workflow.rows(EntityType.USER, [entity_id])).value[entity_id]
            assert row["status"] == "active"  # the replica has not replayed the write
            assert runtime.workflow.freshness(EntityType.USER, [row]) == {
                entity_id: RowFreshness.WAITING_FOR_REPLICA
            }
            await asyncio.sleep(0.6)  # the watcher polls meanwhile, and publishes nothing
            assert caught == [] and runtime.watcher.running
        finally:
            pg_cluster.resume_replay(0)
        async with asyncio.timeout(20):
            while not caught:
                await asyncio.sleep(0.05)
        [published] = caught
        assert published.rows[EntityRef(EntityType.USER, entity_id)]["status"] == "suspended"
        async with asyncio.timeout(5):
            while runtime.watcher.running:  # nothing waits any more: the watcher ends
                await asyncio.sleep(0.02)


# ---- an extra unit test: the watcher on its own ----------------------------------------------------------


async def test_the_catch_up_watcher_runs_only_while_something_waits() -> None:
    from nexus_console.domain.replica_reads import ReplicaCatchUp
    from nexus_console.services.admin_workflow import CatchUpWatcher
    from nexus_console.services.feeds import Feed
    from nexus_console.services.tasks import TaskRunner

    catch_up = ReplicaCatchUp()
    versions = {"1": 3, "2": 3}
    calls: list[list[str]] = []

    async def refresh(entity_type: EntityType, ids: list[str]) -> dict[str, Any]:
        calls.append(sorted(ids))
        rows = {i: {"id": int(i), "version": versions[i]} for i in ids}
        return {i: (rows[i], catch_up.observe(EntityRef(entity_type, i), versions[i])) for i in ids}

    feed: Feed[CaughtUp] = Feed("caught_up")
    published: list[CaughtUp] = []
    feed.subscribe(published.append)
    watcher = CatchUpWatcher(catch_up, feed, lambda: refresh, poll_s=0.01)
    tasks = TaskRunner()
    try:
        watcher.start(tasks)
        assert not watcher.running  # nothing applied, nothing to watch
        catch_up.applied(EntityRef(EntityType.USER, "1"), 4)
        catch_up.applied(EntityRef(EntityType.USER, "2"), 4)
        watcher.kick()
        watcher.kick()  # one watcher at a time
        assert tasks.pending() == 1
        await asyncio.sleep(0.05)
        assert published == [] and calls and calls[-1] == ["1", "2"]
        versions["2"] = 4
        async with asyncio.timeout(2):
            while not published:
                await asyncio.sleep(0.01)
        assert [dict(p.rows) for p in published] == [
            {EntityRef(EntityType.USER, "2"): {"id": 2, "version": 4}}
        ]
        versions["1"] = 5
        async with asyncio.timeout(2):
            while watcher.running:
                await asyncio.sleep(0.01)
        assert len(published) == 2 and not catch_up.pending
    finally:
        await tasks.aclose()

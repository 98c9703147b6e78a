"""The admin workflow, without Qt: what the Admin pane does between the admin's clicks.

* lookups through the entity descriptors (search, next page, rows by id, detail);
* the permission rule (domain/admin_flow.py) checked before anything is asked or queued;
* an action: step-up for a ban (the password through the `ask_password` callback the view provides,
  checked by the session's AuthSession), the entity's current state re-checked, then queued;
* a bulk action: a dry run on the replica, confirmed through a callback, step-up, then queued;
* read-your-writes: `CatchUpWatcher`, a runtime task that polls the replica for rows the API changed and
  publishes the rows that caught up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nexus_console.domain.admin import (
    ActionError,
    ActionRequest,
    ActionSpec,
    DryRunSummary,
    EntityRef,
    EntityType,
)
from nexus_console.domain.admin_flow import (
    AUDIT_ROLES,
    STEP_UP_FAILED,
    STEP_UP_TRIES,
    WRONG_PASSWORD,
    ActionOutcome,
    ActionStatus,
    CaughtUp,
    LoadedDetail,
    SearchResult,
    may_write,
    needs_step_up,
    write_refusal,
)
from nexus_console.domain.audit_changes import changes_since
from nexus_console.domain.auth import Me
from nexus_console.domain.lookups import MergePreview, ProductQueue, Row
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from nexus_console.domain.replica_reads import Page, ReplicaCatchUp, ReplicaResult, RowFreshness
from nexus_console.services.admin_actions import AdminActions
from nexus_console.services.admin_entities import ENTITY_LOOKUPS
from nexus_console.services.auth import AuthSession
from nexus_console.services.feeds import Feed
from nexus_console.services.tasks import TaskRunner

if TYPE_CHECKING:
    from nexus_console.services.admin_runtime import AdminRuntime
    from nexus_console.services.lookups import Lookups

log = logging.getLogger(__name__)

# Given the error of the previous try (None at first), the password, or None when the admin cancels.
AskPassword = Callable[[str | None], Awaitable[str | None]]
ConfirmDryRun = Callable[[DryRunSummary], Awaitable[bool]]
CATCH_UP_POLL_S = 0.25


class AdminWorkflow:
    def __init__(self, runtime: AdminRuntime, auth: AuthSession | None, me: Me) -> None:
        self.runtime = runtime
        self.auth = auth
        self.me = me

    # --- readiness and permissions --------------------------------------------------------------------

    async def ready(self) -> tuple[Lookups, AdminActions]:
        """Wait for the runtime; RuntimeError saying why when it runs without lookups or without a queue."""
        runtime = self.runtime
        await runtime.ready.wait()
        if runtime.lookups is None or runtime.actions is None:
            raise RuntimeError(runtime.problem or "the admin services are not running")
        return runtime.lookups, runtime.actions

    def may_write(self, entity_type: EntityType) -> bool:
        return may_write(self.me.roles, entity_type)

    def require_write(self, entity_type: EntityType) -> None:
        if not self.may_write(entity_type):
            raise ActionError(write_refusal(entity_type))

    def check_bulk(self, entity_type: EntityType, ids: list[str]) -> None:
        """ActionError unless the role may change the entity type and some rows are marked."""
        self.require_write(entity_type)
        if not ids:
            raise ActionError("mark rows first (the check box in the first column)")

    # --- lookups --------------------------------------------------------------------------------------

    async def search(
        self,
        entity_type: EntityType,
        text: str,
        status: str | None = None,
        queue: ProductQueue | None = None,
        *,
        limit: int,
    ) -> SearchResult:
        """The first page and the estimated count of a search on the replica."""
        lookups, _actions = await self.ready()
        kind = ENTITY_LOOKUPS[entity_type]
        search = kind.build_search(text, status, queue)
        page = await kind.page(lookups, search, None, limit)
        count = await kind.count(lookups, search)
        return SearchResult(entity_type, search, page, count)

    async def next_page(
        self, entity_type: EntityType, search: Any, after: tuple[Any, ...], *, limit: int
    ) -> ReplicaResult[Page[Row]]:
        lookups, _actions = await self.ready()
        return await ENTITY_LOOKUPS[entity_type].page(lookups, search, after, limit)

    async def rows(self, entity_type: EntityType, ids: Iterable[str]) -> ReplicaResult[dict[str, Row]]:
        lookups, _actions = await self.ready()
        return await lookups.rows_by_id(entity_type, ids)

    async def detail(self, entity_type: EntityType, entity_id: str) -> LoadedDetail:
        lookups, _actions = await self.ready()
        kind = ENTITY_LOOKUPS[entity_type]
        detail = await kind.detail(lookups, int(entity_id))
        return LoadedDetail(entity_type, entity_id, detail, kind.main_row(detail))

    async def merge_preview(self, duplicate_id: str, target_id: str) -> MergePreview:
        """Both accounts of a merge, side by side, and what moves (from the replicas)."""
        lookups, _actions = await self.ready()
        return MergePreview(
            await lookups.account_footprint(int(duplicate_id)),
            await lookups.account_footprint(int(target_id)),
        )

    async def conflict_history(self, entry: OutboxEntry) -> list[str] | None:
        """What the server's audit trail says changed the entity after the version the action expected, one
        line per change; None when this role may not read the audit trail (or the action expected none)."""
        if not AUDIT_ROLES & frozenset(self.me.roles) or entry.expected_version is None:
            return None
        filters = {"entity_type": entry.entity.type.value, "entity_id": entry.entity.id}
        page = await self.runtime.audit.page(filters, limit=50)
        return changes_since(page.items, entry.expected_version)

    async def badges(self, entity_type: EntityType, ids: list[str]) -> dict[str, OutboxEntry]:
        """The outbox's latest entry per id (what the console knows beyond the replica)."""
        outbox = self.runtime.outbox
        if outbox is None or not ids:
            return {}
        return await outbox.latest_for(entity_type.value, ids)

    def freshness(
        self, entity_type: EntityType, rows: Iterable[Mapping[str, Any]]
    ) -> dict[str, RowFreshness]:
        """Rows just read from a replica that has not replayed a write this console applied: "waiting".
        The catch-up watcher then follows them until the replica shows the write."""
        catch_up = self.runtime.catch_up
        found = {
            str(row["id"]): catch_up.observe(EntityRef(entity_type, str(row["id"])), row.get("version"))
            for row in rows
        }
        if RowFreshness.WAITING_FOR_REPLICA in found.values():
            self.runtime.watcher.kick()
        return found

    # --- actions ---------------------------------------------------------------------------------------

    async def step_up(self, ask_password: AskPassword) -> bool | None:
        """Re-authenticate with the password, three tries: True; False (wrong each time); None (cancelled)."""
        error = None
        for _ in range(STEP_UP_TRIES):
            password = await ask_password(error)
            if password is None:
                return None
            if self.auth is not None and await self.auth.verify_password(password):
                return True
            error = WRONG_PASSWORD
        return False

    async def act(
        self,
        spec: ActionSpec,
        entity_id: str,
        reason: str | None,
        ask_password: AskPassword,
        *,
        params: Mapping[str, Any] | None = None,
        seen: Mapping[str, Any] | None = None,
    ) -> ActionOutcome:
        """Step up when the action needs it, re-check the entity's current state, queue the action.

        `seen` is the row the admin looked at: the fallback when the replica cannot be read (offline)."""
        self.require_write(spec.entity_type)
        if needs_step_up(spec):
            failed = await self._step_up_outcome(ask_password)
            if failed is not None:
                return failed
        _lookups, actions = await self.ready()
        entity = EntityRef(spec.entity_type, entity_id)
        refused, version, rows = await self._version_to_send(spec, entity, seen)
        if refused is not None:
            return ActionOutcome(ActionStatus.REFUSED, rows=rows, message=refused)
        entry = await actions.queue(ActionRequest(entity, spec.name, reason, dict(params or {}), version))
        return ActionOutcome(ActionStatus.QUEUED, (entry,), rows)

    async def _version_to_send(
        self, spec: ActionSpec, entity: EntityRef, seen: Mapping[str, Any] | None
    ) -> tuple[str | None, int | None, dict[str, Row]]:
        """(refusal, If-Match version, current rows) for a new action, after re-checking the entity.

        Behind an open queued action of the same entity: no version (the outbox hands on the version that
        one produces). Otherwise the replica's current row, re-read now: an action that no longer applies
        is refused here rather than at the server. When the replica cannot be read (working offline), the
        version the admin saw; the API's If-Match still guards the write.
        """
        lookups, actions = await self.ready()
        latest = (await actions.outbox.latest_for(entity.type.value, [entity.id])).get(entity.id)
        if latest is not None and latest.state not in (OutboxState.APPLIED, OutboxState.CANCELLED):
            return None, None, {}
        try:
            current = (await lookups.rows_by_id(entity.type, [entity.id])).value.get(entity.id)
        except Exception as exc:  # replica unreachable: queue on what the admin saw
            log.warning("could not re-check %s before %s: %s", entity, spec.name, exc)
            current = dict(seen) if seen else None
        if current is None:
            return f"{entity.type.value} {entity.id} no longer exists", None, {}
        rows = {entity.id: current}
        if not spec.applies_to(current):
            refusal = (
                f"{spec.label} no longer applies to {entity.type.value} {entity.id}: "
                f"it is {current.get('status')} now"
            )
            return refusal, None, rows
        version = current.get("version")
        return None, (int(version) if version is not None else None), rows

    async def bulk(
        self,
        entity_type: EntityType,
        ids: list[str],
        action: str,
        reason: str | None,
        *,
        confirm: ConfirmDryRun,
        ask_password: AskPassword,
    ) -> ActionOutcome:
        """A dry run on the replica, confirmed by the admin, step-up, then one queued action per entity
        the dry run says will change."""
        self.check_bulk(entity_type, ids)
        _lookups, actions = await self.ready()
        summary = await actions.dry_run(entity_type, ids, action, reason)
        if not await confirm(summary):
            return ActionOutcome(ActionStatus.DECLINED)
        failed = await self._step_up_outcome(ask_password)
        if failed is not None:
            return failed
        entries = await actions.queue_bulk(summary)
        return ActionOutcome(ActionStatus.QUEUED, tuple(entries))

    async def _step_up_outcome(self, ask_password: AskPassword) -> ActionOutcome | None:
        verified = await self.step_up(ask_password)
        if verified is None:
            return ActionOutcome(ActionStatus.DECLINED)
        if not verified:
            return ActionOutcome(ActionStatus.STEP_UP_FAILED, message=STEP_UP_FAILED)
        return None


RefreshRows = Callable[[EntityType, list[str]], Awaitable[dict[str, tuple[Row | None, RowFreshness]]]]


class CatchUpWatcher:
    """Read-your-writes: while the API has applied writes the replica does not show yet, re-read those rows
    every `poll_s` and publish the ones that caught up on `feed`.

    Runs as a session task, started by `kick()` (an applied result, or rows read as "waiting") and ending
    when nothing waits; a replica that cannot be read ends it too (the next kick starts it again).
    """

    def __init__(
        self,
        catch_up: ReplicaCatchUp,
        feed: Feed[CaughtUp],
        refresh_rows: Callable[[], RefreshRows | None],
        *,
        poll_s: float = CATCH_UP_POLL_S,
    ) -> None:
        self.catch_up = catch_up
        self.feed = feed
        self._refresh_rows = refresh_rows
        self.poll_s = poll_s
        self._tasks: TaskRunner | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, tasks: TaskRunner) -> None:
        self._tasks = tasks
        self.kick()

    @property
    def running(self) -> bool:
        return self._task is not None

    def kick(self) -> None:
        if self._tasks is None or self._task is not None or not self.catch_up.pending:
            return
        try:
            self._task = self._tasks.run(self._run(), name="admin-read-your-writes")
        except RuntimeError:  # the session is closing
            self._task = None

    async def _run(self) -> None:
        try:
            while self.catch_up.pending:
                refresh = self._refresh_rows()
                if refresh is None:
                    return
                waiting: dict[EntityType, list[str]] = {}
                for entity in list(self.catch_up.pending):
                    waiting.setdefault(entity.type, []).append(entity.id)
                caught: dict[EntityRef, Row] = {}
                for entity_type, ids in waiting.items():
                    for entity_id, (row, freshness) in (await refresh(entity_type, ids)).items():
                        if freshness is RowFreshness.CURRENT and row is not None:
                            caught[EntityRef(entity_type, entity_id)] = row
                if caught:
                    self.feed.publish(CaughtUp(caught))
                if self.catch_up.pending:
                    await asyncio.sleep(self.poll_s)
        except Exception as exc:
            log.warning("read-your-writes: the replica could not be read (%s); rows stay waiting", exc)
        finally:
            self._task = None

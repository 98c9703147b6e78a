"""Admin actions end to end, without Qt: validate, dry-run bulk actions on the replica, queue into the
outbox, change queued actions (edit, cancel, apply again, discard, retry), and track read-your-writes until
the replica shows what the API applied.

Writes never touch a replica: they go through the outbox and the admin API only. Every change to the
outbox made here is announced (`on_change`) and wakes the sender.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nexus_console.domain.admin import (
    ActionRequest,
    DryRunSummary,
    EntityRef,
    EntityType,
    dry_run,
    validate_action,
)
from nexus_console.domain.outbox_model import OutboxEntry, SendOutcome, SendResult
from nexus_console.domain.replica_reads import ReplicaCatchUp, RowFreshness
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_sender import OutboxSender

if TYPE_CHECKING:
    from nexus_console.services.lookups import Lookups, Row


class AdminActions:
    """The console's write path. Give the sender `on_results=actions.on_results` to track applied writes."""

    def __init__(
        self,
        outbox: AsyncOutbox,
        lookups: Lookups | None,
        *,
        sender: OutboxSender | None = None,
        catch_up: ReplicaCatchUp | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self._lookups = lookups  # None: the replicas could not be opened (the queue still works)
        self.sender = sender
        self.catch_up = catch_up or ReplicaCatchUp()
        self._on_change = on_change

    @property
    def lookups(self) -> Lookups:
        if self._lookups is None:
            raise RuntimeError("lookups unavailable: no replica could be opened")
        return self._lookups

    async def queue(self, request: ActionRequest) -> OutboxEntry:
        """Queue one action (works offline); the sender is woken to send it when it can."""
        entry = await self.outbox.enqueue(validate_action(request))
        self._changed()
        return entry

    async def dry_run(
        self,
        entity_type: EntityType,
        ids: Iterable[str | int],
        action: str,
        reason: str | None,
        params: Mapping[str, Any] | None = None,
    ) -> DryRunSummary:
        """What a bulk action would do to each id, from the replica's current rows; nothing is queued."""
        id_list = [str(i) for i in ids]
        rows = await self.lookups.rows_by_id(entity_type, id_list)
        return dry_run(entity_type, action, reason, id_list, rows.value, params)

    async def queue_bulk(self, summary: DryRunSummary) -> list[OutboxEntry]:
        """Queue the actions a dry run said would change something, each pinned to the version it saw."""
        entries = await self.outbox.enqueue_many(summary.requests())
        self._changed()
        return entries

    # --- queued actions --------------------------------------------------------------------------------

    async def edit_reason(self, entry_id: int, reason: str | None) -> OutboxEntry:
        """A new reason for an action not sent yet."""
        return self._after(await self.outbox.edit_reason(entry_id, reason))

    async def cancel(self, entry_id: int) -> OutboxEntry:
        """Withdraw an action not sent yet."""
        return self._after(await self.outbox.cancel(entry_id))

    async def apply_again(self, entry: OutboxEntry) -> OutboxEntry:
        """Send a conflicting action again, on the version the server has now (from the conflict)."""
        version = None
        if entry.server_state is not None and isinstance(entry.server_state.get("version"), int):
            version = int(entry.server_state["version"])
        return self._after(await self.outbox.apply_again(entry.id, version))

    async def discard(self, entry_id: int) -> OutboxEntry:
        """Give up a conflicting or failed action."""
        return self._after(await self.outbox.discard(entry_id))

    async def retry(self, entry_id: int) -> None:
        """Send a failed action again."""
        await self.outbox.call(self.outbox.outbox.retry_failed, entry_id)
        self._changed()

    def _after(self, entry: OutboxEntry) -> OutboxEntry:
        self._changed()
        return entry

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
        if self.sender is not None:
            self.sender.wake()

    # --- read-your-writes ------------------------------------------------------------------------------

    def on_results(self, results: list[SendResult]) -> None:
        for result in results:
            if result.outcome is SendOutcome.APPLIED and result.entity is not None and result.applied_version:
                self.catch_up.applied(result.entity, result.applied_version)

    async def refresh_rows(
        self, entity_type: EntityType, ids: Iterable[str | int]
    ) -> dict[str, tuple[Row | None, RowFreshness]]:
        """Replica rows with their freshness: "waiting for replica" until the applied version shows."""
        id_list = [str(i) for i in ids]
        found = await self.lookups.rows_by_id(entity_type, id_list)
        result: dict[str, tuple[Row | None, RowFreshness]] = {}
        for entity_id in id_list:
            row = found.value.get(entity_id)
            version = None if row is None else int(row["version"])
            result[entity_id] = (row, self.catch_up.observe(EntityRef(entity_type, entity_id), version))
        return result

    async def wait_for_replica(
        self, entity: EntityRef, *, timeout_s: float = 10.0, poll_s: float = 0.1
    ) -> bool:
        """Poll the replica until it shows the applied write (True) or the timeout passes (False)."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = await self.refresh_rows(entity.type, [entity.id])
            if rows[entity.id][1] is RowFreshness.CURRENT:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(poll_s)

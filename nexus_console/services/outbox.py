"""The durable outbox of admin actions: one SQLite file (WAL, synchronous=FULL), safe across crashes.

Every state change is one committed transaction before anyone acts on it. An entry found in `sending`
at open time (the process died mid-send) goes back to `queued` and is sent again under the same
idempotency key, so the server applies it at most once; because it is never dropped, at least once.

`Outbox` (outbox_db.py) is synchronous and thread-safe; `AsyncOutbox` runs it on its own one-thread
executor (a SqliteStore) so the event loop never touches the disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from nexus_console.domain.admin import ActionRequest
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState, SendResult
from nexus_console.services.outbox_db import CONNECT_ARGS, PRAGMAS, SCHEMA, Outbox, new_idempotency_key
from nexus_console.services.sqlite_store import SqliteStore

__all__ = ["SCHEMA", "AsyncOutbox", "Outbox", "new_idempotency_key"]

T = TypeVar("T")


class AsyncOutbox:
    """The outbox for asyncio code: every call runs on one owned worker thread, with a timeout."""

    def __init__(self, outbox: Outbox, store: SqliteStore) -> None:
        """Use `open`: `outbox` must run on `store`'s connection."""
        self.outbox = outbox
        self._store = store

    @classmethod
    async def open(cls, path: Path | str, *, timeout_s: float = 30.0) -> AsyncOutbox:
        store = SqliteStore(
            path, pragmas=PRAGMAS, timeout_s=timeout_s, thread_name="outbox-db", **CONNECT_ARGS
        )
        try:
            outbox = await store.call(_open_outbox, Path(path))
        except BaseException:
            await store.aclose()
            raise
        return cls(outbox, store)

    @property
    def timeout_s(self) -> float:
        return self._store.timeout_s

    async def call(self, method: Callable[..., T], *args: Any) -> T:
        """`method(*args)` (an Outbox method) on the outbox's thread."""
        return await self._store.call(lambda _connection: method(*args))

    async def enqueue(self, request: ActionRequest) -> OutboxEntry:
        return await self.call(self.outbox.enqueue, request)

    async def enqueue_many(self, requests: list[ActionRequest]) -> list[OutboxEntry]:
        return await self.call(self.outbox.enqueue_many, requests)

    async def edit_reason(self, entry_id: int, reason: str | None) -> OutboxEntry:
        return await self.call(self.outbox.edit_reason, entry_id, reason)

    async def cancel(self, entry_id: int) -> OutboxEntry:
        return await self.call(self.outbox.cancel, entry_id)

    async def discard(self, entry_id: int) -> OutboxEntry:
        return await self.call(self.outbox.discard, entry_id)

    async def apply_again(self, entry_id: int, version: int | None = None) -> OutboxEntry:
        return await self.call(self.outbox.apply_again, entry_id, version)

    async def claim_ready(self, limit: int) -> list[OutboxEntry]:
        return await self.call(self.outbox.claim_ready, limit)

    async def record_results(self, results: list[SendResult], retry_at: float | None = None) -> None:
        await self.call(self.outbox.record_results, results, retry_at)

    async def record_and_claim(
        self, results: list[SendResult], retry_at: float | None, limit: int
    ) -> list[OutboxEntry]:
        return await self.call(self.outbox.record_and_claim, results, retry_at, limit)

    async def entries(self, states: Iterable[OutboxState] | None = None, **kwargs: Any) -> list[OutboxEntry]:
        return await self.call(lambda: self.outbox.entries(states, **kwargs))

    async def get(self, entry_id: int) -> OutboxEntry:
        return await self.call(self.outbox.get, entry_id)

    async def latest_for(self, entity_type: str, entity_ids: Iterable[str]) -> dict[str, OutboxEntry]:
        return await self.call(self.outbox.latest_for, entity_type, list(entity_ids))

    async def counts(self) -> Mapping[OutboxState, int]:
        return await self.call(self.outbox.counts)

    async def open_count(self) -> int:
        return await self.call(self.outbox.open_count)

    async def next_due_at(self) -> float | None:
        return await self.call(self.outbox.next_due_at)

    async def aclose(self) -> None:
        await self._store.aclose()


def _open_outbox(connection: sqlite3.Connection, path: Path) -> Outbox:
    return Outbox(path, connection=connection)

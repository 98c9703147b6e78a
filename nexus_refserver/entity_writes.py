"""Versioned, audited admin changes: exactly once per Idempotency-Key, and never without an audit row.

The entity lives in a platform database (users, marketplace) and its audit row in nexus, so no single
transaction holds both. A change is planned from the row it was read from, then written in three short
transactions:

1. nexus: reserve the Idempotency-Key and store the planned change (the intent: before, after, the
   version step v -> v+1);
2. platform: compare-and-set the entity from version v to v+1 (the planned change, nothing else);
3. nexus: write the audit row, store the response under the key, drop the intent.

A crash between 2 and 3 leaves an intent whose version step landed; `reconcile()` at the next start writes
its audit row and stores its response, so the trail is complete and the client's retry replays a 200.
An intent whose step did not land is dropped with its key, so the retry runs afresh.

Every change runs on one writer thread. SQLite admits one writer at a time anyway, and concurrent writers
would only sleep in its busy handler and fight over the GIL; one thread in a loop does more per second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, delete, insert, select, update

from nexus_refserver.api.http import check_if_match
from nexus_refserver.audit import AuditLog
from nexus_refserver.databases import as_utc, rfc3339
from nexus_refserver.idempotency import RUNNING, WAIT_FOR_FIRST_REQUEST_S, IdempotencyStore, StoredResponse
from nexus_refserver.problems import ProblemError
from nexus_refserver.schema import audit_log, idempotency_keys, write_intents

log = logging.getLogger(__name__)

# decides the column changes from the current row; raises ProblemError (409) when the action does not apply
Planner = Callable[[Any], dict[str, Any]]
# more statements on the entity's database, run in step 2's transaction once the entity's change landed
FollowUp = Callable[[Any], None]


@dataclass(frozen=True)
class ChangeRequest:
    actor: str
    idempotency_key: str
    fingerprint: str
    entity_type: str
    entity_id: int
    action: str  # the audit action, e.g. "user.suspend"
    reason: str | None
    if_match: str | None


@dataclass(frozen=True)
class WriteOutcome:
    response: StoredResponse
    replayed: bool


@dataclass(frozen=True)
class EntityTable:
    engine: Engine
    table: Table


class _TryAgain:
    """The key was released between two looks at it: plan the change again."""


_TRY_AGAIN = _TryAgain()


def entity_json(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: (rfc3339(value) if isinstance(value, datetime) else value) for key, value in mapping.items()}


def version_etag(version: int) -> str:
    return f'"v{version}"'


def _json_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _stored_response(after: dict[str, Any]) -> StoredResponse:
    return StoredResponse(
        200,
        _json_bytes(after),
        {"etag": version_etag(int(after["version"])), "content-type": "application/json"},
    )


@dataclass(eq=False)
class _Pending:
    """One change waiting for the writer thread, and what became of it."""

    change: ChangeRequest
    planner: Planner
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    follow_up: FollowUp | None = None
    result: Any = None  # WriteOutcome, RUNNING, _TRY_AGAIN, or an exception to raise
    row: Any = None
    changes: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


class EntityWriter:
    def __init__(
        self,
        nexus: Engine,
        entities: dict[str, EntityTable],
        idempotency: IdempotencyStore,
        audit: AuditLog,
        *,
        crash_after_entity_write: bool = False,
    ) -> None:
        self._nexus = nexus
        self._entities = entities
        self._idempotency = idempotency
        self._audit = audit
        # test-only fault: SIGKILL this process right after step 2 of the first change
        self._crash_after_entity_write = crash_after_entity_write
        self._insert_key = _insert_key_ignoring_conflicts(nexus)
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="entity-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    async def apply(
        self, change: ChangeRequest, planner: Planner, follow_up: FollowUp | None = None
    ) -> WriteOutcome:
        """Apply the change once, or replay what its key already answered; ProblemError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + WAIT_FOR_FIRST_REQUEST_S
        while True:
            pending = _Pending(change, planner, loop, loop.create_future(), follow_up)
            self._queue.put(pending)
            outcome = await pending.future
            if isinstance(outcome, WriteOutcome):
                return outcome
            # another request holds the key (or just released it): wait off the writer thread
            if time.monotonic() > deadline:
                raise ProblemError(409, "a request with this Idempotency-Key is still running")
            await asyncio.sleep(0.02 if outcome is RUNNING else 0)

    # --- the writer thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        carried: list[_Pending] = []
        while True:
            batch = carried or [self._queue.get()]
            carried = []
            if batch[0] is None:
                return
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            # one change per entity and batch: a second one must see the first one's outcome
            now: list[_Pending] = []
            seen: set[tuple[str, int]] = set()
            for item in batch:
                target = (item.change.entity_type, item.change.entity_id)
                (carried if target in seen else now).append(item)
                seen.add(target)
            try:
                self._process(now)
            except BaseException as exc:  # a bug must fail the requests, not the writer
                log.exception("admin write batch failed")
                for item in now:
                    if item.result is None:
                        item.result = exc
            _deliver(now)
            if stopping:
                _fail_all(carried, ProblemError(503, "the server is stopping"))
                return

    def _process(self, batch: list[_Pending]) -> None:
        planned = self._plan(batch)
        reserved = self._reserve(planned)
        applied = self._write_entities(reserved)
        if applied and self._crash_after_entity_write:
            os.kill(os.getpid(), signal.SIGKILL)
        self._finish(reserved, applied)

    def _plan(self, batch: list[_Pending]) -> list[_Pending]:
        rows: dict[tuple[str, int], Any] = {}
        wanted: dict[str, list[int]] = {}
        for item in batch:
            wanted.setdefault(item.change.entity_type, []).append(item.change.entity_id)
        for entity_type, ids in wanted.items():
            target = self._entities[entity_type]
            table = target.table
            with target.engine.connect() as conn:
                for row in conn.execute(select(table).where(table.c.id.in_(ids))):
                    rows[(entity_type, row.id)] = row
        planned = []
        for item in batch:
            change = item.change
            row = rows.get((change.entity_type, change.entity_id))
            try:
                if row is None:
                    raise ProblemError(404, f"no {change.entity_type} {change.entity_id}")
                check_if_match(change.if_match, row.version)
                item.changes = item.planner(row)
            except ProblemError as exc:
                # a repeat of a finished request is judged by its key, not by the entity as it is now
                item.result = self._key_state(change, otherwise=exc)
                continue
            current = dict(row._mapping)
            item.row = row
            item.before = entity_json(current)
            item.after = entity_json({**current, **item.changes, "version": row.version + 1})
            planned.append(item)
        return planned

    def _key_state(self, change: ChangeRequest, otherwise: Any) -> Any:
        try:
            found = self._idempotency.find(change.actor, change.idempotency_key, change.fingerprint)
        except ProblemError as exc:
            return exc
        if isinstance(found, StoredResponse):
            return WriteOutcome(found, replayed=True)
        return otherwise if found is None else found

    def _reserve(self, planned: list[_Pending]) -> list[_Pending]:
        """Step 1: the keys and the intents, one transaction for the batch."""
        if not planned:
            return []
        reserved, taken = [], []
        now = datetime.now(UTC)
        with self._nexus.begin() as conn:
            for item in planned:
                change = item.change
                result = conn.execute(
                    self._insert_key,
                    {
                        "actor": change.actor,
                        "key": change.idempotency_key,
                        "request_hash": change.fingerprint,
                        "created_at": now,
                    },
                )
                (reserved if result.first() is not None else taken).append(item)
            if reserved:
                conn.execute(insert(write_intents), [_intent_values(item, now) for item in reserved])
        for item in taken:
            item.result = self._key_state(item.change, otherwise=_TRY_AGAIN)
        return reserved

    def _write_entities(self, reserved: list[_Pending]) -> list[_Pending]:
        """Step 2: compare-and-set each entity from its planned version, one transaction per database."""
        applied = []
        by_engine: dict[Engine, list[_Pending]] = {}
        for item in reserved:
            by_engine.setdefault(self._entities[item.change.entity_type].engine, []).append(item)
        for engine, items in by_engine.items():
            landed = []
            try:
                with engine.begin() as conn:
                    for item in items:
                        table = self._entities[item.change.entity_type].table
                        result = conn.execute(
                            update(table)
                            .where(and_(table.c.id == item.row.id, table.c.version == item.row.version))
                            .values(**item.changes, version=item.row.version + 1)
                        )
                        if result.rowcount == 1:
                            if item.follow_up is not None:
                                item.follow_up(conn)
                            landed.append(item)
                        else:
                            item.result = ProblemError(
                                412,
                                f"{item.change.entity_type} {item.change.entity_id} changed meanwhile; "
                                "reload it and retry",
                            )
            except Exception as exc:  # rolled back: none of this database's changes landed
                log.exception("admin entity write failed")
                for item in items:
                    item.result = exc
                continue
            applied += landed
        return applied

    def _finish(self, reserved: list[_Pending], applied: list[_Pending]) -> None:
        """Step 3: audit rows and stored responses for what landed; release the keys of the rest."""
        if not reserved:
            return
        landed = {id(item) for item in applied}
        released = [item for item in reserved if id(item) not in landed]
        responses = {id(item): _stored_response(item.after) for item in applied}
        try:
            with self._nexus.begin() as conn:
                if applied:
                    conn.execute(insert(audit_log), [_audit_values(item) for item in applied])
                    conn.execute(
                        _STORE_RESPONSE,
                        [
                            {
                                "k_actor": item.change.actor,
                                "k_key": item.change.idempotency_key,
                                "k_status": responses[id(item)].status_code,
                                "k_body": responses[id(item)].body.decode(),
                                "k_headers": json.dumps(responses[id(item)].headers),
                            }
                            for item in applied
                        ],
                    )
                keys = [{"k_actor": i.change.actor, "k_key": i.change.idempotency_key} for i in reserved]
                conn.execute(_DELETE_INTENT, keys)
                if released:
                    conn.execute(
                        _RELEASE_KEY, [k for k, i in zip(keys, reserved, strict=True) if i in released]
                    )
        except Exception as exc:
            # the changes that landed keep their intents: the next start writes their audit rows
            log.exception("completing admin writes failed")
            for item in applied:
                item.result = exc
            return
        for item in applied:
            item.result = WriteOutcome(responses[id(item)], replayed=False)

    # --- recovery -------------------------------------------------------------------------------------

    def reconcile(self) -> int:
        """At start-up, before serving: finish every intent whose entity change landed (audit row and
        stored response), drop the others with their keys. Returns how many audit rows it wrote."""
        with self._nexus.connect() as conn:
            intents = conn.execute(select(write_intents).order_by(write_intents.c.id)).all()
        written = 0
        claimed: set[tuple[str, str, int]] = set()
        for intent in intents:
            step = (intent.entity_type, intent.entity_id, intent.to_version)
            landed = step not in claimed and self._landed(intent)
            with self._nexus.begin() as conn:
                if landed:
                    claimed.add(step)
                    after = json.loads(intent.after)
                    self._audit.record(
                        conn=conn,
                        at=as_utc(intent.created_at),
                        actor=intent.actor,
                        action=intent.action,
                        entity_type=intent.entity_type,
                        entity_id=intent.entity_id,
                        before=json.loads(intent.before),
                        after=after,
                        reason=intent.reason,
                        idempotency_key=intent.idempotency_key,
                    )
                    self._idempotency.store_response(
                        conn, intent.actor, intent.idempotency_key, _stored_response(after)
                    )
                    written += 1
                else:
                    conn.execute(_key_of(intent.actor, intent.idempotency_key))
                conn.execute(delete(write_intents).where(write_intents.c.id == intent.id))
        if intents:
            log.warning(
                "reconciled %d unfinished admin changes: %d had landed and got their audit rows",
                len(intents),
                written,
            )
        return written

    def _landed(self, intent: Any) -> bool:
        """Did this intent's version step happen? The entity must have reached its version, no audit row
        may already claim that version, and if the entity is still at it, the planned changes must show."""
        target = self._entities.get(intent.entity_type)
        if target is None:
            return False
        table = target.table
        with target.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == int(intent.entity_id))).first()
        if row is None or row.version < intent.to_version:
            return False
        with self._nexus.connect() as conn:
            audited = conn.execute(
                select(audit_log.c.after).where(
                    and_(
                        audit_log.c.entity_type == intent.entity_type,
                        audit_log.c.entity_id == intent.entity_id,
                    )
                )
            ).scalars()
            if any(text and json.loads(text).get("version") == intent.to_version for text in audited):
                return False
        if row.version > intent.to_version:
            return True
        before, after = json.loads(intent.before), json.loads(intent.after)
        now = entity_json(dict(row._mapping))
        changed = [column for column in after if before.get(column) != after[column]]
        return all(now.get(column) == after[column] for column in changed)


def _key_of(actor: str, key: str):  # type: ignore[no-untyped-def]
    return delete(idempotency_keys).where(
        and_(
            idempotency_keys.c.actor == actor,
            idempotency_keys.c.key == key,
            idempotency_keys.c.status_code.is_(None),
        )
    )


# changes per writer-thread batch: enough to share the commits, few enough to answer quickly
MAX_BATCH = 64

_STORE_RESPONSE = (
    update(idempotency_keys)
    .where(
        and_(idempotency_keys.c.actor == bindparam("k_actor"), idempotency_keys.c.key == bindparam("k_key"))
    )
    .values(
        status_code=bindparam("k_status"),
        response_body=bindparam("k_body"),
        response_headers=bindparam("k_headers"),
    )
)
_DELETE_INTENT = delete(write_intents).where(
    and_(
        write_intents.c.actor == bindparam("k_actor"),
        write_intents.c.idempotency_key == bindparam("k_key"),
    )
)
_RELEASE_KEY = delete(idempotency_keys).where(
    and_(
        idempotency_keys.c.actor == bindparam("k_actor"),
        idempotency_keys.c.key == bindparam("k_key"),
        idempotency_keys.c.status_code.is_(None),
    )
)


def _insert_key_ignoring_conflicts(engine: Engine) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: a taken key returns no row instead of aborting the
    transaction (rowcount is not reliable for this statement on every driver)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise NotImplementedError(f"no conflict-ignoring insert for {engine.dialect.name}")
    return (
        dialect_insert(idempotency_keys)
        .on_conflict_do_nothing(index_elements=["actor", "key"])
        .returning(idempotency_keys.c.id)
    )


def _intent_values(item: _Pending, now: datetime) -> dict[str, Any]:
    change = item.change
    return {
        "actor": change.actor,
        "idempotency_key": change.idempotency_key,
        "created_at": now,
        "action": change.action,
        "entity_type": change.entity_type,
        "entity_id": str(change.entity_id),
        "from_version": item.before["version"],
        "to_version": item.after["version"],
        "before": json.dumps(item.before),
        "after": json.dumps(item.after),
        "reason": change.reason,
    }


def _audit_values(item: _Pending) -> dict[str, Any]:
    change = item.change
    return AuditLog.row_values(
        actor=change.actor,
        action=change.action,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        before=item.before,
        after=item.after,
        reason=change.reason,
        idempotency_key=change.idempotency_key,
    )


def _deliver(items: list[_Pending]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for item in items:
        by_loop.setdefault(item.loop, []).append(item)
    for loop, mine in by_loop.items():
        loop.call_soon_threadsafe(_resolve, mine)


def _resolve(items: list[_Pending]) -> None:
    for item in items:
        if item.future.done():  # the client went away
            continue
        if isinstance(item.result, BaseException):
            item.future.set_exception(item.result)
        else:
            item.future.set_result(item.result)


def _fail_all(items: list[_Pending], error: Exception) -> None:
    for item in items:
        item.result = error
    _deliver(items)

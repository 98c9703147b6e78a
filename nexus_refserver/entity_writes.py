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
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from nexus_refserver.api.http import check_if_match
from nexus_refserver.audit import AuditLog
from nexus_refserver.databases import as_utc, rfc3339
from nexus_refserver.idempotency import RUNNING, WAIT_FOR_FIRST_REQUEST_S, IdempotencyStore, StoredResponse
from nexus_refserver.problems import ProblemError
from nexus_refserver.schema import audit_log, idempotency_keys, write_intents

log = logging.getLogger(__name__)

# decides the column changes from the current row; raises ProblemError (409) when the action does not apply
Planner = Callable[[Any], dict[str, Any]]


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
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="entity-writer")

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    async def apply(self, change: ChangeRequest, planner: Planner) -> WriteOutcome:
        """Apply the change once, or replay what its key already answered; ProblemError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + WAIT_FOR_FIRST_REQUEST_S
        while True:
            outcome = await loop.run_in_executor(self._executor, self._attempt, change, planner)
            if isinstance(outcome, WriteOutcome):
                return outcome
            # another request holds the key (or just released it): wait off the writer thread
            if time.monotonic() > deadline:
                raise ProblemError(409, "a request with this Idempotency-Key is still running")
            await asyncio.sleep(0.02 if outcome is RUNNING else 0)

    def _key_state(self, change: ChangeRequest) -> WriteOutcome | object | None:
        found = self._idempotency.find(change.actor, change.idempotency_key, change.fingerprint)
        if isinstance(found, StoredResponse):
            return WriteOutcome(found, replayed=True)
        return found

    def _attempt(self, change: ChangeRequest, planner: Planner) -> WriteOutcome | object:
        target = self._entities[change.entity_type]
        table = target.table
        with target.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == change.entity_id)).first()
        try:
            if row is None:
                raise ProblemError(404, f"no {change.entity_type} {change.entity_id}")
            check_if_match(change.if_match, row.version)
            changes = planner(row)
        except ProblemError:
            # a repeat of a finished request is judged by its key, not by the entity as it is now
            state = self._key_state(change)
            if state is None:
                raise
            return state

        current = dict(row._mapping)
        before = entity_json(current)
        after = entity_json({**current, **changes, "version": row.version + 1})
        if not self._reserve(change, before, after):
            state = self._key_state(change)
            return _TRY_AGAIN if state is None else state

        try:
            with target.engine.begin() as conn:
                result = conn.execute(
                    update(table)
                    .where(and_(table.c.id == change.entity_id, table.c.version == row.version))
                    .values(**changes, version=row.version + 1)
                )
            applied = result.rowcount == 1
        except BaseException:
            self._release(change)
            raise
        if not applied:
            self._release(change)
            raise ProblemError(
                412, f"{change.entity_type} {change.entity_id} changed meanwhile; reload it and retry"
            )
        if self._crash_after_entity_write:
            os.kill(os.getpid(), signal.SIGKILL)

        response = _stored_response(after)
        with self._nexus.begin() as conn:
            self._audit.record(
                conn=conn,
                actor=change.actor,
                action=change.action,
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                before=before,
                after=after,
                reason=change.reason,
                idempotency_key=change.idempotency_key,
            )
            self._idempotency.store_response(conn, change.actor, change.idempotency_key, response)
            conn.execute(_intent_of(change.actor, change.idempotency_key))
        return WriteOutcome(response, replayed=False)

    def _reserve(self, change: ChangeRequest, before: dict[str, Any], after: dict[str, Any]) -> bool:
        """Step 1: the key and the intent in one transaction. False when the key is taken."""
        try:
            with self._nexus.begin() as conn:
                self._idempotency.insert_reservation(
                    conn, change.actor, change.idempotency_key, change.fingerprint
                )
                conn.execute(
                    insert(write_intents).values(
                        actor=change.actor,
                        idempotency_key=change.idempotency_key,
                        created_at=datetime.now(UTC),
                        action=change.action,
                        entity_type=change.entity_type,
                        entity_id=str(change.entity_id),
                        from_version=before["version"],
                        to_version=after["version"],
                        before=json.dumps(before),
                        after=json.dumps(after),
                        reason=change.reason,
                    )
                )
            return True
        except IntegrityError:
            return False

    def _release(self, change: ChangeRequest) -> None:
        with self._nexus.begin() as conn:
            conn.execute(_intent_of(change.actor, change.idempotency_key))
            conn.execute(_key_of(change.actor, change.idempotency_key))

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


def _intent_of(actor: str, key: str):  # type: ignore[no-untyped-def]
    return delete(write_intents).where(
        and_(write_intents.c.actor == actor, write_intents.c.idempotency_key == key)
    )


def _key_of(actor: str, key: str):  # type: ignore[no-untyped-def]
    return delete(idempotency_keys).where(
        and_(
            idempotency_keys.c.actor == actor,
            idempotency_keys.c.key == key,
            idempotency_keys.c.status_code.is_(None),
        )
    )

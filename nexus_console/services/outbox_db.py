"""The outbox file itself, synchronous: the SQL of queueing, claiming, recording and reading actions.

One SQLite file (WAL, synchronous=FULL); every state change is one committed transaction (BEGIN IMMEDIATE)
before anyone acts on it. `Outbox` is thread-safe; asyncio code uses it through AsyncOutbox (outbox.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nexus_console.domain.admin import ActionRequest, validate_action
from nexus_console.domain.outbox_model import (
    BLOCKING_STATES,
    EDITABLE_STATES,
    TERMINAL_STATES,
    OutboxEntry,
    OutboxError,
    OutboxState,
    SendOutcome,
    SendResult,
)
from nexus_console.services.outbox_schema import (
    CONNECT_ARGS,
    IS_OPEN,
    PRAGMAS,
    SCHEMA,
    new_idempotency_key,
    row_to_entry,
)
from nexus_console.services.sqlite_store import connect

__all__ = ["CONNECT_ARGS", "PRAGMAS", "SCHEMA", "Outbox", "new_idempotency_key"]


class Outbox:
    """The queue file. All methods are synchronous; call them off the GUI thread (see AsyncOutbox)."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        connection: sqlite3.Connection | None = None,
    ) -> None:
        """Open the file at `path`, or use `connection`: one already open on it with PRAGMAS and
        CONNECT_ARGS (AsyncOutbox's, which lives on its worker thread)."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = (
            connection if connection is not None else connect(self.path, pragmas=PRAGMAS, **CONNECT_ARGS)
        )
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)  # idempotent DDL
        self.recovered = self.recover()

    # --- plumbing ---------------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def pragma(self, name: str) -> Any:
        """The connection's current setting of one PRAGMA (journal_mode, synchronous, ...)."""
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"not a pragma name: {name!r}")
        with self._lock:
            return self._db.execute(f"PRAGMA {name}").fetchone()[0]

    def trace(self, callback: Callable[[str], object] | None) -> None:
        """Pass every SQL statement the outbox runs, with its values, to `callback` (None: stop)."""
        with self._lock:
            self._db.set_trace_callback(callback)

    def _get(self, db: sqlite3.Connection, entry_id: int) -> OutboxEntry:
        row = db.execute("SELECT * FROM actions WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise OutboxError(f"no outbox entry {entry_id}")
        return row_to_entry(row)

    @staticmethod
    def _hand_version_on(db: sqlite3.Connection, entry: OutboxEntry, version: int | None) -> None:
        """The next open entry of the same entity that waits for its predecessor's version gets it."""
        db.execute(
            f"""UPDATE actions SET expected_version = ? WHERE id = (
                    SELECT id FROM actions WHERE entity_type = ? AND entity_id = ? AND id > ?
                    AND {IS_OPEN} ORDER BY id LIMIT 1)
                AND expected_version IS NULL""",
            (version, entry.entity.type.value, entry.entity.id, entry.id),
        )

    # --- queueing and editing (works offline) -----------------------------------------------------------

    def enqueue(self, request: ActionRequest) -> OutboxEntry:
        return self.enqueue_many([request])[0]

    def enqueue_many(self, requests: Iterable[ActionRequest]) -> list[OutboxEntry]:
        """Validate and queue actions in one transaction: all of them or none."""
        validated = [validate_action(r) for r in requests]
        now = self._clock()
        ids = []
        with self._tx() as db:
            for request in validated:
                expected = request.expected_version
                if expected is None and not request.spec.sends_current_version:
                    # Nothing queued before it on this entity: the caller must say which version it saw.
                    has_predecessor = db.execute(
                        f"""SELECT 1 FROM actions WHERE entity_type = ? AND entity_id = ?
                            AND {IS_OPEN} LIMIT 1""",
                        (request.entity.type.value, request.entity.id),
                    ).fetchone()
                    if has_predecessor is None:
                        raise OutboxError(f"{request.entity}: the version the admin saw is required")
                cursor = db.execute(
                    """INSERT INTO actions (entity_type, entity_id, action, reason, params, idempotency_key,
                           expected_version, state, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        request.entity.type.value,
                        request.entity.id,
                        request.action,
                        request.reason,
                        json.dumps(dict(request.params), sort_keys=True),
                        new_idempotency_key(),
                        expected,
                        OutboxState.QUEUED.value,
                        now,
                        now,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
            return [self._get(db, i) for i in ids]

    def edit_reason(self, entry_id: int, reason: str | None) -> OutboxEntry:
        with self._tx() as db:
            entry = self._get(db, entry_id)
            if not entry.is_editable:
                raise OutboxError(
                    f"entry {entry_id} is {entry.state.value} and was sent; its reason is fixed"
                )
            request = validate_action(
                ActionRequest(entry.entity, entry.action, reason, entry.params, entry.expected_version)
            )
            db.execute(
                "UPDATE actions SET reason = ?, updated_at = ? WHERE id = ?",
                (request.reason, self._clock(), entry_id),
            )
            return self._get(db, entry_id)

    def cancel(self, entry_id: int) -> OutboxEntry:
        """Cancel an action that has not been sent yet."""
        with self._tx() as db:
            entry = self._get(db, entry_id)
            if entry.state not in EDITABLE_STATES or entry.ever_sent:
                raise OutboxError(
                    f"entry {entry_id} is {entry.state.value}; only unsent actions can be cancelled"
                )
            self._close_entry(db, entry, "cancelled before sending")
            return self._get(db, entry_id)

    def discard(self, entry_id: int) -> OutboxEntry:
        """Give up an action after a conflict or a failure; the entity's later actions go ahead."""
        with self._tx() as db:
            entry = self._get(db, entry_id)
            if entry.state not in (OutboxState.CONFLICT, OutboxState.FAILED):
                raise OutboxError(
                    f"entry {entry_id} is {entry.state.value}; only conflicts and failures are discarded"
                )
            self._close_entry(db, entry, f"discarded after {entry.state.value}")
            return self._get(db, entry_id)

    def _close_entry(self, db: sqlite3.Connection, entry: OutboxEntry, note: str) -> None:
        db.execute(
            "UPDATE actions SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
            (OutboxState.CANCELLED.value, note, self._clock(), entry.id),
        )
        self._hand_version_on(db, entry, entry.expected_version)

    def apply_again(self, entry_id: int, version: int | None = None) -> OutboxEntry:
        """After a conflict: queue the same action on the server's current version, under a new key.

        The old key's request had no effect (the server refused it), so a new key is a new request.
        """
        with self._tx() as db:
            entry = self._get(db, entry_id)
            if entry.state is not OutboxState.CONFLICT:
                raise OutboxError(f"entry {entry_id} is {entry.state.value}, not in conflict")
            if version is None:
                version = None if entry.server_state is None else entry.server_state.get("version")
            if not isinstance(version, int):
                raise OutboxError(f"entry {entry_id}: the server's current version is unknown")
            db.execute(
                """UPDATE actions SET state = ?, expected_version = ?, idempotency_key = ?, ever_sent = 0,
                       attempts = 0, next_attempt_at = NULL, last_error = NULL, http_status = NULL,
                       updated_at = ? WHERE id = ?""",
                (OutboxState.QUEUED.value, version, new_idempotency_key(), self._clock(), entry_id),
            )
            return self._get(db, entry_id)

    def retry_failed(self, entry_id: int) -> OutboxEntry:
        """Send a failed action again, under the same key (for a failure the admin has fixed elsewhere)."""
        with self._tx() as db:
            entry = self._get(db, entry_id)
            if entry.state is not OutboxState.FAILED:
                raise OutboxError(f"entry {entry_id} is {entry.state.value}, not failed")
            db.execute(
                "UPDATE actions SET state = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
                (OutboxState.QUEUED.value, self._clock(), entry_id),
            )
            return self._get(db, entry_id)

    # --- the sender's side --------------------------------------------------------------------------------

    def recover(self) -> int:
        """Entries left in `sending` by a crash go back to `queued` (same key: the server deduplicates)."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE actions SET state = ?, updated_at = ? WHERE state = ?",
                (OutboxState.QUEUED.value, self._clock(), OutboxState.SENDING.value),
            )
            return cursor.rowcount

    def claim_ready(self, limit: int) -> list[OutboxEntry]:
        """Mark and return up to `limit` entries to send now: the first open entry of each entity, when
        it is queued and due. An entity whose first open entry is in conflict, failed or sending waits;
        every other entity goes ahead."""
        now = self._clock()
        with self._tx() as db:
            return self._claim(db, limit, now)

    def record_and_claim(
        self, results: Iterable[SendResult], retry_at: float | None, limit: int
    ) -> list[OutboxEntry]:
        """`record_results` then `claim_ready`, in one transaction: one commit (one fsync) where the
        sender would otherwise need two. An entity's next entry is claimable once its head is applied."""
        now = self._clock()
        with self._tx() as db:
            self._record(db, results, retry_at, now)
            return self._claim(db, limit, now) if limit > 0 else []

    def _claim(self, db: sqlite3.Connection, limit: int, now: float) -> list[OutboxEntry]:
        # queued entries in id order, each kept when no earlier open entry of its entity exists:
        # index lookups proportional to `limit`, not a pass over every open entry
        rows = db.execute(
            f"""SELECT a.* FROM actions AS a
                WHERE a.state = ? AND (a.next_attempt_at IS NULL OR a.next_attempt_at <= ?)
                AND NOT EXISTS (SELECT 1 FROM actions WHERE entity_type = a.entity_type
                    AND entity_id = a.entity_id AND id < a.id AND {IS_OPEN})
                ORDER BY a.id LIMIT ?""",
            (OutboxState.QUEUED.value, now, limit),
        ).fetchall()
        ids = [row["id"] for row in rows]
        db.executemany(
            """UPDATE actions SET state = ?, ever_sent = 1, attempts = attempts + 1, updated_at = ?
               WHERE id = ?""",
            [(OutboxState.SENDING.value, now, i) for i in ids],
        )
        return [self._get(db, i) for i in ids]

    def record_results(self, results: Iterable[SendResult], retry_at: float | None = None) -> None:
        """Store what the server answered, in one transaction. RETRY and UNAUTHORIZED go back to queued
        (due at `retry_at`, default now)."""
        now = self._clock()
        with self._tx() as db:
            self._record(db, results, retry_at, now)

    def _record(
        self, db: sqlite3.Connection, results: Iterable[SendResult], retry_at: float | None, now: float
    ) -> None:
        for result in results:
            entry = self._get(db, result.entry_id)
            server_state = None if result.server_state is None else json.dumps(result.server_state)
            if result.outcome is SendOutcome.APPLIED:
                db.execute(
                    """UPDATE actions SET state = ?, http_status = ?, applied_version = ?,
                           server_state = ?, last_error = NULL, updated_at = ? WHERE id = ?""",
                    (
                        OutboxState.APPLIED.value,
                        result.http_status,
                        result.applied_version,
                        server_state,
                        now,
                        entry.id,
                    ),
                )
                self._hand_version_on(db, entry, result.applied_version)
            elif result.outcome in (SendOutcome.CONFLICT, SendOutcome.FAILED):
                state = OutboxState.CONFLICT if result.outcome is SendOutcome.CONFLICT else OutboxState.FAILED
                db.execute(
                    """UPDATE actions SET state = ?, http_status = ?, last_error = ?, server_state = ?,
                           updated_at = ? WHERE id = ?""",
                    (state.value, result.http_status, result.error, server_state, now, entry.id),
                )
            else:
                db.execute(
                    """UPDATE actions SET state = ?, http_status = ?, last_error = ?, next_attempt_at = ?,
                           updated_at = ? WHERE id = ?""",
                    (OutboxState.QUEUED.value, result.http_status, result.error, retry_at, now, entry.id),
                )

    # --- reading -----------------------------------------------------------------------------------------

    def get(self, entry_id: int) -> OutboxEntry:
        with self._lock:
            return self._get(self._db, entry_id)

    def entries(
        self, states: Iterable[OutboxState] | None = None, *, after_id: int = 0, limit: int = 500
    ) -> list[OutboxEntry]:
        """Entries in queue order (keyset by id), optionally only in the given states."""
        sql, args = "SELECT * FROM actions WHERE id > ?", [after_id]
        if states is not None:
            wanted = [OutboxState(s).value for s in states]
            sql += f" AND state IN ({', '.join('?' for _ in wanted)})"
            args += wanted
        rows = self._read(sql + " ORDER BY id LIMIT ?", [*args, limit])
        return [row_to_entry(row) for row in rows]

    def entries_for(self, entity_type: str, entity_id: str) -> list[OutboxEntry]:
        rows = self._read(
            "SELECT * FROM actions WHERE entity_type = ? AND entity_id = ? ORDER BY id",
            [entity_type, entity_id],
        )
        return [row_to_entry(row) for row in rows]

    def latest_for(self, entity_type: str, entity_ids: Iterable[str]) -> dict[str, OutboxEntry]:
        """Per entity, its open head entry if any, else its newest entry: what a row's badge shows."""
        wanted = [str(i) for i in entity_ids]
        found: dict[str, OutboxEntry] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._read(
                f"""SELECT * FROM actions WHERE entity_type = ? AND entity_id IN ({marks})
                    AND state != 'cancelled' ORDER BY id""",
                [entity_type, *chunk],
            )
            for row in rows:
                entry = row_to_entry(row)
                current = found.get(entry.entity.id)
                if current is None or current.state in TERMINAL_STATES:
                    found[entry.entity.id] = entry
        return found

    def counts(self) -> dict[OutboxState, int]:
        rows = self._read("SELECT state, COUNT(*) AS n FROM actions GROUP BY state")
        counts = dict.fromkeys(OutboxState, 0)
        counts.update({OutboxState(row["state"]): row["n"] for row in rows})
        return counts

    def open_count(self) -> int:
        return int(self._read(f"SELECT COUNT(*) FROM actions WHERE {IS_OPEN}")[0][0])

    def next_due_at(self) -> float | None:
        """When the earliest queued head becomes due (None: nothing is waiting for a retry time)."""
        rows = self._read(
            f"""SELECT MIN(COALESCE(a.next_attempt_at, 0)) FROM actions AS a JOIN (
                    SELECT MIN(id) AS id FROM actions WHERE {IS_OPEN}
                    GROUP BY entity_type, entity_id) AS head ON a.id = head.id
                WHERE a.state = ?""",
            [OutboxState.QUEUED.value],
        )
        return rows[0][0]

    def blocked_entities(self) -> list[OutboxEntry]:
        """The head entries that hold back their entity: conflicts and failures waiting for the admin."""
        blocking = [s.value for s in BLOCKING_STATES if s is not OutboxState.SENDING]
        rows = self._read(
            f"""SELECT a.* FROM actions AS a JOIN (
                    SELECT MIN(id) AS id FROM actions WHERE {IS_OPEN}
                    GROUP BY entity_type, entity_id) AS head ON a.id = head.id
                WHERE a.state IN ({", ".join("?" for _ in blocking)}) ORDER BY a.id""",
            blocking,
        )
        return [row_to_entry(row) for row in rows]

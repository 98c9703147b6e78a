"""The outbox file's table, its durability settings, and the mapping of a row to an OutboxEntry."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from nexus_console.domain.outbox_model import TERMINAL_STATES, OutboxEntry, OutboxState, entity_ref

# Durable: a committed transaction is on disk (WAL plus a full fsync) before the call returns.
PRAGMAS = ("synchronous=FULL", "busy_timeout=10000")
# Autocommit (the outbox opens its own BEGIN IMMEDIATE transactions), usable from any thread under the lock.
CONNECT_ARGS: dict[str, Any] = {"isolation_level": None, "check_same_thread": False, "timeout": 10}

SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    params TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    expected_version INTEGER,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    ever_sent INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    next_attempt_at REAL,
    last_error TEXT,
    http_status INTEGER,
    applied_version INTEGER,
    server_state TEXT
);
CREATE INDEX IF NOT EXISTS ix_actions_open_entity ON actions (entity_type, entity_id, id)
    WHERE state NOT IN ('applied', 'cancelled');
CREATE INDEX IF NOT EXISTS ix_actions_state ON actions (state, id);
"""

# Written exactly as the partial index's WHERE clause: SQLite uses ix_actions_open_entity only for a
# query term it can match to it, and an equivalent `state IN (<open states>)` scans every queued row.
IS_OPEN = "state NOT IN ('applied', 'cancelled')"
assert {OutboxState.APPLIED, OutboxState.CANCELLED} == TERMINAL_STATES


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def row_to_entry(row: sqlite3.Row) -> OutboxEntry:
    """One `actions` row as the domain's OutboxEntry."""
    return OutboxEntry(
        id=row["id"],
        entity=entity_ref(row["entity_type"], row["entity_id"]),
        action=row["action"],
        reason=row["reason"],
        params=json.loads(row["params"]),
        idempotency_key=row["idempotency_key"],
        expected_version=row["expected_version"],
        state=OutboxState(row["state"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        http_status=row["http_status"],
        applied_version=row["applied_version"],
        server_state=None if row["server_state"] is None else json.loads(row["server_state"]),
        ever_sent=bool(row["ever_sent"]),
    )

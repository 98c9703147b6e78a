"""The audit trail: one row per admin, alert and incident action, with before/after snapshots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select

from nexus_refserver.databases import rfc3339
from nexus_refserver.schema import audit_log


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def row_values(
        *,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: str | int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        reason: str | None,
        idempotency_key: str | None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """One audit_log row, for callers that insert many in their own transaction."""
        return {
            "at": at or datetime.now(UTC),
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "before": None if before is None else json.dumps(before, default=str),
            "after": None if after is None else json.dumps(after, default=str),
            "reason": reason,
            "idempotency_key": idempotency_key,
        }

    def record(
        self,
        *,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: str | int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        reason: str | None,
        idempotency_key: str | None,
        conn: Connection | None = None,
        at: datetime | None = None,
    ) -> None:
        values = self.row_values(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            reason=reason,
            idempotency_key=idempotency_key,
            at=at,
        )
        if conn is not None:
            conn.execute(insert(audit_log).values(**values))
            return
        with self._engine.begin() as own:
            own.execute(insert(audit_log).values(**values))

    def list(self, filters: AuditFilter, after_id: int | None, limit: int) -> tuple[list[dict], int]:
        """Newest first; `after_id` continues below that id. Returns (entries, total matching)."""
        conditions = []
        c = audit_log.c
        for column, value in (
            (c.actor, filters.actor),
            (c.entity_type, filters.entity_type),
            (c.entity_id, filters.entity_id),
            (c.action, filters.action),
        ):
            if value is not None:
                conditions.append(column == value)
        if filters.since is not None:
            conditions.append(c.at >= filters.since)
        if filters.until is not None:
            conditions.append(c.at < filters.until)
        where = and_(True, *conditions)
        query = select(audit_log).where(where)
        if after_id is not None:
            query = query.where(c.id < after_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
            total = conn.execute(select(func.count()).select_from(audit_log).where(where)).scalar_one()
        return [self._entry(row) for row in rows], total

    @staticmethod
    def _entry(row) -> dict:  # type: ignore[no-untyped-def]
        return {
            "id": row.id,
            "at": rfc3339(row.at),
            "actor": row.actor,
            "action": row.action,
            "entity_type": row.entity_type,
            "entity_id": row.entity_id,
            "before": None if row.before is None else json.loads(row.before),
            "after": None if row.after is None else json.loads(row.after),
            "reason": row.reason,
            "idempotency_key": row.idempotency_key,
        }

"""Incidents and their timelines in the nexus database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from nexus_refserver.databases import rfc3339
from nexus_refserver.schema import incident_timeline, incidents

STATUS_ORDER = ("open", "investigating", "mitigated", "resolved")


class IncidentNotFoundError(Exception):
    pass


class IncidentConflictError(Exception):
    pass


class IncidentVersionError(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(f"incident is at version {version}")
        self.version = version


def incident_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "severity": row.severity,
        "status": row.status,
        "commander": row.commander,
        "summary": row.summary,
        "alert_ids": json.loads(row.alert_ids),
        "created_by": row.created_by,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "resolved_at": rfc3339(row.resolved_at),
        "version": row.version,
    }


def timeline_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": rfc3339(row.at),
        "kind": row.kind,
        "author": row.author,
        "text": row.text,
        "ref": row.ref,
    }


class IncidentStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, author: str, fields: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(incidents).values(
                    title=fields["title"],
                    severity=fields["severity"],
                    status="open",
                    commander=fields.get("commander"),
                    summary=fields.get("summary", ""),
                    alert_ids=json.dumps(fields.get("alert_ids", [])),
                    created_by=author,
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
            incident_id = result.inserted_primary_key[0]
            self._add_entry(conn, incident_id, now, "status", author, "opened", None)
            for alert_id in fields.get("alert_ids", []):
                self._add_entry(
                    conn, incident_id, now, "alert", author, f"linked alert {alert_id}", str(alert_id)
                )
            return incident_json(self._row(conn, incident_id))

    def get(self, incident_id: int) -> dict[str, Any]:
        with self._engine.connect() as conn:
            return incident_json(self._row(conn, incident_id))

    def list(self, status: str | None, before_id: int | None, limit: int) -> tuple[list[dict[str, Any]], int]:
        where = and_(True, *([incidents.c.status == status] if status else []))
        query = select(incidents).where(where)
        if before_id is not None:
            query = query.where(incidents.c.id < before_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(incidents.c.id.desc()).limit(limit)).all()
            total = conn.execute(select(func.count()).select_from(incidents).where(where)).scalar_one()
        return [incident_json(row) for row in rows], total

    def update(
        self,
        incident_id: int,
        author: str,
        changes: dict[str, Any],
        check_version: Callable[[int], None],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply changes once `check_version(current_version)` returns (it raises to refuse).

        Returns (before, after)."""
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            row = self._row(conn, incident_id)
            check_version(row.version)
            new_status = changes.get("status")
            if new_status and new_status != row.status and row.status == "resolved":
                raise IncidentConflictError(
                    f"incident {incident_id} is resolved and cannot become {new_status}"
                )
            values = dict(changes, updated_at=now, version=row.version + 1)
            if new_status == "resolved" and row.status != "resolved":
                values["resolved_at"] = now
            result = conn.execute(
                update(incidents)
                .where(and_(incidents.c.id == incident_id, incidents.c.version == row.version))
                .values(**values)
            )
            if result.rowcount != 1:
                raise IncidentVersionError(row.version + 1)
            if new_status and new_status != row.status:
                self._add_entry(
                    conn, incident_id, now, "status", author, f"{row.status} -> {new_status}", None
                )
            return incident_json(row), incident_json(self._row(conn, incident_id))

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            self._row(conn, incident_id)
            rows = conn.execute(
                select(incident_timeline)
                .where(incident_timeline.c.incident_id == incident_id)
                .order_by(incident_timeline.c.id)
            ).all()
        return [timeline_json(row) for row in rows]

    def add_entry(
        self, incident_id: int, kind: str, author: str, text: str, ref: str | None
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            self._row(conn, incident_id)
            entry_id = self._add_entry(conn, incident_id, now, kind, author, text, ref)
            row = conn.execute(select(incident_timeline).where(incident_timeline.c.id == entry_id)).one()
            return timeline_json(row)

    @staticmethod
    def _add_entry(
        conn: Connection, incident_id: int, at: datetime, kind: str, author: str, text: str, ref: str | None
    ) -> int:
        result = conn.execute(
            insert(incident_timeline).values(
                incident_id=incident_id, at=at, kind=kind, author=author, text=text, ref=ref
            )
        )
        return result.inserted_primary_key[0]

    @staticmethod
    def _row(conn: Connection, incident_id: int) -> Any:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise IncidentNotFoundError(f"no incident {incident_id}")
        return row

"""Incidents and their timelines in the nexus database.

Every write checks the caller's If-Match against the incident's version (`check_version`, which raises to
refuse), bumps the version, and records its audit row in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from nexus_refserver.audit import AuditLog
from nexus_refserver.databases import as_utc
from nexus_refserver.incident_rules import (
    ACTIVE_STATUSES,
    EDITABLE_KINDS,
    IncidentConflictError,
    IncidentInvalidError,
    IncidentNotFoundError,
    IncidentVersionError,
    apply_patch,
    change_entries,
    incident_json,
    incident_state,
    refuse_disorder,
    refuse_future,
    timeline_json,
    utc_now,
)
from nexus_refserver.schema import alerts, incident_timeline, incidents

__all__ = [
    "IncidentConflictError",
    "IncidentInvalidError",
    "IncidentNotFoundError",
    "IncidentStore",
    "IncidentVersionError",
]

VersionCheck = Callable[[int], None]
MAX_LINKED_ALERTS = 500


class IncidentStore:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    # --- incidents -----------------------------------------------------------------------------------------

    def create(
        self,
        author: str,
        fields: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        extra_entries: Iterable[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        """A new incident in triage, detected now unless `detected_at` says otherwise; its impact started
        at `impact_started_at`, else when its earliest known linked alert started, else at detection.

        `extra_entries` are (kind, text) timeline entries written with it."""
        now = utc_now()
        alert_ids = list(fields.get("alert_ids", []))
        detected = fields.get("detected_at") or now
        refuse_future(
            {"impact_started_at": fields.get("impact_started_at"), "detected_at": fields.get("detected_at")},
            now,
        )
        with self._engine.begin() as conn:
            impact = fields.get("impact_started_at")
            if impact is None:
                earliest = self._earliest_alert_start(conn, alert_ids)
                impact = detected if earliest is None else min(earliest, detected)
            refuse_disorder({"impact_started_at": impact, "detected_at": detected})
            result = conn.execute(
                insert(incidents).values(
                    title=fields["title"],
                    severity=fields["severity"],
                    status="triage",
                    commander=fields.get("commander"),
                    responders=json.dumps(fields.get("responders", [])),
                    services=json.dumps(fields.get("services", [])),
                    summary=fields.get("summary", ""),
                    alert_ids=json.dumps(alert_ids),
                    impact_started_at=impact,
                    detected_at=detected,
                    created_by=author,
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
            incident_id = result.inserted_primary_key[0]
            self._add_entry(conn, incident_id, now, "status", author, "declared", None)
            for alert_id in alert_ids:
                self._add_entry(
                    conn, incident_id, now, "alert", author, f"linked alert {alert_id}", str(alert_id)
                )
            for kind, text in extra_entries:
                self._add_entry(conn, incident_id, now, kind, author, text, None)
            created = incident_json(self._row(conn, incident_id))
            self._record(conn, author, "incident.create", incident_id, None, created, idempotency_key)
            return created

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

    def find_active(self, title: str, created_by: str) -> dict[str, Any] | None:
        """The newest incident with this title and author that is not resolved or closed, if any."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(incidents)
                .where(
                    and_(
                        incidents.c.title == title,
                        incidents.c.created_by == created_by,
                        incidents.c.status.in_(ACTIVE_STATUSES),
                    )
                )
                .order_by(incidents.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else incident_json(row)

    def update(
        self,
        incident_id: int,
        author: str,
        changes: dict[str, Any],
        check_version: VersionCheck,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Apply a PATCH body (see incident_rules.apply_patch); one timeline entry per changed field."""
        now = utc_now()
        with self._engine.begin() as conn:
            row = self._row(conn, incident_id)
            check_version(row.version)
            before = incident_state(row)
            after = apply_patch(incident_id, before, changes, now)
            values = {name: after[name] for name in before if after[name] != before[name]}
            for name in ("responders", "services"):
                if name in values:
                    values[name] = json.dumps(values[name])
            self._bump(conn, row, now, **values)
            for kind, text, ref in change_entries(before, after, list(changes)):
                self._add_entry(conn, incident_id, now, kind, author, text, ref)
            return self._finish(conn, row, author, "incident.update", idempotency_key)

    def link_alert(
        self,
        incident_id: int,
        alert_id: int,
        author: str,
        check_version: VersionCheck,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        now = utc_now()
        with self._engine.begin() as conn:
            row = self._row(conn, incident_id)
            check_version(row.version)
            linked = json.loads(row.alert_ids)
            if alert_id in linked:
                raise IncidentConflictError(f"alert {alert_id} is already linked to incident {incident_id}")
            if len(linked) >= MAX_LINKED_ALERTS:
                raise IncidentInvalidError(f"an incident links at most {MAX_LINKED_ALERTS} alerts")
            self._bump(conn, row, now, alert_ids=json.dumps([*linked, alert_id]))
            self._add_entry(
                conn, incident_id, now, "alert", author, f"linked alert {alert_id}", str(alert_id)
            )
            return self._finish(conn, row, author, "incident.alert_link", idempotency_key)

    def unlink_alert(
        self,
        incident_id: int,
        alert_id: int,
        author: str,
        check_version: VersionCheck,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        now = utc_now()
        with self._engine.begin() as conn:
            row = self._row(conn, incident_id)
            linked = json.loads(row.alert_ids)
            if alert_id not in linked:
                raise IncidentNotFoundError(f"alert {alert_id} is not linked to incident {incident_id}")
            check_version(row.version)
            remaining = [item for item in linked if item != alert_id]
            self._bump(conn, row, now, alert_ids=json.dumps(remaining))
            self._add_entry(
                conn, incident_id, now, "alert", author, f"unlinked alert {alert_id}", str(alert_id)
            )
            return self._finish(conn, row, author, "incident.alert_unlink", idempotency_key)

    # --- the timeline --------------------------------------------------------------------------------------

    def timeline(self, incident_id: int, include_hidden: bool = False) -> list[dict[str, Any]]:
        """Oldest first by `at`, then by id."""
        query = select(incident_timeline).where(incident_timeline.c.incident_id == incident_id)
        if not include_hidden:
            query = query.where(incident_timeline.c.hidden.is_(False))
        with self._engine.connect() as conn:
            self._row(conn, incident_id)
            rows = conn.execute(query.order_by(incident_timeline.c.at, incident_timeline.c.id)).all()
        return [timeline_json(row) for row in rows]

    def add_entry(
        self,
        incident_id: int,
        author: str,
        fields: dict[str, Any],
        check_version: VersionCheck,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], int]:
        """A note, custom entry or action at `fields["at"]` (default now). Returns (entry, new version)."""
        now = utc_now()
        at = fields.get("at") or now
        refuse_future({"at": fields.get("at")}, now)
        with self._engine.begin() as conn:
            row = self._row(conn, incident_id)
            check_version(row.version)
            self._bump(conn, row, now)
            entry_id = self._add_entry(
                conn, incident_id, at, fields["kind"], author, fields["text"], fields.get("ref"), written=now
            )
            entry = timeline_json(self._entry(conn, incident_id, entry_id))
            self._record(conn, author, "incident.note", incident_id, None, entry, idempotency_key)
            return entry, row.version + 1

    def edit_entry(
        self,
        incident_id: int,
        entry_id: int,
        author: str,
        changes: dict[str, Any],
        check_version: VersionCheck,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], int]:
        """Change an entry's text or time (people's entries only), or hide or pin any entry.
        Returns (entry, new incident version)."""
        now = utc_now()
        refuse_future({"at": changes.get("at")}, now)
        with self._engine.begin() as conn:
            row = self._row(conn, incident_id)
            entry = self._entry(conn, incident_id, entry_id)
            rewording = [name for name in ("text", "at") if name in changes]
            if rewording and entry.kind not in EDITABLE_KINDS:
                raise IncidentConflictError(
                    f"timeline entry {entry_id} is a {entry.kind} entry, which records what happened: "
                    f"its {' and '.join(rewording)} cannot change (it can be hidden or pinned); "
                    f"only {', '.join(EDITABLE_KINDS)} entries can be edited"
                )
            check_version(row.version)
            values = dict(changes)
            if any(changes[name] != _entry_value(entry, name) for name in rewording):
                values["edited_at"] = now
            self._bump(conn, row, now)
            conn.execute(update(incident_timeline).where(incident_timeline.c.id == entry_id).values(**values))
            before = timeline_json(entry)
            after = timeline_json(self._entry(conn, incident_id, entry_id))
            self._record(conn, author, "incident.timeline_edit", incident_id, before, after, idempotency_key)
            return after, row.version + 1

    # --- helpers -------------------------------------------------------------------------------------------

    def _finish(
        self, conn: Connection, row: Any, author: str, action: str, idempotency_key: str | None
    ) -> dict[str, Any]:
        """The incident after a write, with the write's audit row."""
        after = incident_json(self._row(conn, row.id))
        self._record(conn, author, action, row.id, incident_json(row), after, idempotency_key)
        return after

    def _record(
        self,
        conn: Connection,
        actor: str,
        action: str,
        incident_id: int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        idempotency_key: str | None,
    ) -> None:
        self._audit.record(
            actor=actor,
            action=action,
            entity_type="incident",
            entity_id=incident_id,
            before=before,
            after=after,
            reason=None,
            idempotency_key=idempotency_key,
            conn=conn,
        )

    @staticmethod
    def _bump(conn: Connection, row: Any, now: datetime, **values: Any) -> None:
        """Write `values` and the next version, unless someone else wrote the incident meanwhile."""
        result = conn.execute(
            update(incidents)
            .where(and_(incidents.c.id == row.id, incidents.c.version == row.version))
            .values(**values, updated_at=now, version=row.version + 1)
        )
        if result.rowcount != 1:
            raise IncidentVersionError(row.version + 1)

    @staticmethod
    def _earliest_alert_start(conn: Connection, alert_ids: list[int]) -> datetime | None:
        if not alert_ids:
            return None
        earliest = conn.execute(select(func.min(alerts.c.starts_at)).where(alerts.c.id.in_(alert_ids)))
        return as_utc(earliest.scalar_one())

    @staticmethod
    def _add_entry(
        conn: Connection,
        incident_id: int,
        at: datetime,
        kind: str,
        author: str,
        text: str,
        ref: str | None,
        *,
        written: datetime | None = None,
    ) -> int:
        """An entry that happened `at`, written `written` (default: `at`, for what the server records)."""
        result = conn.execute(
            insert(incident_timeline).values(
                incident_id=incident_id,
                at=at,
                kind=kind,
                author=author,
                text=text,
                ref=ref,
                hidden=False,
                pinned=False,
                created_at=written or at,
            )
        )
        return result.inserted_primary_key[0]

    @staticmethod
    def _entry(conn: Connection, incident_id: int, entry_id: int) -> Any:
        row = conn.execute(
            select(incident_timeline).where(
                and_(incident_timeline.c.id == entry_id, incident_timeline.c.incident_id == incident_id)
            )
        ).first()
        if row is None:
            raise IncidentNotFoundError(f"incident {incident_id} has no timeline entry {entry_id}")
        return row

    @staticmethod
    def _row(conn: Connection, incident_id: int) -> Any:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise IncidentNotFoundError(f"no incident {incident_id}")
        return row


def _entry_value(entry: Any, name: str) -> Any:
    return as_utc(entry.at) if name == "at" else entry.text

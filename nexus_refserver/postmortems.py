"""Post-mortems: one document per incident, saved whole under its own version (0 before the first save).

A save does not change the incident's version: writing the post-mortem never makes someone's pending
change to the incident stale.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from nexus_refserver.audit import AuditLog
from nexus_refserver.databases import rfc3339
from nexus_refserver.incident_rules import (
    IncidentInvalidError,
    IncidentNotFoundError,
    IncidentVersionError,
    utc_now,
)
from nexus_refserver.incidents import VersionCheck
from nexus_refserver.schema import incident_postmortems, incident_timeline, incidents

TEXT_FIELDS = ("summary", "impact", "root_cause", "went_well", "went_badly")


def empty_postmortem(incident_id: int) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "owner": None,
        **dict.fromkeys(TEXT_FIELDS, ""),
        "action_items": [],
        "timeline_entry_ids": [],
        "version": 0,
        "updated_by": None,
        "updated_at": None,
    }


def postmortem_json(row: Any) -> dict[str, Any]:
    return {
        "incident_id": row.incident_id,
        "owner": row.owner,
        **{name: getattr(row, name) for name in TEXT_FIELDS},
        "action_items": json.loads(row.action_items),
        "timeline_entry_ids": json.loads(row.timeline_entry_ids),
        "version": row.version,
        "updated_by": row.updated_by,
        "updated_at": rfc3339(row.updated_at),
    }


class PostMortemStore:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def get(self, incident_id: int) -> dict[str, Any]:
        with self._engine.connect() as conn:
            _require_incident(conn, incident_id)
            row = _row(conn, incident_id)
        return empty_postmortem(incident_id) if row is None else postmortem_json(row)

    def save(
        self,
        incident_id: int,
        author: str,
        document: dict[str, Any],
        check_version: VersionCheck,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Replace the document; `check_version` sees the current version (0 before the first save)."""
        now = utc_now()
        try:
            with self._engine.begin() as conn:
                _require_incident(conn, incident_id)
                row = _row(conn, incident_id)
                version = 0 if row is None else row.version
                check_version(version)
                _refuse_foreign_entries(conn, incident_id, document["timeline_entry_ids"])
                values = {
                    "owner": document.get("owner"),
                    **{name: document[name] for name in TEXT_FIELDS},
                    "action_items": json.dumps(document["action_items"]),
                    "timeline_entry_ids": json.dumps(document["timeline_entry_ids"]),
                    "version": version + 1,
                    "updated_by": author,
                    "updated_at": now,
                }
                if row is None:
                    conn.execute(insert(incident_postmortems).values(incident_id=incident_id, **values))
                else:
                    result = conn.execute(
                        update(incident_postmortems)
                        .where(
                            and_(
                                incident_postmortems.c.incident_id == incident_id,
                                incident_postmortems.c.version == version,
                            )
                        )
                        .values(**values)
                    )
                    if result.rowcount != 1:
                        raise IncidentVersionError(version + 1)
                saved = postmortem_json(_row(conn, incident_id))
                before = None if row is None else postmortem_json(row)
                self._audit.record(
                    actor=author,
                    action="incident.postmortem",
                    entity_type="incident",
                    entity_id=incident_id,
                    before=before,
                    after=saved,
                    reason=None,
                    idempotency_key=idempotency_key,
                    conn=conn,
                )
                return saved
        except IntegrityError:
            # another first save won the race for the row
            raise IncidentVersionError(1) from None


def _row(conn: Connection, incident_id: int) -> Any:
    return conn.execute(
        select(incident_postmortems).where(incident_postmortems.c.incident_id == incident_id)
    ).first()


def _require_incident(conn: Connection, incident_id: int) -> None:
    if conn.execute(select(incidents.c.id).where(incidents.c.id == incident_id)).first() is None:
        raise IncidentNotFoundError(f"no incident {incident_id}")


def _refuse_foreign_entries(conn: Connection, incident_id: int, entry_ids: list[int]) -> None:
    if not entry_ids:
        return
    rows = conn.execute(
        select(incident_timeline.c.id).where(
            and_(incident_timeline.c.incident_id == incident_id, incident_timeline.c.id.in_(entry_ids))
        )
    ).all()
    missing = sorted(set(entry_ids) - {row.id for row in rows})
    if missing:
        raise IncidentInvalidError(
            f"timeline_entry_ids names entries that are not on incident {incident_id}'s timeline: "
            + ", ".join(str(entry_id) for entry_id in missing[:10])
        )

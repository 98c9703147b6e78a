"""Reads behind the compliance endpoints: the data-subject requests, the consent picture, and the retention
policy checked against the data as it is now. Plain dicts, ready to be sent as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Column, Engine, Table, func, select

from nexus_refserver.databases import Databases, as_utc, rfc3339
from nexus_refserver.schema import audit_log, contents, products, search_queries, sync_sessions
from nexus_refserver.schema_compliance import CONSENT_PURPOSES, consent_changes, data_subject_requests
from nexus_refserver.schema_security import api_access, login_attempts

CHANGE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `database.table` whose `column` is more than `keep_days` days old must be gone."""

    database: str
    table: Table
    column: str
    keep_days: int

    @property
    def time_column(self) -> Column:
        return self.table.c[self.column]


RETENTION_POLICY = (
    RetentionRule("users", search_queries, "at", 365),
    RetentionRule("users", sync_sessions, "started_at", 730),
    RetentionRule("nexus", login_attempts, "at", 90),
    RetentionRule("nexus", api_access, "at", 30),
)


def dsar_json(row: Any) -> dict[str, Any]:
    """One request as the API sends it: times as RFC 3339 UTC."""
    return {
        "id": row.id,
        "user_id": row.user_id,
        "user": row.user,
        "kind": row.kind,
        "received_at": rfc3339(row.received_at),
        "status": row.status,
        "extended_at": rfc3339(row.extended_at),
        "completed_at": rfc3339(row.completed_at),
        "note": row.note,
        "version": row.version,
    }


def dsar_list(engine: Engine) -> dict[str, Any]:
    """Every data-subject request, newest first."""
    c = data_subject_requests.c
    with engine.connect() as conn:
        rows = conn.execute(select(data_subject_requests).order_by(c.received_at.desc(), c.id.desc())).all()
    return {"requests": [dsar_json(row) for row in rows]}


def consent_summary(engine: Engine, now: datetime) -> dict[str, Any]:
    """Per purpose, how many users' latest choice grants or withholds consent (and the grant rate), and per
    UTC day of the last CHANGE_WINDOW_DAYS days (today included, oldest first) the choices recorded."""
    c = consent_changes.c
    newest_first = func.row_number().over(
        partition_by=(c.user_id, c.purpose), order_by=(c.at.desc(), c.id.desc())
    )
    ranked = select(c.purpose, c.granted, newest_first.label("rank")).subquery()
    latest = (
        select(ranked.c.purpose, ranked.c.granted, func.count().label("users"))
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.purpose, ranked.c.granted)
    )
    first_day = now.date() - timedelta(days=CHANGE_WINDOW_DAYS - 1)
    with engine.connect() as conn:
        counts = {(row.purpose, bool(row.granted)): row.users for row in conn.execute(latest)}
        recent = conn.execute(
            select(c.at, c.granted).where(c.at >= datetime.combine(first_day, time.min, tzinfo=UTC))
        ).all()
    purposes = []
    for purpose in CONSENT_PURPOSES:
        granted, withdrawn = counts.get((purpose, True), 0), counts.get((purpose, False), 0)
        rate = round(granted / (granted + withdrawn), 4) if granted + withdrawn else None
        purposes.append({"purpose": purpose, "granted": granted, "withdrawn": withdrawn, "rate": rate})
    days: dict[date, dict[str, int]] = {
        first_day + timedelta(days=n): {"granted": 0, "withdrawn": 0} for n in range(CHANGE_WINDOW_DAYS)
    }
    for row in recent:
        day = days.get(as_utc(row.at).date())
        if day is not None:
            day["granted" if row.granted else "withdrawn"] += 1
    changes = [{"day": day.isoformat(), **counted} for day, counted in days.items()]
    return {"purposes": purposes, "changes_30d": changes}


def retention_checks(dbs: Databases, now: datetime) -> dict[str, Any]:
    """Each rule of RETENTION_POLICY checked now: how many rows are older than it allows, and the oldest
    time the column holds at all (null for an empty table)."""
    checks = []
    for rule in RETENTION_POLICY:
        column = rule.time_column
        cutoff = now - timedelta(days=rule.keep_days)
        with dbs.engine(rule.database).connect() as conn:
            older = conn.execute(
                select(func.count()).select_from(rule.table).where(column < cutoff)
            ).scalar_one()
            oldest = conn.execute(select(func.min(column))).scalar_one()
        checks.append(
            {
                "database": rule.database,
                "table": rule.table.name,
                "column": rule.column,
                "keep_days": rule.keep_days,
                "older_rows": older,
                "oldest": rfc3339(oldest),
            }
        )
    return {"checks": checks}


MODERATION_WINDOW_DAYS = 30
# what is moderated, where, and the statuses in which a flagged item still waits for a moderator
MODERATED = (
    ("product", products, "marketplace", ("pending", "approved")),
    ("content", contents, "workstation", ("published",)),
)


def moderation_summary(dbs: Databases, now: datetime) -> dict[str, Any]:
    """Per moderated kind (products, content): flagged items still waiting for a decision, the oldest of
    them, the commonest flag reasons and the items by status; and the moderators' decisions of the last
    MODERATION_WINDOW_DAYS days from the audit log, by kind and action."""
    kinds = []
    for kind, table, database, waiting in MODERATED:
        t = table.c
        flagged_waiting = t.flagged.is_(True) & t.status.in_(waiting)
        with getattr(dbs, database).connect() as conn:
            open_count, oldest = conn.execute(
                select(func.count(), func.min(t.created_at)).where(flagged_waiting)
            ).one()
            reasons = conn.execute(
                select(t.flag_reason, func.count().label("n"))
                .where(t.flagged.is_(True))
                .group_by(t.flag_reason)
                .order_by(func.count().desc(), t.flag_reason)
                .limit(5)
            ).all()
            statuses = conn.execute(select(t.status, func.count()).group_by(t.status)).all()
        kinds.append(
            {
                "kind": kind,
                "flagged_waiting": int(open_count),
                "oldest_flagged_created_at": rfc3339(as_utc(oldest)) if oldest is not None else None,
                "reasons": [{"reason": r.flag_reason or "unspecified", "count": int(r.n)} for r in reasons],
                "by_status": {str(status): int(count) for status, count in statuses},
            }
        )
    a = audit_log.c
    since = now - timedelta(days=MODERATION_WINDOW_DAYS)
    with dbs.nexus.connect() as conn:
        decided = conn.execute(
            select(a.entity_type, a.action, func.count().label("n"))
            .where(a.entity_type.in_([kind for kind, *_ in MODERATED]), a.at >= since)
            .group_by(a.entity_type, a.action)
            .order_by(a.entity_type, a.action)
        ).all()
    decisions = [{"kind": row.entity_type, "action": row.action, "count": int(row.n)} for row in decided]
    return {"generated_at": rfc3339(now), "kinds": kinds, "decisions_30d": decisions}

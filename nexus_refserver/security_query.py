"""Reading the security streams: pages of one stream by id, and the two pivots an analyst starts from, what
one address did and what happened to one account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select

from nexus_refserver.databases import as_utc
from nexus_refserver.schema import audit_log, users
from nexus_refserver.schema_security import STREAM_TABLES, WAF_RULES, api_access, login_attempts, waf_blocks
from nexus_refserver.security_traffic import utc_now

USER_WINDOW_DAYS = 30
RECENT_LIMIT = 50
ACCOUNTS_LIMIT = 100


def instant(value: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds, as every security event carries its time."""
    value = as_utc(value)
    return None if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["at"] = instant(data["at"])
    return data


def page(engine: Engine, stream: str, after: int | None, since: datetime, limit: int) -> dict[str, Any]:
    """Events after id `after` (or from the first at or after `since`), oldest first.

    The newest id is read before anything else, so an empty answer's cursor never passes an event that is
    committed meanwhile; rows are only ever appended in id order (see `security_feed`)."""
    table = STREAM_TABLES[stream]
    c = table.c
    with engine.connect() as conn:
        newest = conn.execute(select(func.coalesce(func.max(c.id), 0))).scalar_one()
        if after is None:
            first = conn.execute(
                select(c.id).where(c.at >= since, c.id <= newest).order_by(c.at, c.id).limit(1)
            ).scalar()
            if first is None:
                return {"events": [], "next": newest, "more": False}
            after = first - 1
        rows = conn.execute(select(table).where(c.id > after).order_by(c.id).limit(limit + 1)).all()
    events = [event(row) for row in rows[:limit]]
    return {"events": events, "next": events[-1]["id"] if events else after, "more": len(rows) > limit}


def _counts(conn: Any, column: Any, where: Any) -> dict[str, int]:
    return {
        row[0]: row[1] for row in conn.execute(select(column, func.count()).where(where).group_by(column))
    }


def ip_summary(engine: Engine, ip: str) -> dict[str, Any] | None:
    """What one address did in every stream; None when no stream has seen it."""
    la, wb = login_attempts.c, waf_blocks.c
    failed = func.sum(case((la.result == "failure", 1), else_=0))
    succeeded = func.sum(case((la.result == "success", 1), else_=0))
    with engine.connect() as conn:
        spans = [
            conn.execute(select(func.min(t.c.at), func.max(t.c.at), func.count()).where(t.c.ip == ip)).one()
            for t in (login_attempts, waf_blocks, api_access)
        ]
        if not any(count for _, _, count in spans):
            return None
        logins = _counts(conn, la.result, la.ip == ip)
        blocks = _counts(conn, wb.rule, wb.ip == ip)
        accounts = conn.execute(
            select(
                la.user, la.user_id, failed.label("failures"), succeeded.label("successes"), func.max(la.at)
            )
            .where(la.ip == ip)
            .group_by(la.user, la.user_id)
            .order_by(failed.desc(), la.user)
            .limit(ACCOUNTS_LIMIT)
        ).all()
        latest = [
            conn.execute(
                select(t.c.at, t.c.country).where(t.c.ip == ip).order_by(t.c.id.desc()).limit(1)
            ).first()
            for t in (login_attempts, waf_blocks)
        ]
    known = [row for row in latest if row is not None]
    country = max(known, key=lambda row: as_utc(row.at)).country if known else None
    return {
        "ip": ip,
        "country": country,
        "first_seen": instant(min(as_utc(first) for first, _, count in spans if count)),
        "last_seen": instant(max(as_utc(last) for _, last, count in spans if count)),
        "logins": {"success": logins.get("success", 0), "failure": logins.get("failure", 0)},
        "accounts": [
            {
                "user": r.user,
                "user_id": r.user_id,
                "failures": r.failures,
                "successes": r.successes,
                "last_at": instant(r[4]),
            }
            for r in accounts
        ],
        "waf_blocks": {rule: blocks.get(rule, 0) for rule in WAF_RULES},
        "api_requests": spans[2][2],
    }


def resolve_user(users_engine: Engine, nexus_engine: Engine, key: str) -> dict[str, Any] | None:
    """A user id or e-mail as {user_id, email, home_country}; an e-mail no account has but someone tried
    to sign in with resolves with user_id null. None when neither is known."""
    condition = users.c.id == int(key) if key.isdigit() else func.lower(users.c.email) == key.lower()
    with users_engine.connect() as conn:
        row = conn.execute(select(users.c.id, users.c.email, users.c.country).where(condition)).first()
    if row is not None:
        return {"user_id": row.id, "email": row.email, "home_country": row.country}
    if key.isdigit():
        return None
    with nexus_engine.connect() as conn:
        tried = conn.execute(select(login_attempts.c.id).where(login_attempts.c.user == key).limit(1)).first()
    return {"user_id": None, "email": key, "home_country": None} if tried else None


def user_summary(users_engine: Engine, nexus_engine: Engine, key: str) -> dict[str, Any] | None:
    """One account's logins by country and by address over the last 30 days, its recent attempts, and
    the admin actions taken on it; None for an unknown account."""
    account = resolve_user(users_engine, nexus_engine, key)
    if account is None:
        return None
    la = login_attempts.c
    since = utc_now() - timedelta(days=USER_WINDOW_DAYS)
    mine = (la.user == account["email"]) & (la.at >= since)
    successes = func.sum(case((la.result == "success", 1), else_=0)).label("successes")
    failures = func.sum(case((la.result == "failure", 1), else_=0)).label("failures")
    last_at = func.max(la.at).label("last_at")
    with nexus_engine.connect() as conn:
        by_country = conn.execute(
            select(la.country, successes, failures, last_at)
            .where(mine)
            .group_by(la.country)
            .order_by(la.country)
        ).all()
        by_address = conn.execute(
            select(la.ip, la.country, successes, failures, last_at)
            .where(mine)
            .group_by(la.ip, la.country)
            .order_by(la.ip)
        ).all()
        recent = conn.execute(
            select(login_attempts)
            .where(la.user == account["email"])
            .order_by(la.id.desc())
            .limit(RECENT_LIMIT)
        ).all()
        actions = []
        if account["user_id"] is not None:
            a = audit_log.c
            actions = conn.execute(
                select(a.id, a.at, a.actor, a.action, a.reason)
                .where(a.entity_type == "user", a.entity_id == str(account["user_id"]))
                .order_by(a.id.desc())
                .limit(RECENT_LIMIT)
            ).all()
    return {
        **account,
        "window_days": USER_WINDOW_DAYS,
        "logins_by_country": [
            {
                "country": r.country,
                "successes": r.successes,
                "failures": r.failures,
                "last_at": instant(r.last_at),
            }
            for r in by_country
        ],
        "logins_by_address": [
            {
                "ip": r.ip,
                "country": r.country,
                "successes": r.successes,
                "failures": r.failures,
                "last_at": instant(r.last_at),
            }
            for r in by_address
        ],
        "recent_attempts": [event(row) for row in recent],
        "admin_actions": [
            {"id": r.id, "at": instant(r.at), "actor": r.actor, "action": r.action, "reason": r.reason}
            for r in actions
        ],
    }

"""KPIs computed from the platform databases, cached briefly because a 1M-user count is not free."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, desc, func, select

from nexus_refserver.analytics_groups import click_through, link_quality, user_groups
from nexus_refserver.databases import Databases, rfc3339
from nexus_refserver.generator import DATA_AS_OF
from nexus_refserver.schema import cart_events, contents, orders, products, sync_sessions, users, vendors

CACHE_TTL_S = 30.0
HEAVY_SYNC_SESSIONS = 3
SEGMENTS = (
    ("heavy", "Heavy users"),
    ("repeat", "Repeat buyers"),
    ("one_time", "One-time buyers"),
    ("browser", "Browsers"),
    ("none", "No purchase, no cart"),
)


def _month(column: Any) -> Any:
    # "YYYY-MM" from the text form of a timestamp, the same on SQLite and PostgreSQL
    return func.substr(cast(column, String), 1, 7)


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


class Analytics:
    def __init__(self, dbs: Databases) -> None:
        self._dbs = dbs
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _cached(self, name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            hit = self._cache.get(name)
            if hit and time.monotonic() - hit[0] < CACHE_TTL_S:
                return hit[1]
        value = {"generated_at": rfc3339(datetime.now(UTC)), "as_of": rfc3339(DATA_AS_OF), **compute()}
        with self._lock:
            self._cache[name] = (time.monotonic(), value)
        return value

    def users(self) -> dict[str, Any]:
        return self._cached("users", self._users)

    def vendors(self) -> dict[str, Any]:
        return self._cached("vendors", self._vendors)

    def content(self) -> dict[str, Any]:
        return self._cached("content", self._content)

    def revenue(self) -> dict[str, Any]:
        return self._cached("revenue", self._revenue)

    def _users(self) -> dict[str, Any]:
        day = timedelta(days=1)
        c = users.c
        with self._dbs.users.connect() as conn:
            by_status = dict(conn.execute(select(c.status, func.count()).group_by(c.status)).all())
            activity = conn.execute(
                select(
                    func.count(),
                    func.sum(case((c.last_active_at >= DATA_AS_OF - day, 1), else_=0)),
                    func.sum(case((c.last_active_at >= DATA_AS_OF - 7 * day, 1), else_=0)),
                    func.sum(case((c.last_active_at >= DATA_AS_OF - 30 * day, 1), else_=0)),
                    func.sum(case((c.signup_at >= DATA_AS_OF - 7 * day, 1), else_=0)),
                    func.sum(case((c.signup_at >= DATA_AS_OF - 30 * day, 1), else_=0)),
                    func.sum(case((c.email_verified.is_(True), 1), else_=0)),
                )
            ).one()
            countries = conn.execute(
                select(c.country, func.count().label("n")).group_by(c.country).order_by(desc("n"))
            ).all()
            month = _month(c.signup_at)
            months = conn.execute(
                select(month.label("m"), func.count())
                .where(c.signup_at >= DATA_AS_OF - 365 * day)
                .group_by("m")
                .order_by("m")
            ).all()
        total = activity[0] or 0
        return {
            "total_users": total,
            "active_users": by_status.get("active", 0),
            "suspended_users": by_status.get("suspended", 0),
            "banned_users": by_status.get("banned", 0),
            "dau": activity[1] or 0,
            "wau": activity[2] or 0,
            "mau": activity[3] or 0,
            "new_users_7d": activity[4] or 0,
            "new_users_30d": activity[5] or 0,
            "email_verified_rate": _ratio(activity[6] or 0, total),
            "by_country": [{"key": key, "count": count} for key, count in countries],
            "signups_by_month": [{"key": key, "count": count} for key, count in months],
            "segments": self._segments(),
            **user_groups(self._dbs),
        }

    def _segments(self) -> list[dict[str, Any]]:
        """Every user in one behaviour segment, the first that fits (SEGMENTS' order), with the completed
        orders of its users: heavy users (3+ sync sessions and 2+ orders), repeat buyers (2+ orders),
        one-time buyers, browsers (added to a cart, never bought), and the rest."""
        with self._dbs.marketplace.connect() as conn:
            bought = dict(
                conn.execute(
                    select(orders.c.user_id, func.count())
                    .where(orders.c.status == "completed")
                    .group_by(orders.c.user_id)
                ).all()
            )
            carted = {
                row[0]
                for row in conn.execute(
                    select(cart_events.c.user_id).where(cart_events.c.kind == "add").distinct()
                )
            }
        with self._dbs.users.connect() as conn:
            synced = dict(
                conn.execute(
                    select(sync_sessions.c.user_id, func.count()).group_by(sync_sessions.c.user_id)
                ).all()
            )
            everyone = [row[0] for row in conn.execute(select(users.c.id))]
        counts = {key: [0, 0] for key, _ in SEGMENTS}
        for user_id in everyone:
            n = bought.get(user_id, 0)
            if n >= 2 and synced.get(user_id, 0) >= HEAVY_SYNC_SESSIONS:
                key = "heavy"
            elif n >= 2:
                key = "repeat"
            elif n == 1:
                key = "one_time"
            elif user_id in carted:
                key = "browser"
            else:
                key = "none"
            counts[key][0] += 1
            counts[key][1] += n
        return [
            {"key": key, "label": label, "users": counts[key][0], "orders": counts[key][1]}
            for key, label in SEGMENTS
        ]

    def _top_vendors(self, conn: Any, since: datetime) -> list[dict[str, Any]]:
        o = orders.c
        rows = conn.execute(
            select(o.vendor_id, func.sum(o.amount_cents).label("revenue"), func.count().label("n"))
            .where(and_(o.status == "completed", o.placed_at >= since))
            .group_by(o.vendor_id)
            .order_by(desc("revenue"))
            .limit(10)
        ).all()
        names = dict(
            conn.execute(
                select(vendors.c.id, vendors.c.name).where(vendors.c.id.in_([r[0] for r in rows]))
            ).all()
        )
        return [
            {
                "vendor_id": vid,
                "name": names.get(vid, f"vendor {vid}"),
                "revenue_cents": int(rev or 0),
                "orders": n,
            }
            for vid, rev, n in rows
        ]

    def _vendors(self) -> dict[str, Any]:
        v, p = vendors.c, products.c
        with self._dbs.marketplace.connect() as conn:
            by_status = conn.execute(
                select(v.status, func.count()).group_by(v.status).order_by(v.status)
            ).all()
            summary = conn.execute(
                select(
                    func.count(),
                    func.avg(v.commission_pct),
                    func.sum(v.warnings),
                    func.sum(v.products_removed),
                    func.sum(v.late_shipments),
                )
            ).one()
            product_summary = conn.execute(
                select(
                    func.count(),
                    func.sum(case((p.flagged.is_(True), 1), else_=0)),
                    func.sum(case((p.status == "pending", 1), else_=0)),
                )
            ).one()
            top = self._top_vendors(conn, DATA_AS_OF - timedelta(days=30))
        statuses = dict(by_status)
        return {
            "total_vendors": summary[0] or 0,
            "by_status": [{"key": key, "count": count} for key, count in by_status],
            "pending_approval": statuses.get("pending", 0),
            "avg_commission_pct": round(float(summary[1] or 0), 2),
            "total_products": product_summary[0] or 0,
            "flagged_products": product_summary[1] or 0,
            "pending_products": product_summary[2] or 0,
            "top_vendors_by_orders": top,
            "top_vendors_by_link_quality": link_quality(self._dbs),
            "compliance": {
                "warnings": summary[2] or 0,
                "products_removed": summary[3] or 0,
                "late_shipments": summary[4] or 0,
            },
        }

    def _content(self) -> dict[str, Any]:
        s, k = sync_sessions.c, contents.c
        since = DATA_AS_OF - timedelta(days=30)
        with self._dbs.users.connect() as conn:
            sessions = conn.execute(
                select(
                    func.count(),
                    func.sum(s.duration_s),
                    func.sum(case((s.completed.is_(True), 1), else_=0)),
                    func.sum(case((s.detected.is_(True), 1), else_=0)),
                ).where(s.started_at >= since)
            ).one()
            top = conn.execute(
                select(s.content_id, func.count().label("n"))
                .where(s.started_at >= since)
                .group_by(s.content_id)
                .order_by(desc("n"), s.content_id)
                .limit(10)
            ).all()
        with self._dbs.workstation.connect() as conn:
            catalog = conn.execute(
                select(func.count(), func.sum(k.subjects), func.sum(k.verified_subjects))
            ).one()
            genres = conn.execute(select(k.genre, func.count()).group_by(k.genre).order_by(k.genre)).all()
            titles = {
                row.id: row
                for row in conn.execute(
                    select(k.id, k.title, k.genre).where(k.id.in_([content_id for content_id, _ in top]))
                ).all()
            }
        count = sessions[0] or 0
        return {
            "total_contents": catalog[0] or 0,
            "sync_sessions_30d": count,
            "sync_hours_30d": round((sessions[1] or 0) / 3600, 1),
            "completion_rate": _ratio(sessions[2] or 0, count),
            "detection_rate": _ratio(sessions[3] or 0, count),
            "subject_verification_rate": _ratio(catalog[2] or 0, catalog[1] or 0),
            "by_genre": [{"key": key, "count": n} for key, n in genres],
            "top_contents": [
                {
                    "content_id": content_id,
                    "title": titles[content_id].title if content_id in titles else f"content {content_id}",
                    "genre": titles[content_id].genre if content_id in titles else "unknown",
                    "sync_sessions": n,
                }
                for content_id, n in top
            ],
            **click_through(self._dbs),
        }

    def _revenue(self) -> dict[str, Any]:
        o = orders.c
        since = DATA_AS_OF - timedelta(days=30)
        completed = o.status == "completed"
        with self._dbs.marketplace.connect() as conn:
            recent = conn.execute(
                select(
                    func.count(),
                    func.sum(case((completed, o.amount_cents), else_=0)),
                    func.sum(case((completed, o.commission_cents), else_=0)),
                    func.sum(case((completed, 1), else_=0)),
                    func.sum(case((o.status == "refunded", 1), else_=0)),
                    func.sum(case((o.status == "failed", 1), else_=0)),
                ).where(o.placed_at >= since)
            ).one()
            channels = conn.execute(
                select(o.channel, func.sum(o.amount_cents), func.count())
                .where(and_(completed, o.placed_at >= since))
                .group_by(o.channel)
                .order_by(o.channel)
            ).all()
            month = _month(o.placed_at)
            months = conn.execute(
                select(month.label("m"), func.sum(o.amount_cents), func.sum(o.commission_cents), func.count())
                .where(completed)
                .group_by("m")
                .order_by("m")
            ).all()
            top = self._top_vendors(conn, since)
        all_orders, revenue, commission, done = recent[0] or 0, recent[1] or 0, recent[2] or 0, recent[3] or 0
        return {
            "currency": "USD",
            "revenue_cents_30d": int(revenue),
            "commission_cents_30d": int(commission),
            "orders_30d": int(done),
            "average_order_value_cents": int(revenue // done) if done else 0,
            "refund_rate": _ratio(recent[4] or 0, all_orders),
            "payment_failure_rate": _ratio(recent[5] or 0, all_orders),
            "by_channel": [
                {"channel": channel, "revenue_cents": int(amount or 0), "orders": n}
                for channel, amount, n in channels
            ],
            "by_month": [
                {"month": m, "revenue_cents": int(a or 0), "commission_cents": int(c or 0), "orders": n}
                for m, a, c, n in months
            ],
            "top_vendors_by_revenue": top,
        }

"""More of the user, content and vendor figures (`/analytics/users|content|vendors`): users by acquisition
source, age band and gender; subject click-through by genre and by content; and the vendors whose product
links the reviewers verify most often. Each reads the platform databases once; `Analytics` caches them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from nexus_refserver.databases import Databases
from nexus_refserver.generator import DATA_AS_OF
from nexus_refserver.schema import (
    contents,
    orders,
    product_subject_links,
    products,
    sync_sessions,
    users,
    vendors,
)
from nexus_refserver.schema_profiles import (
    ACQUISITION_SOURCES,
    AGE_BANDS,
    GENDERS,
    subject_clicks,
    user_profiles,
)

RECENT = timedelta(days=30)
MIN_DETECTED_SESSIONS = 10  # a content's click-through is ranked from this many detected sessions on
TOP_CONTENTS = 10
MIN_DECIDED_LINKS = 3  # verified, rejected or removed: a vendor is ranked by link quality from this many on
TOP_VENDORS = 10
GROUPINGS = {  # the document's field: (the profile column, its keys and labels in order)
    "by_acquisition_source": ("acquisition_source", ACQUISITION_SOURCES),
    "by_age_band": ("age_band", AGE_BANDS),
    "by_gender": ("gender", GENDERS),
}


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def user_groups(dbs: Databases) -> dict[str, list[dict[str, Any]]]:
    """For each grouping: per key, its users, those active in the 30 days before as_of, those with a
    completed order, and their completed orders."""
    with dbs.marketplace.connect() as conn:
        completed = dict(
            conn.execute(
                select(orders.c.user_id, func.count())
                .where(orders.c.status == "completed")
                .group_by(orders.c.user_id)
            ).all()
        )
    p = user_profiles.c
    with dbs.users.connect() as conn:
        rows = conn.execute(
            select(
                p.user_id,
                p.acquisition_source,
                p.age_band,
                p.gender,
                users.c.last_active_at >= DATA_AS_OF - RECENT,
            ).select_from(user_profiles.join(users, users.c.id == p.user_id))
        ).all()
    result = {}
    for position, (field, (_column, choices)) in enumerate(GROUPINGS.items(), start=1):
        tally = {key: [0, 0, 0, 0] for key, _ in choices}  # users, active, buyers, orders
        for row in rows:
            counts = tally.get(row[position])
            if counts is None:
                continue
            bought = completed.get(row[0], 0)
            counts[0] += 1
            counts[1] += bool(row[4])
            counts[2] += bought > 0
            counts[3] += bought
        result[field] = [
            {
                "key": key,
                "label": label,
                "users": n,
                "active_users_30d": active,
                "buyers": buyers,
                "orders": bought,
            }
            for key, label in choices
            for n, active, buyers, bought in [tally[key]]
        ]
    return result


def click_through(dbs: Databases) -> dict[str, Any]:
    """Subject click-through of the sync sessions started in the 30 days before as_of: overall, by genre,
    and the contents with the most (from MIN_DETECTED_SESSIONS detected sessions)."""
    s = sync_sessions.c
    clicks_per_session = (
        select(subject_clicks.c.sync_session_id.label("session"), func.count().label("clicks"))
        .group_by(subject_clicks.c.sync_session_id)
        .subquery()
    )
    with dbs.users.connect() as conn:
        sessions = conn.execute(
            select(
                s.content_id,
                func.count(),
                func.count(clicks_per_session.c.session),
                func.sum(clicks_per_session.c.clicks),
            )
            .select_from(sync_sessions.outerjoin(clicks_per_session, clicks_per_session.c.session == s.id))
            .where(s.detected.is_(True), s.started_at >= DATA_AS_OF - RECENT)
            .group_by(s.content_id)
        ).all()
    with dbs.workstation.connect() as conn:
        catalogue = {
            row.id: row for row in conn.execute(select(contents.c.id, contents.c.title, contents.c.genre))
        }
    by_genre: Counter[str] = Counter()
    clicked_by_genre: Counter[str] = Counter()
    per_content = []
    for content_id, detected, with_click, clicks in sessions:
        known = catalogue.get(content_id)
        genre = known.genre if known is not None else "unknown"
        by_genre[genre] += detected
        clicked_by_genre[genre] += with_click
        if detected >= MIN_DETECTED_SESSIONS:
            per_content.append(
                {
                    "content_id": content_id,
                    "title": known.title if known is not None else f"content {content_id}",
                    "genre": genre,
                    "detected_sessions": detected,
                    "sessions_with_click": with_click,
                    "clicks": int(clicks or 0),
                    "click_through": _ratio(with_click, detected),
                }
            )
    per_content.sort(key=lambda c: (-c["click_through"], -c["detected_sessions"], c["content_id"]))
    genres = [
        {"genre": genre, "detected_sessions": n, "sessions_with_click": clicked_by_genre[genre],
         "click_through": _ratio(clicked_by_genre[genre], n)}
        for genre, n in by_genre.items()
    ]  # fmt: skip
    genres.sort(key=lambda g: (-g["click_through"], g["genre"]))
    return {
        "subject_click_through_30d": _ratio(sum(clicked_by_genre.values()), sum(by_genre.values())),
        "click_through_by_genre": genres,
        "top_contents_by_click_through": per_content[:TOP_CONTENTS],
    }


def link_quality(dbs: Databases) -> list[dict[str, Any]]:
    """The vendors whose product-subject links are verified most often: verified over verified, rejected
    and removed (pending links are not decided yet), from MIN_DECIDED_LINKS decided links."""
    link, product = product_subject_links.c, products.c
    with dbs.marketplace.connect() as conn:
        counts = conn.execute(
            select(product.vendor_id, link.status, func.count())
            .select_from(product_subject_links.join(products, products.c.id == link.product_id))
            .group_by(product.vendor_id, link.status)
        ).all()
        names = dict(conn.execute(select(vendors.c.id, vendors.c.name)).all())
    per_vendor: dict[int, Counter[str]] = {}
    for vendor_id, status, n in counts:
        per_vendor.setdefault(vendor_id, Counter())[status] += n
    ranked = []
    for vendor_id, statuses in per_vendor.items():
        decided = statuses["verified"] + statuses["rejected"] + statuses["removed"]
        if decided < MIN_DECIDED_LINKS:
            continue
        ranked.append(
            {
                "vendor_id": vendor_id,
                "name": names.get(vendor_id, f"vendor {vendor_id}"),
                "links": sum(statuses.values()),
                "verified": statuses["verified"],
                "pending": statuses["pending"],
                "rejected": statuses["rejected"],
                "removed": statuses["removed"],
                "quality": _ratio(statuses["verified"], decided),
                "_decided": decided,
            }
        )
    ranked.sort(key=lambda v: (-v["quality"], -v["_decided"], v["vendor_id"]))
    return [{k: v for k, v in row.items() if k != "_decided"} for row in ranked[:TOP_VENDORS]]

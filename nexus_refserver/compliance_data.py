"""The compliance history a fresh server starts with: data-subject requests and consent choices.

Generated once, when the tables are empty, from a seeded `random.Random` and relative to the server's real
now (like the security backfill), so the same seed gives the same requests and choices at the same ages.

Requests (`REQUEST_PLAN`): about 60 over the last 120 days, from the first active users. Each group of the
plan fixes how many requests, how old they are and what became of them, so every start has the cases a
compliance officer must see: most completed within the month the GDPR allows, a few completed late, a few
extended within their first month, some rejected, and among the open ones at least two overdue (older
than a month, not extended) and at least one due within 3 days.

Consents: the first `CONSENT_POPULATION` active users by id each made a choice per purpose at signup, and
some changed one or more choices in the last `CHANGE_DAYS` days, in their settings or on a banner."""

from __future__ import annotations

import calendar
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from nexus_refserver.databases import Databases, as_utc
from nexus_refserver.schema import users
from nexus_refserver.schema_compliance import CONSENT_PURPOSES, consent_changes, data_subject_requests

log = logging.getLogger(__name__)


def months_after(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later, or the last day of that month when shorter
    (received on 31 January: due on 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    return moment.replace(
        year=year, month=month + 1, day=min(moment.day, calendar.monthrange(year, month + 1)[1])
    )


# The generator's ages in days (about the GDPR's month to answer and the two an extension adds); the rules
# themselves count calendar months (`months_after`), as Art. 12(3) and the console do.
RESPONSE_DAYS = 30
EXTENSION_DAYS = 60
CONSENT_POPULATION = 2_000
CHANGE_DAYS = 90
# the share of users who change some choice in the last CHANGE_DAYS days
CHANGING_SHARE = 0.2
# the share of users who consent to each purpose at signup
SIGNUP_GRANT_SHARE = {"marketing": 0.45, "analytics": 0.7, "personalisation": 0.6}
KIND_WEIGHTS = {"access": 50, "deletion": 25, "rectification": 15, "portability": 10}
REJECT_NOTES = (
    "identity could not be verified",
    "manifestly unfounded: the same request answered last month",
    "no account holds this e-mail's data",
)
EXTEND_NOTE = "complex request: data held in several systems; extended by two months"

Row = dict[str, Any]


@dataclass(frozen=True)
class RequestGroup:
    """`count` requests received `min_age`..`max_age` days before now, ending as `outcome`."""

    outcome: str  # open | extended | completed | late | rejected
    count: int
    min_age: float
    max_age: float


REQUEST_PLAN = (
    RequestGroup("open", 8, 0.2, 25.0),
    RequestGroup("due_soon", 2, 27.3, 29.5),  # open; the month ends in 0.5 to 2.7 days
    RequestGroup("overdue", 3, 34.0, 70.0),  # open, not extended, past the month
    RequestGroup("extended", 4, 35.0, 85.0),
    RequestGroup("late", 4, 50.0, 120.0),  # completed 31 to 45 days after receipt
    RequestGroup("rejected", 3, 10.0, 120.0),
    RequestGroup("completed", 36, 3.0, 120.0),  # completed within the month
)


def ensure_compliance_data(dbs: Databases, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Generate the requests and the consent history if their tables are empty; returns the rows written."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    written: dict[str, int] = {}
    with dbs.nexus.connect() as conn:
        has_requests = conn.execute(select(data_subject_requests.c.id).limit(1)).first() is not None
        has_consents = conn.execute(select(consent_changes.c.id).limit(1)).first() is not None
    if has_requests and has_consents:
        return written
    people = _first_active_users(dbs.users, CONSENT_POPULATION)
    with dbs.nexus.begin() as conn:
        if not has_requests and people:
            rows = request_rows(random.Random(f"compliance-dsar-{seed}"), people, now)
            conn.execute(insert(data_subject_requests), rows)
            written["data_subject_requests"] = len(rows)
        if not has_consents and people:
            rows = consent_rows(random.Random(f"compliance-consents-{seed}"), people, now)
            conn.execute(insert(consent_changes), rows)
            written["consent_changes"] = len(rows)
    if written:
        log.info("compliance data: %s in %.2f s", written, time.perf_counter() - started)
    return written


def _first_active_users(engine: Engine, size: int) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            select(users.c.id, users.c.email, users.c.signup_at)
            .where(users.c.status == "active")
            .order_by(users.c.id)
            .limit(size)
        ).all()


def _ago(now: datetime, days: float) -> datetime:
    """`days` before now, to the whole second."""
    return (now - timedelta(days=days)).replace(microsecond=0)


def request_rows(rng: random.Random, people: list[Any], now: datetime) -> list[Row]:
    """The planned requests, oldest first (so id order is receipt order), each from a different user."""
    requesters = rng.sample(people, min(len(people), sum(group.count for group in REQUEST_PLAN)))
    kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    rows: list[Row] = []
    for group in REQUEST_PLAN:
        for _ in range(group.count):
            if not requesters:
                break
            person = requesters.pop()
            age = rng.uniform(group.min_age, group.max_age)
            received = _ago(now, age)
            row: Row = {
                "user_id": person.id,
                "user": person.email,
                "kind": rng.choices(kinds, weights)[0],
                "received_at": received,
                "status": "open",
                "extended_at": None,
                "completed_at": None,
                "note": None,
                "version": 1,
            }
            outcome = _outcome(rng, group.outcome, received, age)
            row.update({key: _to_second(value) for key, value in outcome.items()})
            rows.append(row)
    rows.sort(key=lambda row: row["received_at"])
    return rows


def _outcome(rng: random.Random, outcome: str, received: datetime, age: float) -> Row:
    """What became of a request received `age` days ago (all its times before now)."""
    if outcome == "extended":
        after = rng.uniform(5.0, min(RESPONSE_DAYS - 2.0, age - 1.0))
        return {"status": "extended", "extended_at": received + timedelta(days=after), "note": EXTEND_NOTE}
    if outcome == "late":
        after = rng.uniform(RESPONSE_DAYS + 1.0, min(45.0, age - 1.0))
        return {"status": "completed", "completed_at": received + timedelta(days=after)}
    if outcome == "completed":
        after = rng.uniform(0.5, min(RESPONSE_DAYS - 1.0, age - 0.1))
        return {"status": "completed", "completed_at": received + timedelta(days=after)}
    if outcome == "rejected":
        after = rng.uniform(1.0, min(20.0, age - 0.5))
        return {
            "status": "rejected",
            "completed_at": received + timedelta(days=after),
            "note": rng.choice(REJECT_NOTES),
        }
    return {}  # open, due_soon, overdue: still open


def _to_second(value: Any) -> Any:
    return value.replace(microsecond=0) if isinstance(value, datetime) else value


def consent_rows(rng: random.Random, people: list[Any], now: datetime) -> list[Row]:
    """Each user's signup choice per purpose, then the changes some made in the last CHANGE_DAYS days."""
    rows: list[Row] = []
    window_start = now - timedelta(days=CHANGE_DAYS)
    for person in people:
        signup = as_utc(person.signup_at)
        current: dict[str, bool] = {}
        for purpose in CONSENT_PURPOSES:
            current[purpose] = rng.random() < SIGNUP_GRANT_SHARE[purpose]
            rows.append(_consent(signup, person.id, purpose, current[purpose], "signup"))
        if rng.random() >= CHANGING_SHARE:
            continue
        since = max(signup, window_start)
        span_s = (now - since).total_seconds()
        if span_s <= 0:  # signed up after now: nothing to change yet
            continue
        times = sorted(
            since + timedelta(seconds=rng.uniform(0, span_s)) for _ in range(rng.choice((1, 1, 2, 3)))
        )
        for at in times:
            purpose = rng.choice(CONSENT_PURPOSES)
            current[purpose] = not current[purpose]
            rows.append(
                _consent(at, person.id, purpose, current[purpose], rng.choice(("settings", "banner")))
            )
    rows.sort(key=lambda row: (row["at"], row["user_id"]))
    return rows


def _consent(at: datetime, user_id: int, purpose: str, granted: bool, source: str) -> Row:
    return {
        "at": at.replace(microsecond=0),
        "user_id": user_id,
        "purpose": purpose,
        "granted": granted,
        "source": source,
    }

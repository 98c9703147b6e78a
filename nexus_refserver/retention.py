"""Cohort retention (`GET /analytics/retention`) and daily active users (`GET /analytics/activity`).

Both read `user_activity` (one row per user per UTC day with activity, from ACTIVITY_START) and fold it in
Python; days are read as `YYYY-MM-DD` text on SQLite and PostgreSQL alike.

Retention: cohorts are the users who signed up (UTC) in each of the last `cohorts` whole periods before
`as_of` (a day; an ISO week from Monday; a calendar month; a calendar quarter). For period offset p (0 is
the signup period),
`on` is the fraction of the cohort active on some day of that period, `on_or_after` the fraction active
in that period or any later one up to `as_of`. A period not over by `as_of` is null. The activity
history is a year and a month, so a cohort starts at most a year back: 366 days, 52 weeks, 12 months,
4 quarters.
Day-N retention (`d1`, `d7`, `d30`): of the users who signed up since ACTIVITY_START and whose day N
(the signup's UTC day plus N days) is over by `as_of`, the fraction active on exactly that day.

Activity: for each of the last `days` days before `as_of`, the distinct users active that day (dau), in
the 7 days ending that day (wau) and in the 30 days ending that day (mau), by one sweep over the rows in
day order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, func, select, type_coerce

from nexus_refserver.databases import Databases, rfc3339
from nexus_refserver.generator import DATA_AS_OF
from nexus_refserver.generator_activity import ACTIVITY_START
from nexus_refserver.report_query import at_or_after, quoted, unprocessable, utc_date_text
from nexus_refserver.schema import user_activity, users

GRAINS = ("day", "week", "month", "quarter")
MODES = ("on", "on_or_after")
MAX_COHORTS = {"day": 366, "week": 52, "month": 12, "quarter": 4}  # a year back
DEFAULT_COHORTS = DEFAULT_PERIODS = 12
DAY_N = (1, 7, 30)
DEFAULT_ACTIVITY_DAYS = 365
MAX_ACTIVITY_DAYS = 366
AS_OF_DAY = DATA_AS_OF.date()  # the first day not over: `as_of` is its midnight


def period_index(grain: str, day: date) -> int:
    """The absolute number of the period holding `day` (weeks from Monday: ordinal 1 is a Monday)."""
    if grain == "day":
        return day.toordinal()
    if grain == "week":
        return (day.toordinal() - 1) // 7
    if grain == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    return day.year * 12 + day.month - 1


def period_start(grain: str, index: int) -> date:
    if grain == "day":
        return date.fromordinal(index)
    if grain == "week":
        return date.fromordinal(index * 7 + 1)
    if grain == "quarter":
        return date(index // 4, index % 4 * 3 + 1, 1)
    return date(index // 12, index % 12 + 1, 1)


def period_label(grain: str, index: int) -> str:
    """`YYYY-MM-DD` of the period's first day; `YYYY-MM` for a month; `YYYY-Qn` for a quarter."""
    if grain == "quarter":
        return f"{index // 4}-Q{index % 4 + 1}"
    start = period_start(grain, index)
    return start.isoformat()[:7] if grain == "month" else start.isoformat()


def last_whole_period(grain: str, as_of_day: date = AS_OF_DAY) -> int:
    """The last period over by the midnight that starts `as_of_day`."""
    return period_index(grain, as_of_day) - 1


@dataclass(frozen=True)
class RetentionRequest:
    grain: str = "week"
    cohorts: int = DEFAULT_COHORTS
    periods: int = DEFAULT_PERIODS
    mode: str = "on"

    @classmethod
    def parse(
        cls, *, grain: str, cohorts: int | None = None, periods: int | None = None, mode: str = "on"
    ) -> RetentionRequest:
        """The query parameters as given (`cohorts` and `periods` default to 12, or all the grain has when
        that is fewer); a 422 problem with a sentence for the first one that is wrong."""
        chosen_grain = grain.strip().lower()
        if chosen_grain not in GRAINS:
            raise unprocessable(f"Unknown grain {quoted(grain)}; choose from {', '.join(GRAINS)}.")
        chosen_mode = mode.strip().lower()
        if chosen_mode not in MODES:
            raise unprocessable(f"Unknown mode {quoted(mode)}; choose from {', '.join(MODES)}.")
        most = MAX_COHORTS[chosen_grain]
        cohorts = min(DEFAULT_COHORTS, most) if cohorts is None else cohorts
        periods = min(DEFAULT_PERIODS, most) if periods is None else periods
        for name, value in (("cohorts", cohorts), ("periods", periods)):
            if not 1 <= value <= most:
                raise unprocessable(
                    f"“{name}” must be from 1 to {most} with {chosen_grain} cohorts (the activity history "
                    f"is a year), not {value}."
                )
        return cls(chosen_grain, cohorts, periods, chosen_mode)


def cohort_table(
    request: RetentionRequest,
    signups: dict[int, date],
    activity: Iterable[tuple[int, date]],
    as_of_day: date = AS_OF_DAY,
) -> list[dict[str, Any]]:
    """The `cohorts` rows from each user's signup day and their active days (any order)."""
    grain, last = request.grain, last_whole_period(request.grain, as_of_day)
    first = last - request.cohorts + 1
    cohort_of = {
        user: index for user, day in signups.items() if first <= (index := period_index(grain, day)) <= last
    }
    sizes = [0] * request.cohorts
    for index in cohort_of.values():
        sizes[index - first] += 1
    offsets: dict[int, set[int]] = {}  # per user: the period offsets with activity
    for user, day in activity:
        cohort = cohort_of.get(user)
        if cohort is not None and day < as_of_day:
            offset = period_index(grain, day) - cohort
            if offset >= 0:
                offsets.setdefault(user, set()).add(offset)
    counts = [[0] * request.periods for _ in range(request.cohorts)]
    for user, seen in offsets.items():
        row = counts[cohort_of[user] - first]
        if request.mode == "on":
            for offset in seen:
                if offset < request.periods:
                    row[offset] += 1
        else:
            for offset in range(min(max(seen) + 1, request.periods)):
                row[offset] += 1
    return [
        {
            "cohort": period_label(grain, first + index),
            "size": size,
            "values": [
                None if first + index + offset > last else (round(n / size, 4) if size else 0.0)
                for offset, n in enumerate(counts[index])
            ],
        }
        for index, size in enumerate(sizes)
    ]


def day_n_retention(
    n: int, signups: dict[int, date], active: set[tuple[int, date]], as_of_day: date = AS_OF_DAY
) -> float:
    """Of the users who signed up since ACTIVITY_START with day N over, the fraction active on day N."""
    latest = as_of_day - timedelta(days=n + 1)
    eligible = [(user, day) for user, day in signups.items() if ACTIVITY_START <= day <= latest]
    retained = sum(1 for user, day in eligible if (user, day + timedelta(days=n)) in active)
    return round(retained / len(eligible), 4) if eligible else 0.0


def activity_trend(rows: Iterable[tuple[int, date]], days: int, as_of_day: date = AS_OF_DAY) -> list[dict]:
    """dau, wau and mau for the `days` days before `as_of_day`, from (user, day) rows in day order."""
    first = as_of_day - timedelta(days=days)
    origin = first - timedelta(days=29)  # the first day the first row's MAU looks at
    span = (as_of_day - origin).days
    dau = [0] * (span + 30)
    windows = {7: [0] * (span + 30), 30: [0] * (span + 30)}  # +1/-1 where a user's coverage starts/ends
    last_seen: dict[int, int] = {}
    for user, day in rows:
        if not origin <= day < as_of_day:
            continue
        at = (day - origin).days
        dau[at] += 1
        previous = last_seen.get(user)
        for width, changes in windows.items():
            start = at if previous is None else max(at, previous + width)
            changes[start] += 1
            changes[at + width] -= 1
        last_seen[user] = at
    running = {width: 0 for width in windows}
    result = []
    for at in range(span):
        for width, changes in windows.items():
            running[width] += changes[at]
        if at >= 29:
            day = origin + timedelta(days=at)
            result.append({"day": day.isoformat(), "dau": dau[at], "wau": running[7], "mau": running[30]})
    return result


@functools.lru_cache(maxsize=4096)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def _day_text(column: Any, dialect: str) -> Any:
    """A DATE column as `YYYY-MM-DD` text: SQLite stores that text; PostgreSQL formats it."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return type_coerce(column, String)


class CohortQuery:
    def __init__(self, dbs: Databases) -> None:
        self._dbs = dbs

    def retention(self, request: RetentionRequest) -> dict[str, Any]:
        """Retention as `RetentionResult` describes it."""
        signups, activity = self._signups_and_activity()
        active = set(activity)
        return {
            "generated_at": rfc3339(datetime.now(UTC)),
            "as_of": rfc3339(DATA_AS_OF),
            "grain": request.grain,
            "mode": request.mode,
            "cohorts": cohort_table(request, signups, activity),
            **{f"d{n}": day_n_retention(n, signups, active) for n in DAY_N},
        }

    def activity(self, days: int) -> dict[str, Any]:
        """Daily active users as `ActivityResult` describes it."""
        engine = self._dbs.users
        a = user_activity.c
        origin = AS_OF_DAY - timedelta(days=days + 29)
        statement = (
            select(a.user_id, _day_text(a.day, engine.dialect.name))
            .where(a.day >= origin, a.day < AS_OF_DAY)
            .order_by(a.day)
        )
        with engine.connect() as conn:
            rows = [(user, _day(text)) for user, text in conn.execute(statement)]
        return {
            "generated_at": rfc3339(datetime.now(UTC)),
            "as_of": rfc3339(DATA_AS_OF),
            "days": activity_trend(rows, days),
        }

    def _signups_and_activity(self) -> tuple[dict[int, date], list[tuple[int, date]]]:
        """Users who signed up since ACTIVITY_START (their signup days) and their active days."""
        engine = self._dbs.users
        dialect = engine.dialect.name
        u, a = users.c, user_activity.c
        since = at_or_after(u.signup_at, datetime.combine(ACTIVITY_START, time(), tzinfo=UTC), dialect)
        with engine.connect() as conn:
            signups = {
                user: _day(text)
                for user, text in conn.execute(
                    select(u.id, utc_date_text(u.signup_at, dialect, 10)).where(since)
                )
            }
            rows = conn.execute(
                select(a.user_id, _day_text(a.day, dialect))
                .select_from(user_activity.join(users, u.id == a.user_id))
                .where(since, a.day < AS_OF_DAY)
            )
            activity = [(user, _day(text)) for user, text in rows]
        return signups, activity

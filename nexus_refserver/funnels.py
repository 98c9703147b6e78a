"""Funnels (`GET /analytics/funnel`): ordered steps within a conversion window, as PostHog defines them.

A user enters with a step-1 event inside the range (`from` inclusive to `to` exclusive, on the event's UTC
day). Each such step 1 starts an attempt: step k counts when steps 2..k happened in order, each at or
after the previous one (the earliest such event is taken), and step k at most `window_hours` after that
step 1. Later steps may fall after `to`, inside the window. A user's result is the attempt that got
furthest, the earliest of them on a tie. An event before the step it follows does not count, and neither
does a step after the window.

A window per step (`step_window_hours`, one value per step after the first; PostHog users ask for it,
posthog#37418) adds a limit: step k+1 counts only at most that many hours after the attempt's step k, as well
as within `window_hours` of step 1. Then the earliest step k is no longer always the best one (a later
step k may still have its step k+1 in time), so an attempt keeps every step-k time it could have reached,
and a step's time is the earliest of them.

Still in window: a user who entered, has not reached the last step, and has an attempt (from a step 1 in
the range) that could still take its next step at `as_of`: its `window_hours` from step 1 and, with step
windows, the next step's window from the latest step it reached are both still open. Without step windows
that is: the latest step 1 in the range is less than `window_hours` before `as_of`. They are counted in
`still_in_window` and in no step's `drop_off`, but they stay in the conversion denominators, as PostHog
keeps them: `users` and the rates are what had happened by `as_of`. So for step 1's users:
`users(1) = users(last) + sum(drop_off) + still_in_window`.

The events are read in one indexed range scan of `funnel_events` (with the user's country, acquisition
source or age band when broken down by it) and folded per user in Python; anonymous visitors have no users
row and no profile: their key is null.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from nexus_refserver.databases import Databases, as_utc, rfc3339
from nexus_refserver.funnel_attempts import Progress, user_progress
from nexus_refserver.generator import DATA_AS_OF
from nexus_refserver.report_query import at_or_after, before, date_range, parse_date, quoted, unprocessable
from nexus_refserver.schema import funnel_events, users
from nexus_refserver.schema_profiles import user_profiles

FUNNELS: dict[str, tuple[str, ...]] = {
    "registration": (
        "Visited homepage",
        "Clicked “Sign Up”",
        "Entered email/password",
        "Verified email",
        "Completed profile",
        "First session",
    ),
    "subject_to_purchase": (
        "Watched content",
        "Clicked on subject",
        "Viewed product in subject panel",
        "Added product to cart",
        "Proceeded to checkout",
        "Completed purchase",
    ),
    "content_discovery": (
        "Homepage visit",
        "Browsed content catalog",
        "Clicked on content",
        "Started watching",
        "Watched > 50% of content",
        "Added similar content to watchlist",
    ),
}
BREAKDOWNS = ("country", "acquisition_source", "age_band")
MAX_RANGE_DAYS = 366
DEFAULT_WINDOW_HOURS = 168  # 7 days
MAX_WINDOW_HOURS = 2160  # 90 days
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FunnelRequest:
    funnel: str
    date_from: date
    date_to: date
    window_hours: int = DEFAULT_WINDOW_HOURS
    breakdown: str | None = None
    step_window_hours: tuple[int, ...] | None = None

    @classmethod
    def parse(
        cls,
        *,
        funnel: str,
        date_from: str | None = None,
        date_to: str | None = None,
        days: int | None = None,
        window_hours: int = DEFAULT_WINDOW_HOURS,
        breakdown: str | None = None,
        step_window_hours: str | None = None,
    ) -> FunnelRequest:
        """The query parameters as given; a 422 problem with a sentence for the first one that is wrong."""
        name = funnel.strip().lower()
        if name not in FUNNELS:
            raise unprocessable(f"Unknown funnel {quoted(funnel)}; choose from {', '.join(FUNNELS)}.")
        if days is not None and not 1 <= days <= MAX_RANGE_DAYS:
            raise unprocessable(f"“days” must be from 1 to {MAX_RANGE_DAYS}, not {days}.")
        if not 1 <= window_hours <= MAX_WINDOW_HOURS:
            raise unprocessable(
                f"“window_hours” must be from 1 to {MAX_WINDOW_HOURS} (90 days), not {window_hours}."
            )
        chosen = breakdown.strip().lower() if breakdown else None
        if chosen is not None and chosen not in BREAKDOWNS:
            raise unprocessable(
                f"Unknown breakdown {quoted(breakdown or '')}; choose from {', '.join(BREAKDOWNS)}."
            )
        start, end = date_range(
            parse_date("from", date_from),
            parse_date("to", date_to),
            days,
            max_days=MAX_RANGE_DAYS,
            longest="a funnel covers at most a year",
        )
        return cls(name, start, end, window_hours, chosen, parse_step_windows(name, step_window_hours))


def parse_step_windows(funnel: str, text: str | None) -> tuple[int, ...] | None:
    """`24,2,168,48,24` → hours per step after the first; None when not given. A 422 sentence names the
    count the funnel needs or the first value that is wrong."""
    if text is None or not text.strip():
        return None
    parts = [part.strip() for part in text.split(",")]
    needed = len(FUNNELS[funnel]) - 1
    if len(parts) != needed:
        raise unprocessable(
            f"“step_window_hours” needs {needed} values for the {funnel} funnel (one per step after the "
            f"first, separated by commas), not {len(parts)}."
        )
    hours = []
    for number, part in enumerate(parts, start=2):
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int()
        if not (part.isascii() and part.isdigit()) or not 1 <= int(part) <= MAX_WINDOW_HOURS:
            raise unprocessable(
                f"“step_window_hours” value {number - 1} ({quoted(part)}, for step {number}) must be a whole "
                f"number of hours from 1 to {MAX_WINDOW_HOURS}."
            )
        hours.append(int(part))
    return tuple(hours)


def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def tally(results: Iterable[Progress], step_count: int) -> tuple[list[dict[str, Any]], int]:
    """The `steps` of a funnel result, and `still_in_window`."""
    reached = [0] * (step_count + 1)  # reached[k]: users whose furthest step is k
    dropped = [0] * (step_count + 1)
    durations: list[list[int]] = [[] for _ in range(step_count)]
    still = 0
    for result in results:
        furthest = len(result.times)
        reached[furthest] += 1
        if result.in_window:
            still += 1
        elif furthest < step_count:
            dropped[furthest + 1] += 1
        for index in range(1, furthest):
            durations[index].append(result.times[index] - result.times[0])
    users = [sum(reached[step:]) for step in range(1, step_count + 1)]
    steps = []
    for index, count in enumerate(users):
        previous = users[index - 1] if index else users[0]
        steps.append(
            {
                "step": index + 1,
                "users": count,
                "conversion_from_previous": _fraction(count, previous),
                "conversion_overall": _fraction(count, users[0]),
                "drop_off": dropped[index + 1],
                "median_seconds_to_convert": (
                    float(statistics.median(durations[index])) if index and durations[index] else None
                ),
            }
        )
    return steps, still


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _plus(instant: datetime, seconds: int) -> datetime:
    """`instant` + `seconds`, or the last representable instant (a `to` in year 9999)."""
    try:
        return instant + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _seconds(value: datetime) -> int:
    return int((as_utc(value) - _EPOCH).total_seconds())  # type: ignore[operator]


class FunnelQuery:
    def __init__(self, dbs: Databases) -> None:
        self._dbs = dbs

    def run(self, request: FunnelRequest) -> dict[str, Any]:
        """The funnel as `FunnelResult` describes it."""
        labels = FUNNELS[request.funnel]
        window_s = request.window_hours * 3600
        step_windows_s = None
        if request.step_window_hours is not None:
            step_windows_s = [hours * 3600 for hours in request.step_window_hours]
        entry_from, entry_to = _midnight(request.date_from), _midnight(request.date_to)
        per_user, groups = self._events(request, entry_from, _plus(entry_to, window_s))
        from_s, to_s = _seconds(entry_from), _seconds(entry_to)
        results: dict[int, Progress] = {}
        for user_id, steps in per_user.items():
            result = user_progress(steps, from_s, to_s, window_s, step_windows_s=step_windows_s)
            if result is not None:
                results[user_id] = result
        steps, still = tally(results.values(), len(labels))
        for step, label in zip(steps, labels, strict=True):
            step["label"] = label
        return {
            "generated_at": rfc3339(datetime.now(UTC)),
            "as_of": rfc3339(DATA_AS_OF),
            "funnel": request.funnel,
            "from": request.date_from.isoformat(),
            "to": request.date_to.isoformat(),
            "window_hours": request.window_hours,
            "step_window_hours": None
            if request.step_window_hours is None
            else list(request.step_window_hours),
            "steps": steps,
            "still_in_window": still,
            "breakdown": None if request.breakdown is None else _breakdown(results, groups, len(labels)),
        }

    def _events(
        self, request: FunnelRequest, start: datetime, end: datetime
    ) -> tuple[dict[int, list[list[int]]], dict[int, str | None]]:
        """Each user's step times (a list per step, ascending) in [start, end), and their breakdown keys."""
        engine = self._dbs.users
        dialect = engine.dialect.name
        e = funnel_events.c
        columns = [e.user_id, e.step, e.at]
        source: Any = funnel_events
        if request.breakdown == "country":
            columns.append(users.c.country)
            source = funnel_events.outerjoin(users, users.c.id == e.user_id)
        elif request.breakdown is not None:
            columns.append(user_profiles.c[request.breakdown])
            source = funnel_events.outerjoin(user_profiles, user_profiles.c.user_id == e.user_id)
        statement = (
            select(*columns)
            .select_from(source)
            .where(e.funnel == request.funnel, at_or_after(e.at, start, dialect), before(e.at, end, dialect))
            .order_by(e.at)  # the index's order: each step's times come ascending
        )
        step_count = len(FUNNELS[request.funnel])
        per_user: dict[int, list[list[int]]] = {}
        groups: dict[int, str | None] = {}
        with engine.connect() as conn:
            for row in conn.execute(statement):
                user_id, step = row[0], row[1]
                if not 1 <= step <= step_count:
                    continue
                steps = per_user.get(user_id)
                if steps is None:
                    steps = per_user[user_id] = [[] for _ in range(step_count)]
                    if len(row) > 3:
                        groups[user_id] = row[3]
                steps[step - 1].append(_seconds(row[2]))
        return per_user, groups


def _breakdown(
    results: dict[int, Progress], keys: dict[int, str | None], step_count: int
) -> list[dict[str, Any]]:
    """Users per step by breakdown key (null: visitors without a users row), the most entrants first."""
    groups: dict[str | None, list[int]] = {}
    for user_id, result in results.items():
        counts = groups.setdefault(keys.get(user_id), [0] * step_count)
        for index in range(len(result.times)):
            counts[index] += 1
    ordered = sorted(groups.items(), key=lambda item: (-item[1][0], item[0] is None, item[0] or ""))
    return [
        {"key": key, "steps": [{"step": index + 1, "users": n} for index, n in enumerate(counts)]}
        for key, counts in ordered
    ]

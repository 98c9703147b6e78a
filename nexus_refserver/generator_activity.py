"""Generated funnel step events and daily activity, consistent with the generated users.

One pass over the users (`user_tuples`, the same rows the users table holds) gives each user:

- active days (`user_activity`, from ACTIVITY_START): the signup day; then, while the user stays engaged
  (a heavy-tailed number of days), about every other day, less often after three weeks; and the day of
  `last_active_at`, always the last one. Nothing before the signup or after `last_active_at`. Day-1/7/30
  retention come out near 40/20/10 %.
- funnel journeys (`funnel_events`, starting from FUNNEL_START): registration for users who signed up
  since then (steps 1-2 before `signup_at`, step 3 at it, step 4 only for `email_verified` users), and
  subject-to-purchase and content-discovery journeys that start on some active days. Every step after the
  signup lands on an active day, at or before `last_active_at`; a step that would fall on a day without
  activity moves to the user's next active day, so some journeys take days or weeks.

Anonymous visitors (ids above VISITOR_ID_BASE, no users row) add registration's steps 1 and 2. Two random
streams, `_rng(seed, "user_activity")` and `_rng(seed, "funnel_events")`: tuning the journeys never shifts
the activity rows. Times are whole seconds.
"""

from __future__ import annotations

import bisect
import functools
import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from nexus_refserver.generator import DATA_AS_OF, DatasetSize, _insert_all, _rng, user_tuples
from nexus_refserver.schema import funnel_events, user_activity

DAY_S = 86_400
ACTIVITY_START = date(2025, 10, 1)  # 396 days of activity: a year of rows, each with its 30-day MAU window
FUNNEL_START = DATA_AS_OF - timedelta(days=365)
VISITOR_ID_BASE = 1_000_000_000
VISITORS_PER_SIGNUP = 3  # anonymous visitors who never sign up, per user who signed up since FUNNEL_START
MAX_JOURNEYS = 6  # per user and funnel: caps the events of the most active users
USERS_PER_BATCH = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_AS_OF_S = int((DATA_AS_OF - _EPOCH).total_seconds())
_FUNNEL_START_S = int((FUNNEL_START - _EPOCH).total_seconds())
_FIRST_DAY = ACTIVITY_START.toordinal() - _EPOCH_DAY  # days since the epoch, like every day below
_FUNNEL_FIRST_DAY = _FUNNEL_START_S // DAY_S
_HOUR = 3_600

# (chance of taking the step, chance it comes slowly, mean seconds when quick, slow range in seconds)
Step = tuple[float, float, float, int, int]
JOURNEYS: dict[str, tuple[float, tuple[Step, ...]]] = {
    # chance an active day starts a journey, then steps 2..6
    "subject_to_purchase": (
        0.12,
        (
            (0.40, 0.05, 360, _HOUR, 2 * DAY_S),  # clicked on subject
            (0.65, 0.00, 45, 0, 0),  # viewed product in subject panel
            (0.35, 0.15, 180, DAY_S, 10 * DAY_S),  # added product to cart
            (0.55, 0.30, 600, DAY_S, 14 * DAY_S),  # proceeded to checkout
            (0.80, 0.05, 120, _HOUR, 2 * DAY_S),  # completed purchase
        ),
    ),
    "content_discovery": (
        0.22,
        (
            (0.75, 0.00, 60, 0, 0),  # browsed content catalog
            (0.55, 0.05, 150, _HOUR, DAY_S),  # clicked on content
            (0.85, 0.00, 20, 0, 0),  # started watching
            (0.50, 0.10, 2_400, DAY_S, 5 * DAY_S),  # watched > 50 %
            (0.22, 0.40, 600, DAY_S, 20 * DAY_S),  # added similar content to watchlist
        ),
    ),
}
# registration after the signup (step 3): verified email (users.email_verified decides), profile, session
REGISTRATION_STEPS: tuple[Step, ...] = (
    (1.00, 0.25, 600, _HOUR, 20 * DAY_S),
    (0.70, 0.30, 900, _HOUR, 5 * DAY_S),
    (0.85, 0.35, 1_800, _HOUR, 10 * DAY_S),
)
VISITOR_SIGN_UP_CLICK = 0.35


# Engagement: a user stays engaged for a heavy-tailed number of days after the signup, P(more than n) =
# (1 + n) ** -LIFETIME_TAIL (73 % past day 1, 39 % past day 7, 21 % past day 30, 7 % past a year), and is
# active on an engaged day with a chance that fades after three weeks: D1/D7/D30 come out near 40/20/10 %.
LIFETIME_TAIL = 0.454
ENGAGED_ACTIVE = 0.55


def _engaged_rate(days_after_signup: int) -> float:
    return ENGAGED_ACTIVE * min(1.0, (21 / days_after_signup) ** 0.6)


# log(1 - rate) by day since signup, for geometric gaps; the table covers the users' 3 years of signups
_LOG_STAY = [0.0] + [math.log(1 - _engaged_rate(day)) for day in range(1, 3 * 366 + 400)]
_LAST_RATE_DAY = len(_LOG_STAY) - 1


def active_days(random_: random.Random, signup_day: int, last_day: int) -> list[int]:
    """A user's active days (days since the epoch) from ACTIVITY_START, ascending; the last is `last_day`."""
    if last_day < _FIRST_DAY:
        return []
    uniform = random_.random
    engaged_until = (1.0 - uniform()) ** (-1 / LIFETIME_TAIL) - 1  # days after the signup
    days = [signup_day] if signup_day >= _FIRST_DAY else []
    after = max(0, _FIRST_DAY - signup_day - 1)
    end = min(last_day - signup_day, engaged_until)
    while after < end:
        # the next active day: a geometric gap at the rate of the day after the previous one
        after += 1 + int(math.log(1.0 - uniform()) / _LOG_STAY[min(after + 1, _LAST_RATE_DAY)])
        if after >= end:
            break
        days.append(signup_day + after)
    if not days or days[-1] != last_day:
        days.append(last_day)
    return days


def _delay(random_: random.Random, step: Step) -> int:
    _, slow, mean_s, slow_from, slow_to = step
    if slow and random_.random() < slow:
        return random_.randint(slow_from, slow_to)
    return 1 + int(random_.expovariate(1 / mean_s))


class _Timeline:
    """When a user could act: at or after the signup, at or before `last_active_at`, on active days."""

    def __init__(self, signup_s: int, last_s: int, days: list[int]) -> None:
        self.signup_s = signup_s
        self.last_s = last_s
        self.days = days

    def time_on(self, random_: random.Random, day: int) -> int:
        low = max(day * DAY_S, self.signup_s)
        high = min(day * DAY_S + DAY_S - 1, self.last_s)
        return low + int(random_.random() * (high - low + 1))

    def later(self, random_: random.Random, previous_s: int, delay_s: int) -> int | None:
        """`delay_s` after `previous_s`, or a moment of the next active day; None after the last activity."""
        at = previous_s + delay_s
        if at > self.last_s:
            return None
        day = at // DAY_S
        index = bisect.bisect_left(self.days, day)
        if index == len(self.days):
            return None
        if self.days[index] == day:
            return at
        return self.time_on(random_, self.days[index])


def _journey(random_: random.Random, timeline: _Timeline, start_s: int, steps: tuple[Step, ...]) -> list[int]:
    """Times of steps 1.. of one journey, as far as the user got."""
    times = [start_s]
    for step in steps:
        if random_.random() >= step[0]:
            break
        at = timeline.later(random_, times[-1], _delay(random_, step))
        if at is None:
            break
        times.append(at)
    return times


def _registration(random_: random.Random, timeline: _Timeline, email_verified: bool) -> list[int]:
    """Steps 1-3 up to the signup; then verification (when users.email_verified says so), profile, session."""
    signup_s = timeline.signup_s
    clicked = signup_s - 1 - int(random_.expovariate(1 / 240))
    roll = random_.random()
    if roll < 0.70:
        visited = clicked - 1 - int(random_.expovariate(1 / 180))
    elif roll < 0.90:
        visited = clicked - random_.randint(_HOUR, 2 * DAY_S)
    else:  # came back days or weeks later: often outside a 7-day window
        visited = clicked - random_.randint(2 * DAY_S, 30 * DAY_S)
    times = [visited, clicked, signup_s]
    if not email_verified:
        return times
    verified = timeline.later(random_, signup_s, _delay(random_, REGISTRATION_STEPS[0]))
    times.append(timeline.last_s if verified is None else verified)  # verified by their last activity
    return times + _journey(random_, timeline, times[-1], REGISTRATION_STEPS[1:])[1:]


def _seconds(value: datetime) -> int:
    return int((value - _EPOCH).total_seconds())


EventRow = tuple[int, int, str, int, int]  # funnel_events: id, user_id, funnel, step, at (epoch seconds)
DayRow = tuple[int, int]  # user_activity: user_id, day (days since the epoch)


class _Rows:
    """Rows of both tables for one batch, with the running funnel event id."""

    def __init__(self, next_id: int) -> None:
        self.next_id = next_id
        self.events: list[EventRow] = []
        self.days: list[DayRow] = []

    def journey(self, user_id: int, funnel: str, times: list[int]) -> None:
        first = self.next_id
        self.events += [(first + index, user_id, funnel, index + 1, at) for index, at in enumerate(times)]
        self.next_id = first + len(times)


def activity_batches(seed: int, size: DatasetSize) -> Iterator[tuple[list[EventRow], list[DayRow]]]:
    """(funnel_events rows, user_activity rows) for consecutive batches of users, the visitors last."""
    day_rng = _rng(seed, "user_activity")
    event_rng = _rng(seed, "funnel_events")
    uniform = event_rng.random
    rows = _Rows(1)
    signups = 0
    for count, user in enumerate(user_tuples(seed, size.users), start=1):
        user_id, signup, last_active, email_verified = user[0], user[4], user[5], user[7]
        signup_s, last_s = _seconds(signup), _seconds(last_active)
        days = active_days(day_rng, signup_s // DAY_S, last_s // DAY_S)
        rows.days += [(user_id, day) for day in days]
        timeline = _Timeline(signup_s, last_s, days)
        if signup_s >= _FUNNEL_START_S:
            signups += 1
            rows.journey(user_id, "registration", _registration(event_rng, timeline, email_verified))
        for funnel, (start_chance, steps) in JOURNEYS.items():
            journeys = 0
            for day in days:
                if day < _FUNNEL_FIRST_DAY or uniform() >= start_chance:
                    continue
                start_s = timeline.time_on(event_rng, day)
                rows.journey(user_id, funnel, _journey(event_rng, timeline, start_s, steps))
                journeys += 1
                if journeys == MAX_JOURNEYS:
                    break
        if count % USERS_PER_BATCH == 0:
            yield rows.events, rows.days
            rows = _Rows(rows.next_id)
    span = _AS_OF_S - _FUNNEL_START_S
    for visitor in range(1, VISITORS_PER_SIGNUP * signups + 1):
        visited = _FUNNEL_START_S + int(uniform() * span)
        times = [visited]
        if uniform() < VISITOR_SIGN_UP_CLICK:
            clicked = visited + 1 + int(event_rng.expovariate(1 / 120))
            if clicked < _AS_OF_S:
                times.append(clicked)
        rows.journey(VISITOR_ID_BASE + visitor, "registration", times)
    yield rows.events, rows.days


@functools.cache
def _day_text(day: int) -> str:
    return date.fromordinal(_EPOCH_DAY + day).isoformat()


class _SqliteTimes:
    """UTC text as SQLAlchemy's SQLite DateTime reads it back (generator._sqlite_value's form), with the
    day and the time of day each formatted once: cheaper than formatting every event."""

    def __init__(self) -> None:
        self._clock: dict[int, str] = {}

    def __call__(self, at_s: int) -> str:
        day, second = divmod(at_s, DAY_S)
        clock = self._clock.get(second)
        if clock is None:
            clock = self._clock[second] = f"{second // 3_600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        return f"{_day_text(day)} {clock}"


def generate_activity(engine: Engine, seed: int, size: DatasetSize) -> None:
    """Insert the funnel events and daily activity of `size`'s users into empty tables."""
    if engine.dialect.name != "sqlite":
        for events, days in activity_batches(seed, size):
            _insert_all(engine, funnel_events, (_event_dict(row) for row in events))
            _insert_all(engine, user_activity, (_day_dict(row) for row in days))
        return
    # as generate_users: plain executemany, and the secondary indexes built once after the load
    as_text = _SqliteTimes()
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-200000")
        indexes = [*funnel_events.indexes, *user_activity.indexes]
        for index in indexes:
            index.drop(conn, checkfirst=True)
        for events, days in activity_batches(seed, size):
            if events:
                conn.exec_driver_sql(
                    "INSERT INTO funnel_events (id, user_id, funnel, step, at) VALUES (?, ?, ?, ?, ?)",
                    [(id_, user, funnel, step, as_text(at)) for id_, user, funnel, step, at in events],
                )
            if days:
                conn.exec_driver_sql(
                    "INSERT INTO user_activity (user_id, day) VALUES (?, ?)",
                    [(user_id, _day_text(day)) for user_id, day in days],
                )
        for index in indexes:
            index.create(conn)


def _event_dict(row: EventRow) -> dict:
    id_, user_id, funnel, step, at = row
    return {
        "id": id_,
        "user_id": user_id,
        "funnel": funnel,
        "step": step,
        "at": _EPOCH + timedelta(seconds=at),
    }


def _day_dict(row: DayRow) -> dict:
    return {"user_id": row[0], "day": date.fromordinal(_EPOCH_DAY + row[1])}

"""Uptime rollups: what the probe sweeps add up to per service, in whole seconds per UTC minute, hour and day.

Pure, no I/O. `UptimeRecorder` turns each service's stream of observations (its overall state in one probe
sweep) into `BucketTally`s; the store adds them into minute, hour and day rows and reads windows back as
`Tally`s. The rule the figures follow is `ACCOUNTING_RULE`, which the Uptime pane shows word for word.

Why whole seconds: a tally is a count that gets added up millions of times; integers never drift, and
flooring every timestamp to its second makes two intervals that meet share their boundary exactly, so the
seconds of consecutive intervals add up to the seconds between their ends.
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass
from enum import StrEnum

from nexus_console.domain.health import ServiceState

ACCOUNTING_RULE = (
    "Every probe sweep gives each service one state: down when any of its probes is down, timed out or "
    "failed; degraded when any is degraded; otherwise up. That state holds from its sweep until the next "
    "one, but for at most two poll intervals. Time past that, time the console was not running or not "
    "polling, and time a service's probe answers were stale count as no data, never as up. Degraded counts "
    "as available (it is shown amber); down counts against uptime. Uptime = (up + degraded) / (up + "
    "degraded + down): no-data time is left out of it and shown separately as coverage. Days and months are "
    "UTC calendar days and months. SLA target: 99.9 %."
)

SLA_TARGET = 0.999

MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86400

# How long the finer rows are kept (the store prunes them). The recorder writes time older than this
# straight into coarser buckets, so a long gap (a laptop closed for a month) is a few dozen tallies, not
# forty thousand minutes per service, and the finer rows are still complete wherever they are kept.
MINUTE_RETENTION_S = 2 * HOUR_S
HOUR_RETENTION_S = 8 * DAY_S


class Grain(StrEnum):
    """The size of a rollup bucket; a bucket starts at epoch seconds floored to its grain (UTC)."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def seconds(self) -> int:
        return _GRAIN_SECONDS[self]


_GRAIN_SECONDS = {Grain.MINUTE: MINUTE_S, Grain.HOUR: HOUR_S, Grain.DAY: DAY_S}


class TallyState(StrEnum):
    """What a second of a service's time counts as."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    NO_DATA = "no_data"


def tally_state(state: ServiceState) -> TallyState:
    """STALE probe answers say nothing about the service: no data."""
    if state is ServiceState.STALE:
        return TallyState.NO_DATA
    return TallyState(state.value)


@dataclass(frozen=True, slots=True)
class Tally:
    """Whole seconds of a service's time by what they count as."""

    up_s: int = 0
    degraded_s: int = 0
    down_s: int = 0
    no_data_s: int = 0

    @classmethod
    def of(cls, state: TallyState, seconds: int) -> Tally:
        return cls(**{f"{state.value}_s": seconds})

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.up_s + other.up_s,
            self.degraded_s + other.degraded_s,
            self.down_s + other.down_s,
            self.no_data_s + other.no_data_s,
        )

    @property
    def known_s(self) -> int:
        return self.up_s + self.degraded_s + self.down_s

    @property
    def available_s(self) -> int:
        return self.up_s + self.degraded_s

    @property
    def total_s(self) -> int:
        return self.known_s + self.no_data_s

    @property
    def uptime_ratio(self) -> float | None:
        """Available / known; None when nothing is known (no uptime to claim, and none to deny)."""
        known = self.known_s
        return self.available_s / known if known else None

    @property
    def coverage_ratio(self) -> float | None:
        """Known / (known + no data): how much of the time the uptime figure speaks for."""
        total = self.total_s
        return self.known_s / total if total else None


@dataclass(frozen=True, slots=True)
class BucketTally:
    """Seconds of one service in one bucket. The recorder uses minute buckets for the recent past and hour
    or day buckets only for time older than the finer grain's retention (see `split_by_age`)."""

    service: str
    grain: Grain
    start: int
    tally: Tally


def floor_to(t: float, grain_s: int) -> int:
    """The start of the bucket of `grain_s` seconds that holds epoch second `t` (UTC)."""
    second = math.floor(t)
    return second - second % grain_s


def ceil_to(t: float, grain_s: int) -> int:
    start = floor_to(t, grain_s)
    return start if start == math.ceil(t) else start + grain_s


def split_seconds(start: float, end: float, grain_s: int) -> list[tuple[int, int]]:
    """[start, end) as (bucket start, whole seconds) per bucket of `grain_s`, oldest first.

    Both ends are floored to whole seconds, so intervals that meet never lose or double a second."""
    first, last = math.floor(start), math.floor(end)
    if first >= last:
        return []
    pieces = []
    bucket = floor_to(first, grain_s)
    while bucket < last:
        seconds = min(last, bucket + grain_s) - max(first, bucket)
        pieces.append((bucket, seconds))
        bucket += grain_s
    return pieces


def split_by_age(start: float, end: float, now: float) -> list[tuple[Grain, int, int]]:
    """[start, end) as (grain, bucket start, seconds): minute buckets from the whole hour before
    `now - MINUTE_RETENTION_S` on, hour buckets from the whole day before `now - HOUR_RETENTION_S` on, day
    buckets before that. So the minute rows are complete for the last two hours and the hour rows for the
    last eight days, whatever the gap being closed."""
    hours_until = floor_to(now - MINUTE_RETENTION_S, HOUR_S)
    days_until = floor_to(now - HOUR_RETENTION_S, DAY_S)
    zones = (
        (Grain.DAY, start, min(end, days_until)),
        (Grain.HOUR, max(start, days_until), min(end, hours_until)),
        (Grain.MINUTE, max(start, hours_until), end),
    )
    return [
        (grain, bucket, seconds)
        for grain, low, high in zones
        if low < high
        for bucket, seconds in split_seconds(low, high, grain.seconds)
    ]


def covering_rows(start: int, end: int) -> list[tuple[Grain, int, int]]:
    """The rows that add up to [start, end): (grain, first bucket start, end) ranges, whole days as day
    rows, whole hours of the ragged ends as hour rows and the rest as minute rows. Both ends are taken to
    the minute (floored); a row counts only when its whole bucket is inside the window."""
    start, end = floor_to(start, MINUTE_S), floor_to(end, MINUTE_S)
    if start >= end:
        return []
    first_day, last_day = ceil_to(start, DAY_S), floor_to(end, DAY_S)
    if first_day >= last_day:
        return _hours_and_minutes(start, end)
    return [
        *_hours_and_minutes(start, first_day),
        (Grain.DAY, first_day, last_day),
        *_hours_and_minutes(last_day, end),
    ]


def _hours_and_minutes(start: int, end: int) -> list[tuple[Grain, int, int]]:
    first_hour, last_hour = ceil_to(start, HOUR_S), floor_to(end, HOUR_S)
    if first_hour >= last_hour:
        ranges = [(Grain.MINUTE, start, end)]
    else:
        ranges = [(Grain.MINUTE, start, first_hour), (Grain.HOUR, first_hour, last_hour)]
        ranges.append((Grain.MINUTE, last_hour, end))
    return [(grain, low, high) for grain, low, high in ranges if low < high]


class UptimeRecorder:
    """Each service's last observation, and the tallies each new one closes.

    An observation's state holds from its time until the next observation of the service, for at most
    `max_gap_s` (two poll intervals); the rest of the interval is no data. An observation at or before the
    service's last one (a repeat, or the clock stepping back) closes nothing and is ignored.
    """

    def __init__(self, max_gap_s: float) -> None:
        if max_gap_s <= 0:
            raise ValueError("max_gap_s must be positive")
        self.max_gap_s = max_gap_s
        self._last: dict[str, tuple[float, ServiceState]] = {}

    def observe(self, service: str, at: float, state: ServiceState) -> list[BucketTally]:
        """Record `state` seen at `at`; returns the tallies of the interval since the previous observation."""
        previous = self._last.get(service)
        if previous is not None and at <= previous[0]:
            return []
        self._last[service] = (at, state)
        if previous is None:
            return []
        previous_at, previous_state = previous
        held_until = min(at, previous_at + self.max_gap_s)
        merged: dict[tuple[Grain, int], Tally] = {}
        for low, high, counted in (
            (previous_at, held_until, tally_state(previous_state)),
            (held_until, at, TallyState.NO_DATA),
        ):
            for grain, bucket, seconds in split_by_age(low, high, now=at):
                merged[grain, bucket] = merged.get((grain, bucket), Tally()) + Tally.of(counted, seconds)
        return [BucketTally(service, grain, bucket, tally) for (grain, bucket), tally in merged.items()]

    def restore(self, service: str, last_at: float, last_state: ServiceState) -> None:
        """Resume from a persisted observation (after a restart): the next one closes the interval, so the
        time the console was not running becomes no data."""
        known = self._last.get(service)
        if known is None or known[0] < last_at:
            self._last[service] = (last_at, last_state)

    def last_observations(self) -> dict[str, tuple[float, ServiceState]]:
        """Every service's last observation (at, state), for persisting."""
        return dict(self._last)


# ---- windows ---------------------------------------------------------------------------------------


def day_start(t: float) -> int:
    """The start of the UTC day holding `t`."""
    return floor_to(t, DAY_S)


def hour_start(t: float) -> int:
    return floor_to(t, HOUR_S)


def month_bounds(year: int, month: int) -> tuple[int, int]:
    """The UTC calendar month as epoch seconds [start, end)."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)), calendar.timegm((next_year, next_month, 1, 0, 0, 0))


def month_of(t: float) -> tuple[int, int]:
    """(year, month) of the UTC month holding `t`."""
    moment = time.gmtime(t)
    return moment.tm_year, moment.tm_mon


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)

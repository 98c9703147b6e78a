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
from collections.abc import Iterable, Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class ServiceUptime:
    """One service's figures for the Uptime pane. Every tally is padded with no data for the part of its
    window nothing was recorded for (up to the report's `now`), so coverage is honest about time before
    the console first saw the service.

    `daily` is the last N UTC days, oldest first, today (so far) last; `first_day` is daily[0]'s start.
    `last_24h` and `last_7d` start at the whole hour 24 h (7 d) before the current hour, so they span
    24-25 h (7 d to 7 d 1 h): minute rows are only kept 2 h, so a window older than that can only start at
    a whole hour. `last_24h` is read from hour rows, `last_7d` from hour rows up to the next midnight and
    day rows after it. `last_30d` is the last 30 UTC days including today; `this_month` is the current
    UTC month so far, `last_month` the previous one.
    """

    service: str
    first_day: int
    daily: tuple[Tally, ...]
    last_24h: Tally
    last_7d: Tally
    last_30d: Tally
    this_month: Tally
    last_month: Tally


@dataclass(frozen=True, slots=True)
class ReportWindows:
    """The bounds of a report's windows at `now_s` (see ServiceUptime), and how rows become its tallies."""

    now_s: int
    first_day: int
    today: int
    day_ago: int
    week_ago: int
    thirty_days_start: int
    this_month_start: int
    last_month: tuple[int, int]
    day_spans: tuple[tuple[int, int], ...]  # (start, seconds up to now) of each day from `oldest_day` on

    @classmethod
    def at(cls, now: float, days: int) -> ReportWindows:
        today, current_hour, month, now_s = day_start(now), hour_start(now), month_of(now), math.floor(now)
        first_day, week_ago = today - (days - 1) * DAY_S, current_hour - 7 * DAY_S
        thirty_days_start, last_month = today - 29 * DAY_S, month_bounds(*previous_month(*month))
        oldest = min(first_day, ceil_to(week_ago, DAY_S), thirty_days_start, last_month[0])
        return cls(
            now_s=now_s,
            first_day=first_day,
            today=today,
            day_ago=current_hour - 24 * HOUR_S,
            week_ago=week_ago,
            thirty_days_start=thirty_days_start,
            this_month_start=month_bounds(*month)[0],
            last_month=last_month,
            day_spans=tuple((day, min(DAY_S, now_s - day)) for day in range(oldest, today + DAY_S, DAY_S)),
        )

    @property
    def week_days_start(self) -> int:
        """The last 7 days are hour rows from `week_ago` to here (the rest of that day), then day rows."""
        return ceil_to(self.week_ago, DAY_S)

    @property
    def oldest_day(self) -> int:
        """The first day row any window needs."""
        return self.day_spans[0][0]

    def service_uptime(
        self,
        service: str,
        days: Mapping[int, tuple[int, int, int, int]],
        last_24h: Sequence[int],
        week_head: Sequence[int],
        interned: dict[tuple[int, int, int, int], Tally] | None = None,
    ) -> ServiceUptime:
        """`days`: the service's day rows (up, degraded, down, no_data) by day start, from `oldest_day` on;
        `last_24h`: its hour rows summed from `day_ago` on; `week_head`: its hour rows summed in
        [`week_ago`, `week_days_start`).

        Each day is padded on its own, so a window's padded sum is the column sum of its padded days. A
        report builds 90,000 days: equal days share one Tally through `interned` (every service is observed
        by the same sweeps, so on most days most services have the very same tally).
        """
        now_s, oldest = self.now_s, self.oldest_day
        interned = {} if interned is None else interned
        row_of = days.get
        padded = [_padded_row(row_of(day), span) for day, span in self.day_spans]
        daily = []
        for row in padded[(self.first_day - oldest) // DAY_S :]:
            tally = interned.get(row)
            if tally is None:
                tally = interned[row] = Tally(*row)
            daily.append(tally)
        last_month = slice((self.last_month[0] - oldest) // DAY_S, (self.last_month[1] - oldest) // DAY_S)
        return ServiceUptime(
            service=service,
            first_day=self.first_day,
            daily=tuple(daily),
            last_24h=padded_tally(last_24h, now_s - self.day_ago),
            last_7d=padded_tally(week_head, self.week_days_start - self.week_ago)
            + _column_sums(padded[(self.week_days_start - oldest) // DAY_S :]),
            last_30d=_column_sums(padded[(self.thirty_days_start - oldest) // DAY_S :]),
            this_month=_column_sums(padded[(self.this_month_start - oldest) // DAY_S :]),
            last_month=_column_sums(padded[last_month]),
        )


def _padded_row(raw: tuple[int, int, int, int] | None, span_s: int) -> tuple[int, int, int, int]:
    if raw is None:
        return (0, 0, 0, span_s)
    up, degraded, down, no_data = raw
    missing = span_s - up - degraded - down - no_data
    return raw if missing <= 0 else (up, degraded, down, no_data + missing)


def _column_sums(rows: Sequence[tuple[int, int, int, int]]) -> Tally:
    if not rows:
        return Tally()
    columns = list(zip(*rows, strict=True))
    return Tally(sum(columns[0]), sum(columns[1]), sum(columns[2]), sum(columns[3]))


def padded_tally(raw: Sequence[int] | None, span_s: int) -> Tally:
    """A Tally of raw row sums (up, degraded, down, no_data), with the part of `span_s` that nothing was
    recorded for added as no data; `raw` None is an absent row."""
    up, degraded, down, no_data = raw if raw is not None else (0, 0, 0, 0)
    missing = span_s - (up + degraded + down + no_data)
    return Tally(int(up), int(degraded), int(down), int(no_data + max(0, missing)))


def meets_sla(tally: Tally, target: float = SLA_TARGET) -> bool | None:
    """Whether the uptime reaches `target`; None when nothing is known."""
    ratio = tally.uptime_ratio
    return None if ratio is None else ratio >= target


class BarLevel(StrEnum):
    NO_DATA = "no data"
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial outage"
    MAJOR_OUTAGE = "major outage"


MAJOR_OUTAGE_DOWN_S = 30 * MINUTE_S
DEGRADED_BAR_S = 5 * MINUTE_S


def bar_level(tally: Tally) -> BarLevel:
    """The colour of a daily bar: no data when nothing in the day is known; a major outage when the service
    was down for 30 min or more in the day; a partial outage when it was down at all; degraded when it was
    degraded for 5 min or more (a blip of amber is not worth a colour); else operational."""
    if not tally.known_s:
        return BarLevel.NO_DATA
    if tally.down_s >= MAJOR_OUTAGE_DOWN_S:
        return BarLevel.MAJOR_OUTAGE
    if tally.down_s > 0:
        return BarLevel.PARTIAL_OUTAGE
    if tally.degraded_s >= DEGRADED_BAR_S:
        return BarLevel.DEGRADED
    return BarLevel.OPERATIONAL


def sum_tallies(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total = total + tally
    return total

"""An uptime report's windows: one service's figures over the last 90 days, 24 h, 7 and 30 days, this and
last month, built from rollup rows; the SLA verdict and the colour of a daily bar."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from nexus_console.domain.uptime import (
    DAY_S,
    HOUR_S,
    MINUTE_S,
    SLA_TARGET,
    Tally,
    ceil_to,
    day_start,
    hour_start,
    month_bounds,
    month_of,
    previous_month,
)


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

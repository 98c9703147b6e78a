"""Uptime accounting: scripted probe histories with answers worked out by hand."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable

import pytest

from nexus_console.domain.health import ServiceState
from nexus_console.domain.uptime import (
    ACCOUNTING_RULE,
    DAY_S,
    HOUR_S,
    BucketTally,
    Grain,
    Tally,
    UptimeRecorder,
    covering_rows,
    day_start,
    month_bounds,
    split_by_age,
    split_seconds,
)
from nexus_console.domain.uptime_windows import BarLevel, ReportWindows, bar_level, meets_sla, sum_tallies
from tests.support.uptime_history import MAX_GAP_S, POLL_S, play, utc

UP, DEGRADED, DOWN, STALE = ServiceState.UP, ServiceState.DEGRADED, ServiceState.DOWN, ServiceState.STALE


def by_day(tallies: Iterable[BucketTally]) -> dict[int, Tally]:
    days: dict[int, Tally] = defaultdict(Tally)
    for item in tallies:
        days[day_start(item.start)] += item.tally
    return dict(days)


def test_the_seconds_of_intervals_that_meet_add_up_exactly_across_minute_boundaries() -> None:
    edges = [100.2, 159.9, 160.0, 219.7, 345.5, 346.1, 1000.9]
    pieces = [split_seconds(low, high, 60) for low, high in itertools.pairwise(edges)]
    assert sum(seconds for piece in pieces for _, seconds in piece) == 1000 - 100
    assert split_seconds(100.2, 219.7, 60) == [(60, 20), (120, 60), (180, 39)]
    assert split_seconds(50.0, 50.9, 60) == []


def test_an_outage_across_midnight_is_split_between_the_two_days() -> None:
    recorder = UptimeRecorder(MAX_GAP_S)
    midnight = utc(2026, 3, 11)
    tallies = play(
        recorder,
        "orders",
        [
            (midnight - HOUR_S, midnight - 600, UP),  # down from 23:50 ...
            (midnight - 600, midnight + 1200, DOWN),  # ... until 00:20
            (midnight + 1200, midnight + HOUR_S + POLL_S, UP),
        ],
    )
    days = by_day(tallies)
    assert days[midnight - DAY_S] == Tally(up_s=3000, down_s=600)
    assert days[midnight] == Tally(up_s=2400, down_s=1200)
    assert all(item.grain is Grain.MINUTE for item in tallies)


def test_polling_that_stops_for_ten_minutes_counts_as_no_data_not_up() -> None:
    recorder = UptimeRecorder(MAX_GAP_S)
    t0 = utc(2026, 3, 11, 9)
    tallies = play(recorder, "orders", [(t0, t0 + 600, UP)])  # last observation at t0 + 595
    tallies += recorder.observe("orders", t0 + 595 + 600, UP)  # polling resumes 10 min later
    assert sum_tallies(item.tally for item in tallies) == Tally(up_s=595 + 10, no_data_s=590)


def test_a_console_restart_gap_counts_as_no_data() -> None:
    before = UptimeRecorder(MAX_GAP_S)
    t0 = utc(2026, 3, 11, 9)
    play(before, "orders", [(t0, t0 + 60, DEGRADED)])
    saved = before.last_observations()
    assert saved == {"orders": (t0 + 55, DEGRADED)}

    after = UptimeRecorder(MAX_GAP_S)
    after.restore("orders", *saved["orders"])
    tallies = after.observe("orders", t0 + 55 + 3 * HOUR_S, UP)
    total = sum_tallies(item.tally for item in tallies)
    assert total == Tally(degraded_s=10, no_data_s=3 * HOUR_S - 10)


def test_degraded_time_counts_as_available_and_down_time_against() -> None:
    recorder = UptimeRecorder(MAX_GAP_S)
    t0 = utc(2026, 3, 11, 9)
    tallies = play(
        recorder, "orders", [(t0, t0 + 600, UP), (t0 + 600, t0 + 900, DEGRADED), (t0 + 900, t0 + 1005, DOWN)]
    )
    total = sum_tallies(item.tally for item in tallies)
    assert total == Tally(up_s=600, degraded_s=300, down_s=100)
    assert total.available_s == 900
    assert total.uptime_ratio == pytest.approx(0.9)
    assert total.coverage_ratio == 1.0


def test_stale_probe_answers_count_as_no_data() -> None:
    recorder = UptimeRecorder(MAX_GAP_S)
    t0 = utc(2026, 3, 11, 9)
    tallies = play(recorder, "orders", [(t0, t0 + 60, UP), (t0 + 60, t0 + 125, STALE)])
    assert sum_tallies(item.tally for item in tallies) == Tally(up_s=60, no_data_s=60)


def test_an_observation_at_or_before_the_last_one_closes_nothing() -> None:
    recorder = UptimeRecorder(MAX_GAP_S)
    t0 = utc(2026, 3, 11, 9)
    recorder.observe("orders", t0, UP)
    recorder.observe("orders", t0 + 5, DOWN)
    assert recorder.observe("orders", t0 + 5, UP) == []
    assert recorder.observe("orders", t0 + 1, UP) == []  # the clock stepped back
    assert recorder.last_observations() == {"orders": (t0 + 5, DOWN)}
    recorder.restore("orders", t0 - 100, UP)  # an older persisted observation does not win
    assert recorder.last_observations() == {"orders": (t0 + 5, DOWN)}


def test_a_month_long_gap_is_written_as_days_and_hours_not_forty_thousand_minutes() -> None:
    recorder = UptimeRecorder(MAX_GAP_S)
    t0 = utc(2026, 3, 1, 7, 30, 12)
    recorder.observe("orders", t0, UP)
    tallies = recorder.observe("orders", t0 + 30 * DAY_S, UP)
    assert sum_tallies(item.tally for item in tallies) == Tally(up_s=10, no_data_s=30 * DAY_S - 10)
    grains = {grain: sum(1 for item in tallies if item.grain is grain) for grain in Grain}
    assert grains[Grain.DAY] == 22  # 1 March from 07:30 (a partial day) to 22 March
    assert grains[Grain.HOUR] == 8 * 24 + 5  # 23 March 00:00 to 31 March 05:00
    assert grains[Grain.MINUTE] == 151  # 05:00 to 07:30:12
    # The finer rows stay complete where the store keeps them: minutes for the last 2 h, hours for 8 days.
    end = t0 + 30 * DAY_S
    minute_from = min(item.start for item in tallies if item.grain is Grain.MINUTE)
    hour_from = min(item.start for item in tallies if item.grain is Grain.HOUR)
    assert minute_from <= end - 2 * HOUR_S and hour_from <= end - 8 * DAY_S


def test_split_by_age_uses_minutes_only_for_recent_time() -> None:
    now = utc(2026, 3, 11, 12, 0, 30)
    assert {grain for grain, _, _ in split_by_age(now - 600, now, now)} == {Grain.MINUTE}
    assert {grain for grain, _, _ in split_by_age(now - 5 * HOUR_S, now, now)} == {Grain.HOUR, Grain.MINUTE}


def test_month_bounds_are_utc_calendar_months() -> None:
    assert month_bounds(2026, 12) == (utc(2026, 12, 1), utc(2027, 1, 1))
    start, end = month_bounds(2028, 2)
    assert (end - start) // DAY_S == 29


def test_a_window_is_read_from_whole_days_then_whole_hours_then_minutes() -> None:
    start, end = utc(2026, 3, 9, 22, 37, 20), utc(2026, 3, 11, 1, 13)
    assert covering_rows(start, end) == [
        (Grain.MINUTE, utc(2026, 3, 9, 22, 37), utc(2026, 3, 9, 23)),
        (Grain.HOUR, utc(2026, 3, 9, 23), utc(2026, 3, 10)),
        (Grain.DAY, utc(2026, 3, 10), utc(2026, 3, 11)),
        (Grain.HOUR, utc(2026, 3, 11), utc(2026, 3, 11, 1)),
        (Grain.MINUTE, utc(2026, 3, 11, 1), utc(2026, 3, 11, 1, 13)),
    ]
    assert covering_rows(utc(2026, 3, 9, 10, 5), utc(2026, 3, 9, 10, 50)) == [
        (Grain.MINUTE, utc(2026, 3, 9, 10, 5), utc(2026, 3, 9, 10, 50))
    ]


def test_no_data_is_left_out_of_uptime_and_shown_as_coverage() -> None:
    tally = Tally(up_s=8991, degraded_s=0, down_s=9, no_data_s=1000)
    assert tally.uptime_ratio == pytest.approx(0.999)
    assert tally.coverage_ratio == pytest.approx(0.9)
    assert meets_sla(tally) is True
    assert meets_sla(Tally(up_s=998, down_s=2)) is False
    assert meets_sla(Tally(no_data_s=DAY_S)) is None
    assert Tally(no_data_s=10).uptime_ratio is None and Tally().coverage_ratio is None


@pytest.mark.parametrize(
    ("tally", "level"),
    [
        (Tally(no_data_s=DAY_S), BarLevel.NO_DATA),
        (Tally(), BarLevel.NO_DATA),
        (Tally(up_s=DAY_S - 1800, down_s=1800), BarLevel.MAJOR_OUTAGE),
        (Tally(up_s=DAY_S - 1799, down_s=1799), BarLevel.PARTIAL_OUTAGE),
        (Tally(up_s=DAY_S - 300, degraded_s=300), BarLevel.DEGRADED),
        (Tally(up_s=DAY_S - 299, degraded_s=299), BarLevel.OPERATIONAL),
        (Tally(up_s=3600, no_data_s=DAY_S - 3600), BarLevel.OPERATIONAL),
    ],
)
def test_a_daily_bar_is_coloured_by_the_worst_that_happened_that_day(tally: Tally, level: BarLevel) -> None:
    assert bar_level(tally) == level


def test_report_windows_pad_unrecorded_time_as_no_data_and_start_the_day_window_at_a_whole_hour() -> None:
    now = utc(2026, 3, 11, 14, 20)
    windows = ReportWindows.at(now, days=90)
    assert windows.first_day == utc(2026, 3, 11) - 89 * DAY_S
    assert windows.day_ago == utc(2026, 3, 10, 14)
    assert windows.last_month == (utc(2026, 2, 1), utc(2026, 3, 1))
    figures = windows.service_uptime(
        "orders", {utc(2026, 3, 10): (DAY_S - 60, 0, 60, 0)}, (3600, 0, 0, 0), (3600, 0, 0, 0)
    )
    assert len(figures.daily) == 90
    assert figures.daily[-2] == Tally(up_s=DAY_S - 60, down_s=60)
    assert figures.daily[-1] == Tally(no_data_s=14 * HOUR_S + 20 * 60)  # today so far, nothing recorded
    assert figures.daily[0] == Tally(no_data_s=DAY_S)
    assert figures.last_24h == Tally(up_s=3600, no_data_s=24 * HOUR_S + 20 * 60 - 3600)
    assert figures.last_month == Tally(no_data_s=28 * DAY_S)
    assert figures.this_month.down_s == 60 and figures.this_month.total_s == now - utc(2026, 3, 1)
    # The last 7 days: hours from 4 March 14:00 to midnight (here 3600 s up), then whole days.
    assert windows.week_ago == utc(2026, 3, 4, 14) and windows.week_days_start == utc(2026, 3, 5)
    assert figures.last_7d == Tally(
        up_s=3600 + DAY_S - 60, down_s=60, no_data_s=now - windows.week_ago - DAY_S - 3600
    )


def test_the_accounting_rule_names_what_the_pane_must_say() -> None:
    for words in ("no data, never as up", "Degraded counts as available", "UTC", "99.9 %"):
        assert words in ACCOUNTING_RULE

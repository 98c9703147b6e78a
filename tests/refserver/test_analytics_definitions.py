"""The funnel, retention and activity definitions, pinned on hand-made events with answers worked out here.

Pure functions of `nexus_refserver.funnels` and `nexus_refserver.retention`, no database: times are plain
seconds (funnels) and dates (retention, activity). The HTTP tests check the same figures end to end.
"""

from __future__ import annotations

from datetime import date

import pytest

from nexus_refserver.funnel_attempts import Progress, furthest_attempt, user_progress
from nexus_refserver.funnels import tally
from nexus_refserver.retention import RetentionRequest, activity_trend, cohort_table, day_n_retention

WINDOW = 100
AS_OF = 10_000
RANGE = (0, 1_000)  # step 1 must be in [0, 1000)


def progress(*steps: list[int]) -> Progress | None:
    """A 4-step funnel user: the times of each step (padded with no events)."""
    padded = [sorted(times) for times in steps] + [[] for _ in range(4 - len(steps))]
    return user_progress(padded, *RANGE, WINDOW, AS_OF)


def test_steps_in_order_within_the_window_count() -> None:
    assert progress([10], [20], [30], [40]) == Progress([10, 20, 30, 40], in_window=False)


def test_a_step_before_the_one_it_follows_does_not_count() -> None:
    # step 3 at 30 came before step 2 (50): only steps 1-2; step 4 cannot follow a missing step 3
    assert progress([10], [50], [30], [60]) == Progress([10, 50], False)
    # step 2 before step 1: not a conversion at all
    assert progress([10], [5]) == Progress([10], False)


def test_a_step_after_the_window_does_not_count_and_the_window_end_itself_does() -> None:
    assert progress([10], [20], [111]) == Progress([10, 20], False)  # 101 s after step 1
    assert progress([10], [20], [110]) == Progress([10, 20, 110], False)  # exactly window_hours after


def test_a_step_at_the_same_second_as_the_previous_one_counts() -> None:
    assert progress([10], [10], [10]) == Progress([10, 10, 10], False)


def test_the_earliest_next_event_is_taken() -> None:
    # step 2 at 15 and 40: taking 40 would lose step 3 at 30
    assert progress([10], [15, 40], [30]) == Progress([10, 15, 30], False)


def test_the_attempt_that_got_furthest_counts_and_the_earliest_on_a_tie() -> None:
    assert progress([10, 500], [20, 510], [520]) == Progress([500, 510, 520], False)
    assert progress([10, 500], [20, 510]) == Progress([10, 20], False)
    assert furthest_attempt([[10, 500], [20, 510], [], []], [10, 500], WINDOW) == [10, 20]


def test_only_a_step_1_inside_the_range_enters() -> None:
    # the first attempt began before the range: its steps 2-3 do not count for the later entry
    assert progress([-50, 10], [-40], [-30]) == Progress([10], False)
    assert progress([1_000], [1_010]) is None  # `to` is exclusive
    assert progress([0], [1]) == Progress([0, 1], False)  # `from` is inclusive
    assert progress([], [20]) is None


def test_a_user_whose_window_is_still_open_is_in_window_until_they_finish() -> None:
    late = user_progress([[9_950], [9_960], [], []], 0, 10_000, WINDOW, AS_OF)
    assert late == Progress([9_950, 9_960], in_window=True)
    done = user_progress([[9_950], [9_960], [9_970], [9_980]], 0, 10_000, WINDOW, AS_OF)
    assert done == Progress([9_950, 9_960, 9_970, 9_980], in_window=False)
    # a window that closes exactly at as_of has closed
    closed = user_progress([[9_900], [], [], []], 0, 10_000, WINDOW, AS_OF)
    assert closed == Progress([9_900], in_window=False)
    # an older attempt got further, but the latest one is still open: the user may still go on
    both = user_progress([[100, 9_990], [110], [120], []], 0, 10_000, WINDOW, AS_OF)
    assert both == Progress([100, 110, 120], in_window=True)


def stepped(
    *steps: list[int], windows: tuple[int, int, int] = (10, 10, 10), as_of: int = AS_OF
) -> Progress | None:
    """The same 4-step funnel with a window per step (seconds after the step before) besides WINDOW."""
    padded = [sorted(times) for times in steps] + [[] for _ in range(4 - len(steps))]
    return user_progress(padded, 0, AS_OF, WINDOW, as_of, step_windows_s=windows)  # entering up to as_of


def test_a_step_must_come_within_its_own_window_of_the_step_before() -> None:
    assert stepped([10], [20], [30], [40]) == Progress([10, 20, 30, 40], False)  # each exactly 10 s later
    assert stepped([10], [21]) == Progress([10], False)  # 11 s after step 1: outside step 2's window
    assert stepped([10], [20], [31]) == Progress([10, 20], False)
    # a narrow window for step 3 only
    assert stepped([10], [50], [52], [90], windows=(40, 5, 40)) == Progress([10, 50, 52, 90], False)
    assert stepped([10], [50], [56], windows=(40, 5, 40)) == Progress([10, 50], False)


def test_the_whole_funnels_window_still_holds_with_step_windows() -> None:
    # each step within its 60 s, but step 3 at 115 is 105 s after step 1 (WINDOW is 100)
    assert stepped([10], [60], [115], windows=(60, 60, 60)) == Progress([10, 60], False)
    assert stepped([10], [60], [110], windows=(60, 60, 60)) == Progress([10, 60, 110], False)


def test_a_later_step_can_count_when_the_earliest_one_leaves_the_next_step_out_of_its_window() -> None:
    # step 2 at 12 and 30: from 12, step 3 (38) is 26 s later, outside its 10 s; from 30 it is 8 s later.
    # The earliest step 2 is still the time the user reached step 2.
    assert stepped([10], [12, 30], [38], windows=(30, 10, 10)) == Progress([10, 12, 38], False)
    assert furthest_attempt([[10], [12, 30], [38], []], [10], WINDOW, [30, 10, 10]) == [10, 12, 38]
    # without step windows the greedy earliest path gives the same answer here
    assert furthest_attempt([[10], [12, 30], [38], []], [10], WINDOW) == [10, 12, 38]


def test_a_user_is_in_window_while_their_next_steps_window_is_open() -> None:
    # step 2 at 9_995, as_of 10_000: step 3's 10 s window is open until 10_005
    assert stepped([9_990], [9_995], windows=(10, 10, 10)) == Progress([9_990, 9_995], in_window=True)
    # step 2's window closed at 9_990 + 5 < as_of, though the whole funnel's (100 s) is open
    assert stepped([9_985], windows=(5, 10, 10)) == Progress([9_985], in_window=False)
    # a later step 2 keeps step 3's window open: 9_999 + 10 > as_of
    assert stepped([9_990], [9_991, 9_999], windows=(10, 10, 10)) == Progress([9_990, 9_991], in_window=True)


def test_tally_counts_users_drop_offs_and_medians() -> None:
    results = [
        Progress([0, 10, 20, 30], False),  # finished: 10, 20, 30 s to steps 2-4
        Progress([0, 20, 60, 100], False),  # finished: 20, 60, 100 s
        Progress([0, 30, 40], False),  # dropped before step 4
        Progress([0, 40], False),  # dropped before step 3
        Progress([0], False),  # dropped before step 2
        Progress([0], False),  # dropped before step 2
        Progress([0, 5], True),  # still in window: no drop-off anywhere
    ]
    steps, still = tally(results, 4)
    assert still == 1
    assert [s["users"] for s in steps] == [7, 5, 3, 2]
    assert [s["drop_off"] for s in steps] == [0, 2, 1, 1]
    # still-in-window users stay in the denominators: 5 of 7 reached step 2
    assert [s["conversion_from_previous"] for s in steps] == [1.0, 0.7143, 0.6, 0.6667]
    assert [s["conversion_overall"] for s in steps] == [1.0, 0.7143, 0.4286, 0.2857]
    # step 2: 10, 20, 30, 40, 5 -> 20; step 3: 20, 60, 40 -> 40; step 4: 30, 100 -> 65
    assert [s["median_seconds_to_convert"] for s in steps] == [None, 20.0, 40.0, 65.0]
    assert steps[0]["users"] == steps[-1]["users"] + sum(s["drop_off"] for s in steps) + still


def test_tally_of_nobody() -> None:
    steps, still = tally([], 3)
    assert still == 0
    alone = tally([Progress([0], False)], 3)[0]  # nobody reached step 2: no rate divides by zero
    assert [(s["users"], s["conversion_from_previous"], s["drop_off"]) for s in alone] == [
        (1, 1.0, 0), (0, 0.0, 1), (0, 0.0, 0),
    ]  # fmt: skip
    assert steps[1] == {
        "step": 2,
        "users": 0,
        "conversion_from_previous": 0.0,
        "conversion_overall": 0.0,
        "drop_off": 0,
        "median_seconds_to_convert": None,
    }


# --- retention ----------------------------------------------------------------------------------------------

D = date.fromisoformat
SIGNUPS = {
    1: D("2026-10-05"),  # Monday: cohort 2026-10-05
    2: D("2026-10-11"),  # Sunday: the same cohort
    3: D("2026-10-06"),
    4: D("2026-10-18"),  # cohort 2026-10-12
    5: D("2026-10-26"),  # its week is not over by as_of (2026-11-01 00:00): no cohort
    6: D("2026-09-28"),  # before the first of 3 cohorts
}
ACTIVITY = [
    (1, D("2026-10-05")), (1, D("2026-10-13")), (1, D("2026-10-27")),
    (2, D("2026-10-11")), (2, D("2026-10-20")),
    (3, D("2026-10-06")), (3, D("2026-11-01")),  # as_of's own day is not over: not counted
    (4, D("2026-10-18")), (4, D("2026-10-19")),
    (5, D("2026-10-26")), (6, D("2026-10-07")),
]  # fmt: skip


def test_weekly_cohorts_active_on_a_period() -> None:
    rows = cohort_table(RetentionRequest("week", 3, 4, "on"), SIGNUPS, ACTIVITY)
    assert rows == [
        # week 1: user 1; week 2: user 2; week 3 (from 2026-10-26) is not over
        {"cohort": "2026-10-05", "size": 3, "values": [1.0, 0.3333, 0.3333, None]},
        {"cohort": "2026-10-12", "size": 1, "values": [1.0, 1.0, None, None]},
        {"cohort": "2026-10-19", "size": 0, "values": [0.0, None, None, None]},
    ]


def test_weekly_cohorts_active_on_or_after_a_period() -> None:
    rows = cohort_table(RetentionRequest("week", 3, 4, "on_or_after"), SIGNUPS, ACTIVITY)
    # users 1 and 2 were active in week 1 or later; user 1's 2026-10-27 (an unfinished week) still counts
    # for week 2's "or after"; user 3's day on as_of does not
    assert rows[0] == {"cohort": "2026-10-05", "size": 3, "values": [1.0, 0.6667, 0.6667, None]}
    assert rows[1] == {"cohort": "2026-10-12", "size": 1, "values": [1.0, 1.0, None, None]}


def test_monthly_and_daily_cohorts() -> None:
    months = cohort_table(RetentionRequest("month", 2, 3, "on"), SIGNUPS, ACTIVITY)
    assert months == [
        {"cohort": "2026-09", "size": 1, "values": [0.0, 1.0, None]},  # user 6: active in October only
        {"cohort": "2026-10", "size": 5, "values": [1.0, None, None]},  # users 1-5
    ]
    days = cohort_table(RetentionRequest("day", 2, 2, "on"), {7: D("2026-10-30"), 8: D("2026-10-31")},
                        [(7, D("2026-10-30")), (7, D("2026-10-31")), (8, D("2026-10-31"))])  # fmt: skip
    assert days == [
        {"cohort": "2026-10-30", "size": 1, "values": [1.0, 1.0]},
        {"cohort": "2026-10-31", "size": 1, "values": [1.0, None]},
    ]


QUARTER_SIGNUPS = {
    16: D("2025-12-31"),  # cohort 2025-Q4, the first quarter of the activity history
    11: D("2026-01-15"),  # cohort 2026-Q1
    12: D("2026-03-31"),  # its last day: the same cohort
    13: D("2026-04-01"),  # its first day: cohort 2026-Q2
    14: D("2026-09-30"),  # cohort 2026-Q3, the last quarter over by as_of (2026-11-01)
    15: D("2026-10-01"),  # 2026-Q4 is not over: no cohort
}
QUARTER_ACTIVITY = [
    (16, D("2026-02-01")),
    (11, D("2026-01-15")), (11, D("2026-07-04")),
    (12, D("2026-03-31")), (12, D("2026-04-01")), (12, D("2026-10-20")),  # 2026-10-20: in 2026-Q4
    (13, D("2026-04-01")), (13, D("2026-06-30")), (13, D("2026-09-01")), (13, D("2026-11-01")),
    (14, D("2026-10-02")),
    (15, D("2026-10-01")),
]  # fmt: skip


def test_quarterly_cohorts_active_on_a_period() -> None:
    rows = cohort_table(RetentionRequest("quarter", 4, 4, "on"), QUARTER_SIGNUPS, QUARTER_ACTIVITY)
    assert rows == [
        # user 16 was active in 2026-Q1 only: period 1; its four quarters are all over
        {"cohort": "2025-Q4", "size": 1, "values": [0.0, 1.0, 0.0, 0.0]},
        # 11 and 12 in Q1; 12 in Q2, 11 in Q3; Q4 is not over
        {"cohort": "2026-Q1", "size": 2, "values": [1.0, 0.5, 0.5, None]},
        # user 13 in Q2 and Q3 (their day on as_of is not counted)
        {"cohort": "2026-Q2", "size": 1, "values": [1.0, 1.0, None, None]},
        {"cohort": "2026-Q3", "size": 1, "values": [0.0, None, None, None]},  # user 14, active only in Q4
    ]


def test_quarterly_cohorts_active_on_or_after_a_period() -> None:
    rows = cohort_table(RetentionRequest("quarter", 4, 4, "on_or_after"), QUARTER_SIGNUPS, QUARTER_ACTIVITY)
    assert rows == [
        {"cohort": "2025-Q4", "size": 1, "values": [1.0, 1.0, 0.0, 0.0]},
        # user 12's day in the unfinished 2026-Q4 counts for Q3's "or after", as for weeks
        {"cohort": "2026-Q1", "size": 2, "values": [1.0, 1.0, 1.0, None]},
        {"cohort": "2026-Q2", "size": 1, "values": [1.0, 1.0, None, None]},
        {"cohort": "2026-Q3", "size": 1, "values": [1.0, None, None, None]},
    ]


def test_quarterly_retention_defaults_to_the_four_quarters_of_the_history() -> None:
    assert RetentionRequest.parse(grain="quarter") == RetentionRequest("quarter", 4, 4, "on")
    assert RetentionRequest.parse(grain="Quarter", cohorts=2, periods=3) == RetentionRequest("quarter", 2, 3)


def test_day_n_retention_counts_only_users_whose_day_n_is_over() -> None:
    signups = {
        1: D("2026-10-01"),  # active on day 1
        2: D("2026-10-30"),  # day 1 is 2026-10-31, over by as_of: active on it
        3: D("2026-10-31"),  # day 1 is as_of's own day: not counted
        4: D("2025-09-30"),  # signed up before the activity history: not counted
        5: D("2026-10-20"),  # not active on day 1; active on day 7
    }
    active = {(1, D("2026-10-02")), (2, D("2026-10-31")), (4, D("2025-10-01")), (5, D("2026-10-27"))}
    assert day_n_retention(1, signups, active) == 0.6667
    assert day_n_retention(7, signups, active) == 0.5  # users 1 and 5 have a day 7 that is over
    assert day_n_retention(30, {}, set()) == 0.0


def test_daily_weekly_and_monthly_active_users() -> None:
    rows = sorted(
        [
            (1, D("2026-10-02")), (1, D("2026-10-25")), (1, D("2026-10-31")),
            (2, D("2026-10-30")),
            (4, D("2026-10-01")),  # in 2026-10-30's 30 days, not in 2026-10-31's
            (3, D("2026-09-29")),  # before every window asked for
            (5, D("2026-11-01")),  # as_of's own day
        ],
        key=lambda row: row[1],
    )  # fmt: skip
    assert activity_trend(rows, 3) == [
        {"day": "2026-10-29", "dau": 0, "wau": 1, "mau": 2},
        {"day": "2026-10-30", "dau": 1, "wau": 2, "mau": 3},
        {"day": "2026-10-31", "dau": 1, "wau": 2, "mau": 2},
    ]


@pytest.mark.parametrize("days", [1, 7, 366])
def test_one_row_a_day_ending_the_day_before_as_of(days: int) -> None:
    rows = activity_trend([], days)
    assert len(rows) == days
    assert rows[-1]["day"] == "2026-10-31"

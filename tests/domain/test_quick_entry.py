"""The quick-entry line: "14:32 restarted the order processor" puts the entry at 14:32 of the right day,
in the user's zone, across daylight-saving changes too."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from nexus_console.domain.quick_entry import QuickEntry, QuickEntryError, parse_quick_entry

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def local(epoch_s: float, zone: ZoneInfo = BERLIN) -> str:
    return datetime.fromtimestamp(epoch_s, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


NOW = datetime(2026, 12, 6, 15, 0, tzinfo=BERLIN)


def test_a_time_of_day_earlier_today_is_today() -> None:
    entry = parse_quick_entry("14:32 restarted the order processor", now=NOW)
    assert entry == QuickEntry(
        datetime(2026, 12, 6, 14, 32, tzinfo=BERLIN).timestamp(), "restarted the order processor"
    )


def test_seconds_may_be_given() -> None:
    entry = parse_quick_entry("14:32:10 failover done", now=NOW)
    assert local(entry.at) == "2026-12-06 14:32:10 CET"


def test_a_time_up_to_five_minutes_ahead_is_still_today() -> None:
    assert local(parse_quick_entry("15:05 paged the DBA", now=NOW).at) == "2026-12-06 15:05:00 CET"


def test_a_time_more_than_five_minutes_ahead_is_the_most_recent_one_yesterday() -> None:
    assert local(parse_quick_entry("15:06 deploy started", now=NOW).at) == "2026-12-05 15:06:00 CET"
    assert local(parse_quick_entry("23:50 deploy started", now=NOW).at) == "2026-12-05 23:50:00 CET"


def test_yesterday_and_an_explicit_date_name_the_day() -> None:
    assert local(parse_quick_entry("yesterday 23:50 cron ran", now=NOW).at) == "2026-12-05 23:50:00 CET"
    assert local(parse_quick_entry("Yesterday 09:00:30 cron ran", now=NOW).at) == "2026-12-05 09:00:30 CET"
    assert (
        local(parse_quick_entry("2026-12-01 23:50 config changed", now=NOW).at) == "2026-12-01 23:50:00 CET"
    )
    assert parse_quick_entry("2026-12-01 23:50 config changed", now=NOW).text == "config changed"


def test_minutes_and_hours_ago_count_back_from_now() -> None:
    assert parse_quick_entry("-5m rolled back", now=NOW) == QuickEntry(NOW.timestamp() - 300, "rolled back")
    assert parse_quick_entry("-2h first report", now=NOW).at == NOW.timestamp() - 7200


def test_a_line_without_a_time_is_now() -> None:
    assert parse_quick_entry("  customer support reports failed payments ", now=NOW) == QuickEntry(
        NOW.timestamp(), "customer support reports failed payments"
    )
    # "yesterday" followed by words, not a time, is just text
    assert parse_quick_entry("Yesterday's deploy is suspect", now=NOW).at == NOW.timestamp()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("25:00 restarted", "25:00 is not a time of day."),
        ("14:60 restarted", "14:60 is not a time of day."),
        ("3:15pm restarted", "3:15pm is not a time of day."),
        ("14:32", "Write what happened after the time."),
        ("-5m   ", "Write what happened after the time."),
        ("   ", "Write what happened."),
        ("2026-02-30 10:00 x", "2026-02-30 is not a date."),
        ("2026-12-01 restarted", "Give a time of day after 2026-12-01, for example 2026-12-01 14:32."),
        ("2026-12-07 09:00 planned fix", "2026-12-07 09:00 is in the future."),
        ("today 16:00 planned fix", "today 16:00 is in the future."),
    ],
)
def test_a_line_that_cannot_be_entered_says_why_in_a_sentence(line: str, message: str) -> None:
    with pytest.raises(QuickEntryError) as raised:
        parse_quick_entry(line, now=NOW)
    assert str(raised.value) == message


def test_now_must_carry_its_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_quick_entry("14:32 x", now=datetime(2026, 12, 6, 15, 0))


# --- daylight saving (Europe/London: clocks go forward 29 Mar 2026 01:00 GMT, back 25 Oct 2026 02:00 BST) ---


def test_yesterday_across_the_spring_change_is_the_wall_time_in_winter_time() -> None:
    now = datetime(2026, 3, 29, 9, 0, tzinfo=LONDON)  # 08:00 UTC, summer time
    entry = parse_quick_entry("yesterday 23:50 error rate rose", now=now)
    assert entry.at == utc(2026, 3, 28, 23, 50)
    assert local(entry.at, LONDON) == "2026-03-28 23:50:00 GMT"


def test_a_time_of_day_on_the_spring_change_day_uses_that_days_offset() -> None:
    now = datetime(2026, 3, 29, 9, 0, tzinfo=LONDON)
    assert parse_quick_entry("00:30 paged", now=now).at == utc(2026, 3, 29, 0, 30)  # GMT
    assert parse_quick_entry("03:30 paged", now=now).at == utc(2026, 3, 29, 2, 30)  # BST


def test_a_wall_time_the_clocks_skipped_lands_just_after_the_change() -> None:
    now = datetime(2026, 3, 29, 9, 0, tzinfo=LONDON)
    entry = parse_quick_entry("01:30 paged", now=now)
    assert local(entry.at, LONDON) == "2026-03-29 02:30:00 BST"


def test_hours_ago_across_a_change_count_real_hours() -> None:
    now = datetime(2026, 3, 29, 3, 0, tzinfo=LONDON)  # 02:00 UTC
    assert parse_quick_entry("-2h first report", now=now).at == utc(2026, 3, 29, 0, 0)


def test_a_wall_time_that_happened_twice_is_the_most_recent_one_not_ahead() -> None:
    # 01:40 GMT, the second 01:40 of 25 Oct: "01:35" is five minutes ago, not an hour and five.
    second_pass = datetime(2026, 10, 25, 1, 40, tzinfo=LONDON, fold=1)
    assert parse_quick_entry("01:35 failover", now=second_pass).at == utc(2026, 10, 25, 1, 35)
    # 01:40 BST, the first pass: the GMT 01:35 is still 55 minutes ahead, so it is the BST one.
    first_pass = datetime(2026, 10, 25, 1, 40, tzinfo=LONDON, fold=0)
    assert parse_quick_entry("01:35 failover", now=first_pass).at == utc(2026, 10, 25, 0, 35)

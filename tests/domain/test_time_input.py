"""A filter's time typed as a person would, sent as the RFC 3339 time the API takes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nexus_console.domain.time_input import TimeInputError, parse_time_input

NOW = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("2h", "2026-12-06T12:30:00Z"),
        ("90 min", "2026-12-06T13:00:00Z"),
        ("7d ago", "2026-11-29T14:30:00Z"),
        ("1w", "2026-11-29T14:30:00Z"),
        ("now", "2026-12-06T14:30:00Z"),
        ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z"),
        ("2026-12-01T09:00:00+01:00", "2026-12-01T08:00:00Z"),
    ],
)
def test_relative_and_exact_times(typed: str, sent: str) -> None:
    assert parse_time_input(typed, NOW) == sent


def test_a_date_or_a_date_and_time_is_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Oslo")
    import time

    time.tzset()
    try:
        assert parse_time_input("2026-12-01", NOW) == "2026-11-30T23:00:00Z"
        assert parse_time_input("2026-12-01 14:30", NOW) == "2026-12-01T13:30:00Z"
        assert parse_time_input("today", NOW) == "2026-12-05T23:00:00Z"
        assert parse_time_input("yesterday", NOW) == "2026-12-04T23:00:00Z"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_now_keeps_its_fraction_of_a_second() -> None:
    assert parse_time_input("now", NOW.replace(microsecond=250_000)) == "2026-12-06T14:30:00.250000Z"


def test_text_that_is_no_time_says_what_is_accepted() -> None:
    with pytest.raises(TimeInputError, match="type 2h, 7d, today"):
        parse_time_input("last tuesday", NOW)
    with pytest.raises(TimeInputError):
        parse_time_input("01/02/2026", NOW)

"""The GDPR Art. 12(3) clock: one month from receipt, across month ends and leap years, three after an
extension; overdue requests first, then the least time left."""

from __future__ import annotations

from datetime import date

import pytest

from nexus_console.domain.dsar import DataSubjectRequest, add_months, register


@pytest.mark.parametrize(
    ("received", "months", "due"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # February has no 31st
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # a leap year
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 10), 1, date(2027, 1, 10)),  # across the year end
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # extended: three months
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
    ],
)
def test_a_month_is_the_same_day_or_the_last_day_of_a_shorter_month(
    received: date, months: int, due: date
) -> None:
    assert add_months(received, months) == due


def request(
    id_: int, received: date, status: str = "open", answered: date | None = None
) -> DataSubjectRequest:
    return DataSubjectRequest(id_, "access", f"user{id_}@example.com", received, status, answered)


def test_the_clock_reads_days_left_due_today_or_overdue() -> None:
    today = date(2026, 12, 7)
    assert request(1, date(2026, 11, 20)).clock_text(today) == "13 days left (due 20 Dec 2026)"
    assert request(2, date(2026, 11, 7)).clock_text(today) == "due today (07 Dec 2026)"
    assert request(3, date(2026, 11, 6)).clock_text(today) == "overdue by 1 day (due 06 Dec 2026)"
    assert request(4, date(2026, 10, 1)).clock_text(today) == "overdue by 36 days (due 01 Nov 2026)"


def test_an_extension_moves_the_deadline_to_three_months() -> None:
    today = date(2026, 12, 7)
    extended = request(5, date(2026, 10, 1), "extended")
    assert extended.due() == date(2027, 1, 1) and extended.days_left(today) == 25


def test_an_answer_after_the_deadline_is_marked_late() -> None:
    answered = request(6, date(2026, 10, 1), "completed", date(2026, 11, 3))
    assert answered.clock_text(date(2026, 12, 7)) == "completed 2026-11-03 (late)"


def test_the_register_puts_overdue_first_then_least_time_left_then_the_answered() -> None:
    today = date(2026, 12, 7)
    items = [
        request(1, date(2026, 11, 20)),
        request(2, date(2026, 10, 1)),
        request(3, date(2026, 11, 30)),
        request(4, date(2026, 10, 1), "completed", date(2026, 10, 20)),
        request(5, date(2026, 11, 6)),
    ]
    assert [r.id for r in register(items, today)] == [2, 5, 1, 3, 4]

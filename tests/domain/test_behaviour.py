"""Funnel choices and their reading: a window per step as typed, and a breakdown as a table."""

from __future__ import annotations

import pytest

from nexus_console.domain.behaviour import Funnel, parse_step_windows


@pytest.mark.parametrize(
    ("text", "hours"),
    [("", ()), ("  ", ()), ("24, 2,168", (24, 2, 168)), ("24 2 168", (24, 2, 168)), ("1;48", (1, 48))],
)
def test_step_windows_are_read_as_people_type_them(text: str, hours: tuple[int, ...]) -> None:
    assert parse_step_windows(text) == hours


@pytest.mark.parametrize(("text", "bad"), [("24, 2h", "2h"), ("0, 24", "0"), ("-3", "-3"), ("1.5", "1.5")])
def test_a_step_window_that_is_not_whole_hours_is_refused_with_a_sentence(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"“{bad}” is not a whole number of hours"):
        parse_step_windows(text)


def funnel_body(breakdown: list[dict] | None) -> dict:
    steps = [
        {"step": i, "label": label, "users": users, "conversion_from_previous": 0.5,
         "conversion_overall": 0.5, "drop_off": 0, "median_seconds_to_convert": None}
        for i, (label, users) in enumerate((("Visited", 100), ("Signed up", 40)), start=1)
    ]  # fmt: skip
    return {
        "funnel": "registration", "from": "2026-10-02", "to": "2026-11-01", "window_hours": 168,
        "step_window_hours": [24], "steps": steps, "still_in_window": 0, "as_of": "2026-11-01T00:00:00Z",
        "breakdown": breakdown,
    }  # fmt: skip


def test_a_breakdown_reads_as_a_row_per_group_with_the_share_that_completed() -> None:
    funnel = Funnel.from_json(
        funnel_body(
            [
                {"key": "social", "steps": [{"step": 1, "users": 60}, {"step": 2, "users": 30}]},
                {"key": None, "steps": [{"step": 1, "users": 40}, {"step": 2, "users": 0}]},
            ]
        )
    )
    table = funnel.breakdown_table("acquisition_source")
    assert table is not None
    assert table.columns == ("Acquisition source", "1. Visited", "2. Signed up", "Completed")
    assert table.rows == (("social", 60, 30, "50.0 %"), ("Visitors without an account", 40, 0, "0.0 %"))
    assert "each step within 1 d of the one before" in funnel.summary()


def test_without_a_breakdown_there_is_no_breakdown_table() -> None:
    assert Funnel.from_json(funnel_body(None)).breakdown_table("country") is None

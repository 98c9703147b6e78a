"""A live chart's value range: round, from zero for non-negative data, and steady while the data fits."""

from __future__ import annotations

import pytest

from nexus_console.domain.chart_range import round_up, steady_range


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.7, 1.0), (1.0, 1.0), (1.2, 2.0), (2.2, 2.5), (3.1, 5.0), (9.9, 10.0), (47.0, 50.0), (0.031, 0.05)],
)
def test_a_range_ends_on_a_round_number(value: float, expected: float) -> None:
    assert round_up(value) == pytest.approx(expected)


def test_a_range_starts_at_zero_and_ends_above_the_highest_value() -> None:
    assert steady_range(3.0, 42.0, None) == (0.0, 50.0)


def test_the_range_stays_while_new_values_stay_inside_it() -> None:
    current = steady_range(0.0, 42.0, None)
    for high in (44.0, 30.0, 49.9, 17.0):
        assert steady_range(0.0, high, current) == current


def test_the_range_grows_when_a_value_leaves_it_and_shrinks_when_values_fall_far_below() -> None:
    current = (0.0, 50.0)
    assert steady_range(0.0, 51.0, current) == (0.0, 100.0)
    assert steady_range(0.0, 12.0, current) == (0.0, 20.0)


def test_negative_values_get_a_round_bottom_and_an_all_zero_chart_a_unit_range() -> None:
    assert steady_range(-3.0, 8.0, None) == (-5.0, 10.0)
    assert steady_range(0.0, 0.0, None) == (0.0, 1.0)

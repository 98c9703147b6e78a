"""Jittered exponential backoff: full jitter under a doubling, capped ceiling."""

from __future__ import annotations

import random

import pytest

from nexus_console.domain.backoff import Backoff


def test_ceiling_doubles_per_failure_up_to_the_cap() -> None:
    backoff = Backoff(base_s=0.5, cap_s=5.0, random_fraction=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_full_jitter_stays_between_zero_and_the_ceiling() -> None:
    rng = random.Random(3)
    backoff = Backoff(base_s=1.0, cap_s=8.0, random_fraction=rng.random)
    for failures in range(12):
        ceiling = backoff.ceiling_s()
        assert ceiling == min(8.0, 2.0**failures)
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling
    spread = {round(Backoff(1, 8, random_fraction=rng.random).next_delay(), 3) for _ in range(20)}
    assert len(spread) > 10, "delays must be jittered, not all equal"


def test_reset_after_success_starts_from_the_base_again() -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0, random_fraction=lambda: 1.0)
    for _ in range(4):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=0)
    with pytest.raises(ValueError):
        Backoff(base_s=5, cap_s=1)

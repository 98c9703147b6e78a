"""Jittered exponential backoff (full jitter), as pure logic with an injectable random source."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """delay(n) = uniform(0, min(cap, base * factor**n)) for the n-th consecutive failure."""

    def __init__(
        self,
        base_s: float = 1.0,
        cap_s: float = 60.0,
        *,
        factor: float = 2.0,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        if base_s <= 0 or cap_s < base_s or factor < 1:
            raise ValueError("backoff needs 0 < base_s <= cap_s and factor >= 1")
        self.base_s = base_s
        self.cap_s = cap_s
        self.factor = factor
        self._random_fraction = random_fraction
        self.failures = 0

    def ceiling_s(self) -> float:
        """The upper bound of the next delay."""
        return min(self.cap_s, self.base_s * self.factor**self.failures)

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before retrying."""
        delay = self.ceiling_s() * self._random_fraction()
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0

"""Simulated time for the estate and the alert engine: real time sped up by a clock factor."""

from __future__ import annotations

import time


class SimClock:
    """Simulated epoch seconds that run `clock_factor` times faster than real time, starting at `start`.

    With a factor of 60 one real second is one simulated minute, so an alert rule that must hold
    "for 5 minutes" fires after five real seconds.
    """

    def __init__(self, clock_factor: float = 1.0, start: float | None = None) -> None:
        if clock_factor <= 0:
            raise ValueError(f"clock_factor must be positive, got {clock_factor}")
        self.clock_factor = float(clock_factor)
        self.start = time.time() if start is None else float(start)
        self._monotonic_origin = time.monotonic()

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self.start + (time.monotonic() - self._monotonic_origin) * self.clock_factor

    def elapsed(self) -> float:
        """Simulated seconds since the clock started."""
        return self.now() - self.start

    def to_real_seconds(self, simulated_s: float) -> float:
        return simulated_s / self.clock_factor


class ManualClock(SimClock):
    """A clock that only moves when told to: for deterministic tests of rules and the simulation."""

    def __init__(self, start: float = 1_700_000_000.0, clock_factor: float = 1.0) -> None:
        super().__init__(clock_factor, start)
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, simulated_s: float) -> float:
        self._now += simulated_s
        return self._now

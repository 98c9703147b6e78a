"""The value range a live chart shows: rounded, and steady while the data stays inside it.

A range fitted exactly to the data moves with every new sample, so the value axis is laid out and drawn
again every second and the curves seem to breathe. As in Grafana's panels, the range here starts at zero
for data that never goes below it, ends on a round number above the highest value, and stays put until the
data leaves it or falls under a third of it.
"""

from __future__ import annotations

import math

HEADROOM = 1.1  # a new range ends at least this much above the highest value
SHRINK_BELOW = 1 / 3  # a range is narrowed once the highest value is under this share of it
_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def round_up(value: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `value` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in _STEPS if step * power >= value * (1 - 1e-12))


def steady_range(low: float, high: float, current: tuple[float, float] | None) -> tuple[float, float]:
    """The range to show values from `low` to `high`, keeping `current` while it still suits them."""
    bottom = 0.0 if low >= 0 else -round_up(-low * HEADROOM)
    if current is not None:
        current_bottom, current_top = current
        if current_bottom == bottom and current_top * SHRINK_BELOW <= high <= current_top:
            return current
    top = round_up(high * HEADROOM) if high > 0 else (1.0 if bottom == 0 else 0.0)
    return bottom, top

"""Fixed-size numpy ring buffers for live charts: memory is allocated once and never grows.

Each sample is written twice, at slot `i` and at slot `i + capacity` of an array twice the capacity, so the
most recent `capacity` samples are always one contiguous slice: reading needs no `np.roll` and no copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt


class TimeSeriesRing:
    """The last `capacity` samples of a few named float columns sharing one time axis."""

    def __init__(self, capacity: int, columns: Sequence[str], dtype: npt.DTypeLike = np.float32) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if not columns:
            raise ValueError("at least one column is needed")
        self.capacity = capacity
        self.columns: tuple[str, ...] = tuple(columns)
        self._column_index = {name: i for i, name in enumerate(self.columns)}
        self._times = np.full(2 * capacity, np.nan, dtype=np.float64)
        self._values = np.full((len(self.columns), 2 * capacity), np.nan, dtype=dtype)
        self._next = 0  # slot the next sample goes to, in [0, capacity)
        self._count = 0  # samples held, at most capacity

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return self._times.nbytes + self._values.nbytes

    def append(self, time_s: float, values: Sequence[float] | npt.NDArray[np.floating]) -> None:
        """Add one sample; `values` is one float per column (NaN for a gap)."""
        if len(values) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} values, got {len(values)}")
        slot = self._next
        mirror = slot + self.capacity
        self._times[slot] = self._times[mirror] = time_s
        self._values[:, slot] = values
        self._values[:, mirror] = values
        self._next = (slot + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def extend(self, samples: Iterable[tuple[float, Sequence[float]]]) -> None:
        for time_s, values in samples:
            self.append(time_s, values)

    def _window(self) -> slice:
        end = self._next + self.capacity  # one past the newest sample, in the mirrored half
        return slice(end - self._count, end)

    def times(self) -> npt.NDArray[np.float64]:
        """Sample times, oldest first: a read-only view, valid until the next append."""
        view = self._times[self._window()]
        view.flags.writeable = False
        return view

    def column(self, name: str) -> npt.NDArray[np.floating]:
        """One column's samples, oldest first: a read-only view, valid until the next append."""
        view = self._values[self._column_index[name], self._window()]
        view.flags.writeable = False
        return view

    def latest(self) -> dict[str, float] | None:
        """The newest sample as {"time": t, column: value, ...}, or None when empty."""
        if self._count == 0:
            return None
        slot = (self._next - 1) % self.capacity
        sample = {"time": float(self._times[slot])}
        sample.update({name: float(self._values[i, slot]) for i, name in enumerate(self.columns)})
        return sample


def minmax_decimate(values: npt.NDArray[np.floating], bins: int) -> npt.NDArray[np.floating]:
    """Reduce the last axis to `2 * bins` points: the min and max of each bin, in that order.

    Peaks survive (unlike striding), and all-NaN bins stay NaN so gaps still show. The last axis is cut
    from the front to a multiple of `bins` so that the newest samples are always kept.
    """
    length = values.shape[-1]
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if length <= 2 * bins:
        return values
    per_bin = length // bins
    kept = values[..., length - per_bin * bins :]
    shaped = kept.reshape((*values.shape[:-1], bins, per_bin))
    # A running fmin/fmax over the bin's columns: numpy's reduce along a short last axis is ~10x slower.
    lows = shaped[..., 0].copy()
    highs = shaped[..., 0].copy()
    for k in range(1, per_bin):
        np.fmin(lows, shaped[..., k], out=lows)
        np.fmax(highs, shaped[..., k], out=highs)
    out = np.empty((*values.shape[:-1], bins, 2), dtype=values.dtype)
    out[..., 0] = lows
    out[..., 1] = highs
    return out.reshape((*values.shape[:-1], 2 * bins))


def decimated_positions(length: int, bins: int) -> npt.NDArray[np.float64]:
    """The sample positions (0 = oldest of `length`) that `minmax_decimate` output points stand for."""
    if length <= 2 * bins:
        return np.arange(length, dtype=np.float64)
    per_bin = length // bins
    start = length - per_bin * bins
    lefts = start + np.arange(bins, dtype=np.float64) * per_bin
    out = np.empty((bins, 2), dtype=np.float64)
    out[:, 0] = lefts
    out[:, 1] = lefts + (per_bin - 1)
    return out.reshape(2 * bins)

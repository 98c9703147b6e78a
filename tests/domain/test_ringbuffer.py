"""The ring buffers behind the live charts: fixed memory, newest samples contiguous, peaks kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nexus_console.domain.ringbuffer import TimeSeriesRing, decimated_positions, minmax_decimate


def test_a_partly_filled_ring_returns_only_the_samples_written_oldest_first() -> None:
    ring = TimeSeriesRing(5, ("a", "b"))
    ring.append(1.0, (10.0, 100.0))
    ring.append(2.0, (20.0, 200.0))
    assert len(ring) == 2
    assert ring.times().tolist() == [1.0, 2.0]
    assert ring.column("a").tolist() == [10.0, 20.0]
    assert ring.column("b").tolist() == [100.0, 200.0]


def test_a_full_ring_keeps_the_last_capacity_samples_as_one_contiguous_view() -> None:
    ring = TimeSeriesRing(4, ("v",), dtype=np.float64)
    for i in range(11):
        ring.append(float(i), (float(i * 10),))
    assert ring.times().tolist() == [7.0, 8.0, 9.0, 10.0]
    column = ring.column("v")
    assert column.tolist() == [70.0, 80.0, 90.0, 100.0]
    assert column.base is not None  # a view into the buffer, not a copy
    assert column.flags.c_contiguous


def test_memory_is_allocated_once_and_does_not_grow_with_samples() -> None:
    ring = TimeSeriesRing(3600, ("rps", "p95"))
    before = ring.nbytes
    for i in range(10_000):
        ring.append(float(i), (1.0, 2.0))
    assert ring.nbytes == before
    assert len(ring) == 3600


def test_views_are_read_only_so_a_chart_cannot_corrupt_the_history() -> None:
    ring = TimeSeriesRing(3, ("v",))
    ring.append(1.0, (1.0,))
    with pytest.raises(ValueError):
        ring.column("v")[0] = 5.0


def test_latest_is_the_newest_sample_and_none_when_empty() -> None:
    ring = TimeSeriesRing(2, ("v",))
    assert ring.latest() is None
    for i in range(5):
        ring.append(float(i), (i * 2.0,))
    assert ring.latest() == {"time": 4.0, "v": 8.0}


def test_a_sample_with_the_wrong_number_of_values_is_rejected() -> None:
    ring = TimeSeriesRing(2, ("a", "b"))
    with pytest.raises(ValueError):
        ring.append(1.0, (1.0,))


def test_minmax_decimation_keeps_every_bins_peak_and_trough() -> None:
    values = np.zeros(3600)
    values[1234] = 99.0
    values[2000] = -5.0
    out = minmax_decimate(values, 300)
    assert out.shape == (600,)
    assert out.max() == 99.0
    assert out.min() == -5.0


def test_minmax_decimation_keeps_the_newest_samples_when_length_is_not_a_multiple() -> None:
    values = np.arange(1003, dtype=np.float64)
    out = minmax_decimate(values, 100)
    assert out[-1] == 1002.0
    positions = decimated_positions(1003, 100)
    assert positions.shape == out.shape
    assert np.array_equal(values[positions.astype(int)], out)


def test_minmax_decimation_leaves_gaps_as_nan_and_works_on_many_rows_at_once() -> None:
    values = np.ones((3, 100))
    values[1, :50] = np.nan
    out = minmax_decimate(values, 10)
    assert out.shape == (3, 20)
    assert all(math.isnan(v) for v in out[1, :10])
    assert np.all(out[1, 10:] == 1.0)
    assert np.all(out[0] == 1.0)


def test_short_series_are_not_decimated() -> None:
    values = np.arange(10, dtype=np.float64)
    assert minmax_decimate(values, 300) is values

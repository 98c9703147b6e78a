"""The overview's arrays: every service side by side, cut to the span that holds data."""

from __future__ import annotations

import math

import numpy as np

from nexus_console.domain.overview_series import SPAN_STEP, overview_series
from nexus_console.domain.prom_metrics import MetricsHistory, MetricsSample

KINDS = ("rps", "p95_ms", "rps_5xx")


def sample(t: float, rps: float) -> MetricsSample:
    return MetricsSample(t, rps, 0.0, 0.5, 10.0, 100.0, 200.0, 5.0, 50.0)


def test_two_minutes_of_data_fill_a_five_minute_span_not_an_hour() -> None:
    history = MetricsHistory(capacity=3600)
    for t in range(120):
        history.record("orders", sample(1000.0 + t, 40.0))
    series, times = overview_series(history, ["orders", "billing"], KINDS)
    assert series["rps"].shape == (2, SPAN_STEP) and times.shape == (SPAN_STEP,)
    assert np.isfinite(series["rps"][0]).sum() == 120  # the data, at the right end
    assert not np.isfinite(series["rps"][1]).any()  # no samples yet: gaps, not zeros
    assert times[-1] == 1119.0


def test_a_full_hour_is_shown_whole_and_a_few_seconds_as_one_step() -> None:
    full = MetricsHistory(capacity=3600)
    for t in range(3600):
        full.record("orders", sample(float(t), 1.0))
    series, _ = overview_series(full, ["orders"], KINDS)
    assert series["rps"].shape == (1, 3600)
    young = MetricsHistory(capacity=3600)
    young.record("orders", sample(1.0, math.nan))
    young.record("orders", sample(2.0, 3.0))
    series, _ = overview_series(young, ["orders"], KINDS)
    assert series["p95_ms"].shape == (1, SPAN_STEP)

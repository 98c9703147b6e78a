"""Latency buckets and quantiles computed from bucket counts, the way Prometheus' histogram_quantile does."""

from __future__ import annotations

import functools
import math

import numpy as np

BUCKETS_S: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
BUCKET_LABELS: tuple[str, ...] = (*(f"{b:g}" for b in BUCKETS_S), "+Inf")
_SQRT2 = math.sqrt(2.0)


@functools.lru_cache(maxsize=16384)
def lognormal_bucket_probabilities(p50_ms: float, p95_ms: float, shift_ms: float = 0.0) -> np.ndarray:
    """P(latency falls in each bucket, +Inf last) for `shift + LogNormal` with the given median and p95.

    Read-only and cached: an endpoint asks the same question every tick until its latency moves, and at
    `--services 1000` computing it took a third of the simulation's tick."""
    median = max(p50_ms, 0.01)
    sigma = max(math.log(max(p95_ms, median * 1.01) / median) / 1.6449, 1e-3)
    mu = math.log(median)
    cdf = []
    for bound_s in BUCKETS_S:
        x = bound_s * 1000.0 - shift_ms
        cdf.append(0.0 if x <= 0 else 0.5 * (1.0 + math.erf((math.log(x) - mu) / (sigma * _SQRT2))))
    cdf.append(1.0)
    probs = np.diff(np.asarray(cdf), prepend=0.0)
    probs = np.clip(probs, 0.0, 1.0) / max(float(probs.sum()), 1e-12)
    probs.flags.writeable = False
    return probs


def lognormal_mean_ms(p50_ms: float, p95_ms: float, shift_ms: float = 0.0) -> float:
    median = max(p50_ms, 0.01)
    sigma = max(math.log(max(p95_ms, median * 1.01) / median) / 1.6449, 1e-3)
    return median * math.exp(sigma * sigma / 2.0) + shift_ms


def quantile_from_buckets(q: float, counts: np.ndarray | list[float]) -> float:
    """The q-quantile in seconds from per-bucket (not cumulative) counts, +Inf bucket last.

    Linear interpolation inside the bucket; NaN when there are no observations; the highest finite
    bound when the rank falls in +Inf.
    """
    per_bucket = np.asarray(counts, dtype=float)
    total = float(per_bucket.sum())
    if total <= 0:
        return math.nan
    rank = q * total
    cumulative = np.cumsum(per_bucket)
    index = int(np.searchsorted(cumulative, rank, side="left"))
    if index >= len(BUCKETS_S):
        return BUCKETS_S[-1]
    lower = 0.0 if index == 0 else BUCKETS_S[index - 1]
    upper = BUCKETS_S[index]
    below = 0.0 if index == 0 else float(cumulative[index - 1])
    inside = float(per_bucket[index])
    if inside <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / inside

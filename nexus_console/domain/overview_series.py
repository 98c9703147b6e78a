"""The all-services overview's data: every service's ring buffers side by side as (services, samples)
arrays, cut to the time span that holds data. Qt-free; the Health pane hands the result to the chart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nexus_console.domain.prom_metrics import MetricsHistory

# The span follows the data in whole steps of this many samples (five minutes): right after start an
# hour-wide cell would squeeze two minutes of data against its right edge. Few distinct spans: each is one
# cached layout of the chart.
SPAN_STEP = 300


def overview_series(
    history: MetricsHistory, names: Sequence[str], kinds: Sequence[str]
) -> tuple[dict[str, npt.NDArray[np.float32]], npt.NDArray[np.float64]]:
    """(series per kind, times): NaN where a service has no sample yet; columns from the fitted span on."""
    capacity = history.capacity
    series = {kind: np.full((len(names), capacity), np.nan, dtype=np.float32) for kind in kinds}
    times = np.full(capacity, np.nan)
    for row, name in enumerate(names):
        ring = history.ring(name)
        n = len(ring)
        if n == 0:
            continue
        for kind in kinds:
            series[kind][row, capacity - n :] = ring.column(kind)
        times[capacity - n :] = ring.times()
    filled = np.flatnonzero(np.isfinite(times))
    span = capacity - int(filled[0]) if len(filled) else capacity
    shown = min(capacity, max(1, -(-span // SPAN_STEP)) * SPAN_STEP)
    return {kind: values[:, capacity - shown :] for kind, values in series.items()}, times[capacity - shown :]

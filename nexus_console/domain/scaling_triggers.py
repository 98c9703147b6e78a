"""The scaling triggers of seed 002 ("Scaling Triggers") as one table, `SCALING_TRIGGERS`, evaluated by one
function, `evaluate_trigger`, on a host's range series: a trigger is pending from the first point of the
current unbroken run of points above its threshold and fires once that run has lasted its `for_s` (so a
console restarted mid-run keeps the countdown). A point exactly at the threshold is not above it; a missing
point (a gap) ends a run. Pure: no I/O, no Qt."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.units import duration_text, number_text

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TriggerRule:
    """A scaling trigger: `metric` (a key of `InstanceHistory.trigger_series`) above `threshold` for
    `for_s` seconds."""

    name: str
    metric: str
    label: str  # what the value is: "CPU", "p95 latency"
    threshold: float
    for_s: float
    unit: str
    missing_text: str  # shown when the instance has no such metric

    @property
    def condition(self) -> str:
        return f"{self.label} > {number_text(self.threshold)} {self.unit} for {duration_text(self.for_s)}"


SCALING_TRIGGERS: tuple[TriggerRule, ...] = (  # seed 002, "Scaling Triggers"
    TriggerRule("ScaleOutCpu", "cpu", "CPU", 70.0, 300.0, "%", "no CPU metric for this instance"),
    TriggerRule("ScaleOutMemory", "memory", "memory", 80.0, 300.0, "%", "no memory metric for this instance"),
    TriggerRule(
        "ScaleOutLatency",
        "latency_p95",
        "p95 latency",
        500.0,
        120.0,
        "ms",
        "no latency metric for this instance",
    ),
    TriggerRule(
        "ScaleOutErrorRate",
        "error_rate",
        "error rate",
        1.0,
        60.0,
        "%",
        "no error-rate metric for this instance",
    ),
)


def with_threshold(rules: Sequence[TriggerRule], name: str, threshold: float) -> tuple[TriggerRule, ...]:
    """The rules with `name`'s threshold replaced (a profile or a test with other limits)."""
    if name not in {rule.name for rule in rules}:
        raise ValueError(f"no scaling trigger named {name!r}")
    return tuple(replace(rule, threshold=threshold) if rule.name == name else rule for rule in rules)


class TriggerState(StrEnum):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    NO_METRIC = "no metric"
    NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class TriggerStatus:
    rule: TriggerRule
    state: TriggerState
    value: float | None = None  # the newest point
    since: float | None = None  # start of the run above the threshold (pending or firing)
    fires_at: float | None = None  # since + for_s

    def text(self, now: float) -> str:
        """'ok (42 %)', 'pending, 85 %: fires in 3 min 20 s', 'firing since 13:02:10, 91 %'."""
        value = f"{number_text(self.value)} {self.rule.unit}" if self.value is not None else ""
        if self.state is TriggerState.NO_METRIC:
            return self.rule.missing_text
        if self.state is TriggerState.NO_DATA:
            return "no data"
        if self.state is TriggerState.OK:
            return f"ok ({value})"
        if self.state is TriggerState.PENDING and self.fires_at is not None:
            return f"pending, {value}: {countdown_text(self.fires_at - now)}"
        return f"firing since {format_clock(self.since) if self.since is not None else '—'}, {value}"


def evaluate_trigger(rule: TriggerRule, times: Array | None, values: Array | None, *, at: float,
                     step_s: float) -> TriggerStatus:  # fmt: skip
    """The trigger's state at `at` from its range series (points every `step_s`).

    No series at all: NO_METRIC. No point within one step of `at`: NO_DATA. Otherwise the run of points
    above the threshold that ends at the newest point, unbroken (no NaN, no missing step), starts the
    condition; it fires when `at - start >= for_s`."""
    if times is None or values is None or len(times) == 0:
        return TriggerStatus(rule, TriggerState.NO_METRIC)
    finite = np.isfinite(values)
    if not finite.any():
        return TriggerStatus(rule, TriggerState.NO_DATA)
    last = int(np.flatnonzero(finite)[-1])
    if at - float(times[last]) > step_s * 1.5:
        return TriggerStatus(rule, TriggerState.NO_DATA)
    value = float(values[last])
    if not value > rule.threshold:
        return TriggerStatus(rule, TriggerState.OK, value)
    start = last
    while start > 0:
        previous = start - 1
        gap = float(times[start] - times[previous]) > step_s * 1.5
        if gap or not (finite[previous] and values[previous] > rule.threshold):
            break
        start = previous
    since = float(times[start])
    fires_at = since + rule.for_s
    state = TriggerState.FIRING if at >= fires_at else TriggerState.PENDING
    return TriggerStatus(rule, state, value, since, fires_at)


# ---- instances ----------------------------------------------------------------------------------------


def countdown_text(seconds: float) -> str:
    """'fires in 3 min 20 s', 'fires in 40 s', 'fires now'."""
    whole = math.ceil(seconds)
    if whole <= 0:
        return "fires now"
    minutes, rest = divmod(whole, 60)
    return f"fires in {minutes} min {rest} s" if minutes else f"fires in {rest} s"

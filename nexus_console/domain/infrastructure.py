"""The Infrastructure pane's data: per host (a node exporter `instance` in Prometheus) its CPU by mode,
memory, filesystems with their fill-time prediction, disk and network throughput, load, the last hour's
series, and the scaling triggers of seed 002 evaluated on those series.

Pure: no I/O, no Qt. `services.infra_sources` runs the queries (aggregated in PromQL) and hands the parsed
answers to `build_snapshot`; anything with `labels`, `times` and `values` (a range series) or `labels`,
`time` and `value` (an instant sample) will do.

An instance whose exporter stopped answering (`up == 0`, or no sample for five minutes) reads
"no data since HH:MM:SS" with its last sample time; its figures are None (shown as "—"), never zero.

The scaling triggers and their evaluation are `domain.scaling_triggers`; texts are `domain.units`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.scaling_triggers import (
    SCALING_TRIGGERS,
    TriggerRule,
    TriggerState,
    TriggerStatus,
    evaluate_trigger,
)
from nexus_console.domain.units import duration_text

Array = npt.NDArray[np.float64]

CHART_MODES = ("user", "system", "iowait", "steal")  # charted one by one; the other busy modes as one
NO_DATA_AFTER_S = 300.0  # Prometheus's lookback: a series without a sample for this long has stopped
# File systems that are not disks: their fill level says nothing about a host running out of space.
PSEUDO_FSTYPES = ("tmpfs", "devtmpfs", "overlay", "squashfs", "ramfs", "nsfs", "fuse.lxcfs", "autofs")


class RangeSeries(Protocol):
    labels: Mapping[str, str]
    times: Array
    values: Array


class InstantSample(Protocol):
    labels: Mapping[str, str]
    time: float
    value: float


# ---- instances -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filesystem:
    mountpoint: str
    fstype: str
    used_pct: float
    fill_s: float | None  # seconds until full at the last hour's trend; None: not filling

    def fill_text(self) -> str:
        return f"full in {duration_text(self.fill_s)}" if self.fill_s is not None else "not filling"


@dataclass(frozen=True, slots=True, eq=False)
class InstanceHistory:
    """The last hour on a fixed grid (`times`, every step); NaN where there was no point."""

    times: Array
    # % of the instance's CPU time: user, system, iowait, steal, other; only for the focused instance
    cpu_by_mode: Mapping[str, Array]
    memory_used_pct: Array
    disk_read_bps: Array
    disk_write_bps: Array
    net_rx_bps: Array
    net_tx_bps: Array
    trigger_series: Mapping[str, Array]  # by TriggerRule.metric: cpu, memory, latency_p95, error_rate

    def cpu_chart(self) -> dict[str, Array]:
        """CPU by mode for a chart: user, system, iowait, steal, and "other" (nice, irq, softirq, …);
        idle is left out (it is the rest)."""
        chart = {mode: self.cpu_by_mode[mode] for mode in CHART_MODES if mode in self.cpu_by_mode}
        rest = [v for mode, v in self.cpu_by_mode.items() if mode not in CHART_MODES and mode != "idle"]
        if rest:
            stacked = np.vstack(rest)
            chart["other"] = np.where(np.isfinite(stacked).any(axis=0), np.nansum(stacked, axis=0), np.nan)
        return chart


@dataclass(frozen=True, slots=True, eq=False)
class InstanceView:
    instance: str
    reporting: bool
    last_sample_at: float | None
    cpu_by_mode: Mapping[str, float]  # now, every mode (idle too)
    cpu_busy_pct: float | None
    memory_used_pct: float | None
    filesystems: tuple[Filesystem, ...]
    disk_read_bps: float | None
    disk_write_bps: float | None
    net_rx_bps: float | None
    net_tx_bps: float | None
    net_errors_per_s: float | None
    load: tuple[float, float, float] | None
    history: InstanceHistory
    triggers: tuple[TriggerStatus, ...]

    def state_text(self) -> str:
        if self.reporting:
            return "up"
        if self.last_sample_at is None:
            return "no data in the last hour"
        return f"no data since {format_clock(self.last_sample_at)}"

    def fullest(self) -> Filesystem | None:
        return max(self.filesystems, key=lambda fs: fs.used_pct, default=None)


@dataclass(frozen=True, slots=True, eq=False)
class InfraSnapshot:
    """One refresh: every instance as Prometheus had it at `evaluated_at`."""

    prometheus_url: str
    evaluated_at: float
    window_s: float
    step_s: float
    instances: tuple[InstanceView, ...]
    problems: tuple[str, ...] = ()  # queries that failed; the rest is still shown
    rules: tuple[TriggerRule, ...] = field(default=SCALING_TRIGGERS)

    def instance(self, name: str) -> InstanceView | None:
        return next((view for view in self.instances if view.instance == name), None)


@dataclass(frozen=True, slots=True)
class InfraAnswers:
    """The parsed answers of one refresh, by query (services.infra_sources.QUERIES names them)."""

    cpu_busy_pct: Sequence[RangeSeries] = ()
    cpu_by_mode: Sequence[RangeSeries] = ()  # the focused instance's only
    memory_used_pct: Sequence[RangeSeries] = ()
    disk_read_bps: Sequence[RangeSeries] = ()
    disk_write_bps: Sequence[RangeSeries] = ()
    net_rx_bps: Sequence[RangeSeries] = ()
    net_tx_bps: Sequence[RangeSeries] = ()
    latency_p95_s: Sequence[RangeSeries] = ()
    error_ratio: Sequence[RangeSeries] = ()
    last_sample_at: Sequence[RangeSeries] = ()  # the newest sample's time at every step
    cpu_mode_now: Sequence[InstantSample] = ()
    fs_used_pct: Sequence[InstantSample] = ()
    fs_fill_s: Sequence[InstantSample] = ()
    load: Sequence[InstantSample] = ()
    net_errors_per_s: Sequence[InstantSample] = ()
    up: Sequence[InstantSample] = ()


def build_snapshot(answers: InfraAnswers, *, prometheus_url: str, evaluated_at: float, window_s: float,
                   step_s: float, rules: Sequence[TriggerRule] = SCALING_TRIGGERS,
                   problems: Iterable[str] = ()) -> InfraSnapshot:  # fmt: skip
    """Every instance seen in the window (by its node metrics or its `up`), sorted by name."""
    grid = np.arange(evaluated_at - window_s, evaluated_at + step_s / 2, step_s, dtype=np.float64)
    on_grid = _Grid(grid, step_s)
    cpu: dict[str, dict[str, Array]] = {}
    for series in answers.cpu_by_mode:
        cpu.setdefault(_instance(series), {})[series.labels.get("mode", "")] = on_grid.place(series)
    per_instance = {
        name: _by_instance(getattr(answers, name), on_grid)
        for name in (
            "cpu_busy_pct",
            "memory_used_pct",
            "disk_read_bps",
            "disk_write_bps",
            "net_rx_bps",
            "net_tx_bps",
        )
    }
    latency = _by_instance(answers.latency_p95_s, on_grid)
    errors = _by_instance(answers.error_ratio, on_grid)
    up = {_instance(s): s.value for s in answers.up}
    last_seen = {
        _instance(s): float(s.values[np.isfinite(s.values)][-1])
        for s in answers.last_sample_at
        if np.isfinite(s.values).any()
    }
    modes_now: dict[str, dict[str, float]] = {}
    for sample in answers.cpu_mode_now:
        if math.isfinite(sample.value):
            modes_now.setdefault(_instance(sample), {})[sample.labels.get("mode", "")] = sample.value
    load: dict[str, dict[str, float]] = {}
    for sample in answers.load:
        load.setdefault(_instance(sample), {})[sample.labels.get("__name__", "")] = sample.value
    net_errors = {_instance(s): s.value for s in answers.net_errors_per_s}
    fill = {(_instance(s), s.labels.get("mountpoint", "")): s.value for s in answers.fs_fill_s}
    filesystems: dict[str, list[Filesystem]] = {}
    for sample in answers.fs_used_pct:
        fstype = sample.labels.get("fstype", "")
        if fstype in PSEUDO_FSTYPES or not math.isfinite(sample.value):
            continue
        mount = sample.labels.get("mountpoint", "")
        fill_s = fill.get((_instance(sample), mount))
        filling = fill_s if fill_s is not None and math.isfinite(fill_s) and fill_s > 0 else None
        filesystems.setdefault(_instance(sample), []).append(Filesystem(mount, fstype, sample.value, filling))
    # hosts: what reported node metrics in the window, and targets that are down (a host whose exporter
    # never answered within the window); a live target without node metrics (Alertmanager, a service) is
    # not a host
    down = {name for name, value in up.items() if value != 1.0}
    names = set(per_instance["cpu_busy_pct"]) | down | set(last_seen) | set(per_instance["memory_used_pct"])
    names.discard("")
    views = []
    for name in sorted(names):
        modes = cpu.get(name, {})
        last = _last_time(
            grid, [per_instance["cpu_busy_pct"].get(name), per_instance["memory_used_pct"].get(name)],
            last_seen.get(name),
        )  # fmt: skip
        reporting = (
            up.get(name) == 1.0 if name in up else last is not None and evaluated_at - last < NO_DATA_AFTER_S
        )
        series = {key: values.get(name, on_grid.empty()) for key, values in per_instance.items()}
        busy = series.pop("cpu_busy_pct")
        latency_ms = latency[name] * 1000.0 if name in latency else None
        error_pct = errors[name] * 100.0 if name in errors else None
        history = InstanceHistory(
            times=grid,
            cpu_by_mode=modes,
            trigger_series=({"cpu": busy} if name in per_instance["cpu_busy_pct"] else {})
            | ({"memory": series["memory_used_pct"]} if name in per_instance["memory_used_pct"] else {})
            | ({"latency_p95": latency_ms} if latency_ms is not None else {})
            | ({"error_rate": error_pct} if error_pct is not None else {}),
            **series,
        )

        def now(values: Array | None, reporting: bool = reporting) -> float | None:
            return _latest(values) if reporting and values is not None else None

        loads = load.get(name, {})
        triggers = tuple(_trigger(rule, history, reporting, evaluated_at, step_s) for rule in rules)
        views.append(
            InstanceView(
                instance=name,
                reporting=reporting,
                last_sample_at=last,
                cpu_by_mode=modes_now.get(name, {}) if reporting else {},
                cpu_busy_pct=now(busy),
                memory_used_pct=now(series["memory_used_pct"]),
                filesystems=tuple(sorted(filesystems.get(name, ()), key=lambda fs: fs.mountpoint))
                if reporting
                else (),
                disk_read_bps=now(series["disk_read_bps"]),
                disk_write_bps=now(series["disk_write_bps"]),
                net_rx_bps=now(series["net_rx_bps"]),
                net_tx_bps=now(series["net_tx_bps"]),
                net_errors_per_s=net_errors.get(name) if reporting else None,
                load=(loads["node_load1"], loads["node_load5"], loads["node_load15"])
                if reporting and {"node_load1", "node_load5", "node_load15"} <= loads.keys()
                else None,
                history=history,
                triggers=triggers,
            )
        )
    return InfraSnapshot(
        prometheus_url, evaluated_at, window_s, step_s, tuple(views), tuple(problems), tuple(rules)
    )


def _trigger(
    rule: TriggerRule, history: InstanceHistory, reporting: bool, at: float, step_s: float
) -> TriggerStatus:
    values = history.trigger_series.get(rule.metric)
    if values is None:
        return TriggerStatus(rule, TriggerState.NO_METRIC)
    if not reporting:
        return TriggerStatus(rule, TriggerState.NO_DATA)
    finite = np.isfinite(values)
    return evaluate_trigger(rule, history.times[finite], values[finite], at=at, step_s=step_s)


class _Grid:
    def __init__(self, times: Array, step_s: float) -> None:
        self.times = times
        self.step_s = step_s

    def empty(self) -> Array:
        return np.full(len(self.times), np.nan)

    def place(self, series: RangeSeries) -> Array:
        """The series' points on the grid (NaN where it has none)."""
        out = self.empty()
        if len(series.times):
            index = np.rint((np.asarray(series.times) - self.times[0]) / self.step_s).astype(np.int64)
            inside = (index >= 0) & (index < len(out))
            out[index[inside]] = np.asarray(series.values)[inside]
        return out


def _last_time(grid: Array, arrays: Iterable[Array | None], seen: float | None) -> float | None:
    """The newest sample time: the exact one from Prometheus (`seen`), else the last grid point with data."""
    points = [
        float(grid[np.flatnonzero(np.isfinite(a))[-1]])
        for a in arrays
        if a is not None and np.isfinite(a).any()
    ]
    return seen if seen is not None else max(points, default=None)


def _by_instance(series: Iterable[RangeSeries], grid: _Grid) -> dict[str, Array]:
    return {_instance(s): grid.place(s) for s in series}


def _instance(item: Any) -> str:
    return str(item.labels.get("instance", ""))


def _latest(values: Array) -> float | None:
    """The grid's newest point, when it is there (a missing newest point is no figure, never zero)."""
    value = float(values[-1]) if len(values) else math.nan
    return value if math.isfinite(value) else None

"""The scaling triggers on hand-made series: the threshold itself is not above it, pending turns firing at
exactly its `for`, a gap restarts the run, a missing metric is said in words; and the snapshot built from
parsed answers: a stopped host is "no data since", never zero."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from nexus_console.domain.infrastructure import InfraAnswers, build_snapshot
from nexus_console.domain.scaling_triggers import (
    SCALING_TRIGGERS,
    TriggerState,
    countdown_text,
    evaluate_trigger,
    with_threshold,
)
from nexus_console.domain.units import duration_text

CPU, MEMORY, LATENCY, ERRORS = SCALING_TRIGGERS
STEP = 30.0
END = 1_800_000_000.0


def series(*values: float, end: float = END, step: float = STEP) -> tuple[np.ndarray, np.ndarray]:
    times = end - step * np.arange(len(values))[::-1]
    return times.astype(float), np.array(values, dtype=float)


def test_exactly_at_the_threshold_is_ok_and_just_above_is_pending() -> None:
    status = evaluate_trigger(CPU, *series(70.0, 70.0, 70.0), at=END, step_s=STEP)
    assert status.state is TriggerState.OK and status.text(END) == "ok (70 %)"
    status = evaluate_trigger(CPU, *series(69.0, 70.5, 71.0), at=END, step_s=STEP)
    assert status.state is TriggerState.PENDING
    assert status.since == END - STEP and status.fires_at == END - STEP + 300
    assert status.text(END) == "pending, 71 %: fires in 4 min 30 s"
    assert status.text(END + 70) == "pending, 71 %: fires in 3 min 20 s"


def test_pending_turns_firing_at_exactly_its_duration() -> None:
    # above since END - 300: exactly 5 min at END
    values = [10.0] + [80.0] * 11  # 11 points above = 300 s from the first to the last
    status = evaluate_trigger(CPU, *series(*values), at=END, step_s=STEP)
    assert status.since == END - 300
    assert status.state is TriggerState.FIRING and status.text(END).startswith("firing since ")
    one_step_less = evaluate_trigger(CPU, *series(*values[1:][1:]), at=END, step_s=STEP)
    assert (
        one_step_less.state is TriggerState.PENDING
        and one_step_less.text(END) == "pending, 80 %: fires in 30 s"
    )


def test_the_start_comes_from_the_range_data_so_a_restart_keeps_the_countdown() -> None:
    values = [10.0] * 5 + [90.0] * 7  # above for 180 s at END
    first = evaluate_trigger(MEMORY, *series(*values), at=END, step_s=STEP)
    # a console started 60 s later reads the same range (two more points above): same start, same deadline
    later = evaluate_trigger(MEMORY, *series(*values, 90.0, 90.0, end=END + 60), at=END + 60, step_s=STEP)
    assert first.fires_at == later.fires_at == END - 180 + 300


def test_a_gap_ends_the_run_and_a_nan_too() -> None:
    times, values = series(*([90.0] * 12))
    with_gap = evaluate_trigger(CPU, np.delete(times, 8), np.delete(values, 8), at=END, step_s=STEP)
    assert with_gap.state is TriggerState.PENDING and with_gap.since == times[9]
    values[5] = math.nan
    with_nan = evaluate_trigger(CPU, times, values, at=END, step_s=STEP)
    assert with_nan.state is TriggerState.PENDING and with_nan.since == times[6]


def test_no_metric_no_data_and_old_points() -> None:
    assert evaluate_trigger(LATENCY, None, None, at=END, step_s=STEP).text(END) == (
        "no latency metric for this instance"
    )
    old = evaluate_trigger(CPU, *series(90.0, 90.0, end=END - 300), at=END, step_s=STEP)
    assert old.state is TriggerState.NO_DATA


def test_thresholds_are_data_and_the_texts() -> None:
    rules = with_threshold(SCALING_TRIGGERS, "ScaleOutMemory", 1.0)
    assert rules[1].threshold == 1.0 and rules[1].condition == "memory > 1 % for 5 min"
    assert LATENCY.condition == "p95 latency > 500 ms for 2 min"
    assert ERRORS.condition == "error rate > 1 % for 1 min"
    with pytest.raises(ValueError):
        with_threshold(SCALING_TRIGGERS, "Nope", 1.0)
    assert duration_text(3 * 3600 + 20 * 60) == "3 h 20 min"
    assert countdown_text(200) == "fires in 3 min 20 s" and countdown_text(0) == "fires now"


@dataclass
class S:  # a range series
    labels: dict[str, str]
    times: np.ndarray = field(default_factory=lambda: np.array([]))
    values: np.ndarray = field(default_factory=lambda: np.array([]))


@dataclass
class V:  # an instant sample
    labels: dict[str, str]
    value: float
    time: float = END


def test_a_host_that_stopped_reporting_reads_no_data_since_never_zero() -> None:
    grid = END - 3600 + STEP * np.arange(121)
    up_host, down_host = {"instance": "a:9100"}, {"instance": "b:9100"}
    stopped = grid <= END - 600
    answers = InfraAnswers(
        cpu_busy_pct=[
            S(up_host, grid, np.full(121, 35.0)),
            S(down_host, grid[stopped], np.zeros(stopped.sum())),
        ],
        cpu_by_mode=[
            S(up_host | {"mode": "user"}, grid, np.full(121, 30.0)),
            S(up_host | {"mode": "idle"}, grid, np.full(121, 65.0)),
            S(up_host | {"mode": "system"}, grid, np.full(121, 5.0)),
            S(down_host | {"mode": "user"}, grid[stopped], np.full(stopped.sum(), 0.0)),
        ],
        memory_used_pct=[
            S(up_host, grid, np.full(121, 50.0)),
            S(down_host, grid[stopped], np.zeros(stopped.sum())),
        ],
        fs_used_pct=[
            V(up_host | {"mountpoint": "/", "fstype": "ext4"}, 91.0),
            V(up_host | {"mountpoint": "/dev/shm", "fstype": "tmpfs"}, 99.0),
            V(up_host | {"mountpoint": "/data", "fstype": "xfs"}, 40.0),
        ],
        fs_fill_s=[V(up_host | {"mountpoint": "/", "fstype": "ext4"}, 12000.0)],
        load=[V(up_host | {"__name__": f"node_load{n}"}, n / 10) for n in (1, 5, 15)],
        up=[V(up_host, 1.0), V(down_host, 0.0)],
        last_sample_at=[S(up_host, grid, grid - 1), S(down_host, grid[stopped], grid[stopped] - 1)],
        cpu_mode_now=[
            V(up_host | {"mode": m}, v) for m, v in (("user", 30.0), ("system", 5.0), ("idle", 65.0))
        ],
        net_errors_per_s=[V(up_host, math.inf)],
    )
    snapshot = build_snapshot(
        answers, prometheus_url="http://prom:9090", evaluated_at=END, window_s=3600, step_s=STEP
    )
    up, down = snapshot.instances
    assert up.instance == "a:9100" and up.reporting and up.state_text() == "up"
    assert up.cpu_busy_pct == pytest.approx(35.0) and up.memory_used_pct == 50.0
    assert up.cpu_by_mode == {"user": 30.0, "system": 5.0, "idle": 65.0}
    assert [fs.mountpoint for fs in up.filesystems] == ["/", "/data"], "tmpfs is left out"
    fullest = up.fullest()
    assert fullest is not None and fullest.fill_text() == "full in 3 h 20 min"
    assert up.filesystems[1].fill_text() == "not filling"
    assert up.load == (0.1, 0.5, 1.5)
    assert [t.state for t in up.triggers] == [
        TriggerState.OK, TriggerState.OK, TriggerState.NO_METRIC, TriggerState.NO_METRIC,
    ]  # fmt: skip
    assert not down.reporting and down.state_text().startswith("no data since ")
    assert down.last_sample_at == END - 600 - 1
    assert down.cpu_busy_pct is None and down.memory_used_pct is None and down.load is None
    assert [t.state for t in down.triggers] == [
        TriggerState.NO_DATA, TriggerState.NO_DATA, TriggerState.NO_METRIC, TriggerState.NO_METRIC,
    ]  # fmt: skip
    # a live target without node metrics (a service, Alertmanager) is not a host; a target that is down
    # and reported nothing in the window may be one, and is listed as not reporting
    targets = build_snapshot(
        InfraAnswers(up=[V({"instance": "svc:8080"}, 1.0), V({"instance": "gone:9100"}, 0.0)]),
        prometheus_url="http://prom:9090", evaluated_at=END, window_s=3600, step_s=STEP,
    ).instances  # fmt: skip
    assert [t.instance for t in targets] == ["gone:9100"]
    gone = targets[0]
    assert not gone.reporting and gone.cpu_busy_pct is None and gone.load is None
    assert np.isnan(down.history.memory_used_pct[-1]) and down.history.memory_used_pct[0] == 0.0

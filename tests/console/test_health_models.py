"""The matrix and record table models: text in every cell, ages, staleness, and batched change signals."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt

from nexus_console.domain.health import Probe, ProbeOutcome, ProbeResult, ProbeSweep
from nexus_console.domain.prom_metrics import MetricsSample
from nexus_console.domain.service_catalog import ServiceCatalog
from nexus_console.models.health_cells import (
    GROUP_ROLE,
    P95_COLUMN,
    PROBE_COLUMNS,
    STALE_ROLE,
    format_cell_age,
    format_short_age,
)
from nexus_console.models.health_matrix import HealthMatrixModel
from nexus_console.models.health_tables import Column, RecordTableModel


def catalog(*names_by_namespace: tuple[str, list[str]]) -> ServiceCatalog:
    items = []
    for namespace, names in names_by_namespace:
        for name in names:
            base = f"http://127.0.0.1:1/svc/{name}"
            items.append(
                {
                    "name": name,
                    "namespace": namespace,
                    "port": 1,
                    "tier": 1,
                    "description": "",
                    "health_url": base + "/health",
                    "live_url": base + "/health/live",
                    "ready_url": base + "/health/ready",
                    "metrics_url": base + "/metrics",
                }
            )
    return ServiceCatalog.from_json({"items": items})


def sweep(at: float, outcomes: dict[tuple[str, Probe], ProbeOutcome], detail: str = "") -> ProbeSweep:
    return ProbeSweep(
        at - 1,
        at,
        tuple(
            ProbeResult(
                service, probe, outcome, at, 12.0, 200, detail if outcome is not ProbeOutcome.UP else ""
            )
            for (service, probe), outcome in outcomes.items()
        ),
    )


class SignalLog:
    def __init__(self, model: Any) -> None:
        self.changed: list[tuple[int, int, int, int]] = []
        self.resets = 0
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        model.dataChanged.connect(
            lambda tl, br, roles=(): self.changed.append((tl.row(), br.row(), tl.column(), br.column()))
        )
        model.modelReset.connect(self._reset)
        model.rowsInserted.connect(lambda _p, first, last: self.inserted.append((first, last)))
        model.rowsRemoved.connect(lambda _p, first, last: self.removed.append((first, last)))

    def _reset(self) -> None:
        self.resets += 1


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def model(qapp: Any, clock: list[float]) -> HealthMatrixModel:
    model = HealthMatrixModel(clock=lambda: clock[0], probe_interval_s=5.0)
    model.set_catalog(catalog(("core", ["a", "b", "c"]), ("edge", ["d"])))
    return model


def test_rows_are_namespace_groups_followed_by_their_services(model: HealthMatrixModel) -> None:
    assert model.rowCount() == 6
    assert model.index(0, 0).data(GROUP_ROLE) is True
    assert model.index(0, 0).data().startswith("core (3)")
    assert [model.service_at(r).name if model.service_at(r) else None for r in range(6)] == [
        None,
        "a",
        "b",
        "c",
        None,
        "d",
    ]
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsSelectable


def test_each_cell_has_a_text_label_an_age_a_colour_and_the_exact_reason(
    model: HealthMatrixModel, clock: list[float]
) -> None:
    model.set_sweep(
        sweep(
            1000.0,
            {("a", Probe.HEALTH): ProbeOutcome.UP, ("b", Probe.READY): ProbeOutcome.TIMEOUT},
            detail="timeout after 2.0 s",
        )
    )
    clock[0] = 1003.0
    up = model.index(model.row_of("a"), PROBE_COLUMNS[Probe.HEALTH])
    timeout = model.index(model.row_of("b"), PROBE_COLUMNS[Probe.READY])
    unknown = model.index(model.row_of("c"), PROBE_COLUMNS[Probe.LIVE])
    assert up.data() == "UP <5s"
    assert timeout.data() == "TIMEOUT <5s"
    assert "timeout after 2.0 s" in timeout.data(Qt.ItemDataRole.ToolTipRole)
    assert (
        up.data(Qt.ItemDataRole.BackgroundRole).color()
        != timeout.data(Qt.ItemDataRole.BackgroundRole).color()
    )
    assert unknown.data() == "—"
    assert unknown.data(STALE_ROLE) is True


def test_a_cell_older_than_three_intervals_is_marked_stale_but_keeps_its_text(
    model: HealthMatrixModel, clock: list[float]
) -> None:
    model.set_sweep(sweep(1000.0, {("a", Probe.HEALTH): ProbeOutcome.UP}))
    index = model.index(model.row_of("a"), PROBE_COLUMNS[Probe.HEALTH])
    assert index.data(STALE_ROLE) is False
    clock[0] = 1016.0
    assert index.data(STALE_ROLE) is True
    assert index.data() == "UP 15s"


def test_a_new_sweep_signals_only_the_changed_rows_as_spans_and_never_resets(
    model: HealthMatrixModel,
) -> None:
    all_up = {(s, p): ProbeOutcome.UP for s in "abcd" for p in Probe}
    model.set_sweep(sweep(1000.0, all_up))
    log = SignalLog(model)
    changed = dict(all_up)
    changed[("b", Probe.LIVE)] = ProbeOutcome.DOWN
    changed[("c", Probe.HEALTH)] = ProbeOutcome.DOWN
    later = sweep(1000.0, changed)
    model.set_sweep(later)
    probe_spans = [c for c in log.changed if c[2] == PROBE_COLUMNS[Probe.HEALTH]]
    # b and c are adjacent rows: one span for both.
    assert probe_spans == [(model.row_of("b"), model.row_of("c"), 1, 4)]
    assert log.resets == 0
    log.changed.clear()
    model.set_sweep(later)  # nothing new
    assert [c for c in log.changed if c[2] == PROBE_COLUMNS[Probe.HEALTH]] == []


def test_the_same_catalogue_again_changes_nothing_and_a_new_service_rebuilds_once(
    model: HealthMatrixModel,
) -> None:
    log = SignalLog(model)
    model.set_catalog(catalog(("core", ["a", "b", "c"]), ("edge", ["d"])))
    assert log.resets == 0
    model.set_catalog(catalog(("core", ["a", "b", "c", "e"]), ("edge", ["d"])))
    assert log.resets == 1
    assert model.row_of("e") == 4


def test_refreshing_ages_signals_only_the_rows_whose_cells_now_read_differently(
    model: HealthMatrixModel, clock: list[float]
) -> None:
    model.set_sweep(sweep(1000.0, {("a", Probe.HEALTH): ProbeOutcome.UP, ("c", Probe.LIVE): ProbeOutcome.UP}))
    a, c = model.row_of("a"), model.row_of("c")
    clock[0] = 1001.0
    model.refresh_ages()
    log = SignalLog(model)
    clock[0] = 1004.0
    model.refresh_ages()
    assert log.changed == [], "both still read <5s: nothing to repaint"
    clock[0] = 1005.0
    model.refresh_ages()
    assert log.changed == [(a, a, 1, 4), (c, c, 1, 4)]
    assert model.index(a, PROBE_COLUMNS[Probe.HEALTH]).data() == "UP 5s"
    log.changed.clear()
    clock[0] = 1016.0  # three intervals: stale, and the age moved on
    model.refresh_ages()
    assert log.changed == [(a, a, 1, 4), (c, c, 1, 4)]
    assert model.index(c, PROBE_COLUMNS[Probe.LIVE]).data(STALE_ROLE) is True


@pytest.mark.parametrize(
    ("age", "text"), [(0.4, "<5s"), (4.9, "<5s"), (5, "5s"), (59, "55s"), (61, "1m"), (3700, "1h")]
)
def test_probe_cells_show_ages_in_steps_of_a_probe_interval(age: float, text: str) -> None:
    assert format_cell_age(age) == text


def test_metric_cells_show_p95_with_the_sla_colour_and_grey_when_stale(model: HealthMatrixModel) -> None:
    sample = MetricsSample(1000.0, 50.0, 1.0, 0.5, 40.0, 650.0, 900.0, 10.0, 80.0)
    model.set_metrics({"a": sample}, {"b": "timeout after 1.5 s"})
    p95 = model.index(model.row_of("a"), P95_COLUMN)
    assert p95.data() == "650 ms"
    assert p95.data(Qt.ItemDataRole.ForegroundRole).color().name() == "#ff6b5e"
    failed = model.index(model.row_of("b"), P95_COLUMN)
    assert failed.data() == "ERR"
    assert "timeout after 1.5 s" in failed.data(Qt.ItemDataRole.ToolTipRole)
    model.set_metrics({"a": sample}, {}, stale=True)
    assert p95.data(STALE_ROLE) is True


@pytest.mark.parametrize(("age", "text"), [(0.4, "0s"), (59, "59s"), (61, "1m"), (3700, "1h")])
def test_short_ages(age: float, text: str) -> None:
    assert format_short_age(age) == text


def test_record_table_updates_in_place_with_inserts_and_removals_at_the_end(qapp: Any) -> None:
    model = RecordTableModel([Column("name", lambda r: r["name"]), Column("v", lambda r: r["v"], str, True)])
    log = SignalLog(model)
    model.set_records([{"name": "x", "v": 1}, {"name": "y", "v": 2}])
    assert log.inserted == [(0, 1)]
    model.set_records([{"name": "x", "v": 1}, {"name": "y", "v": 3}, {"name": "z", "v": 4}])
    assert log.changed == [(1, 1, 0, 1)]
    assert log.inserted[-1] == (2, 2)
    model.set_records([{"name": "x", "v": 1}])
    assert log.removed == [(1, 2)]
    assert log.resets == 0
    assert model.index(0, 1).data() == "1"
    model.set_records([{"name": "x", "v": 1}], stale=True)
    assert model.index(0, 0).data(STALE_ROLE) is True
    assert model.rowCount(QModelIndex()) == 1


def test_services_that_leave_the_catalogue_are_forgotten(model: HealthMatrixModel) -> None:
    model.set_sweep(
        sweep(1000.0, {("a", Probe.HEALTH): ProbeOutcome.UP, ("d", Probe.HEALTH): ProbeOutcome.UP})
    )
    model.set_catalog(catalog(("edge", ["d"])))
    assert model.result("a", Probe.HEALTH) is None
    assert model.result("d", Probe.HEALTH) is not None
    assert model.service_names() == ["d"]


def test_a_failed_scrape_keeps_the_services_last_figures_greyed_with_the_reason(
    model: HealthMatrixModel,
) -> None:
    sample = MetricsSample(1000.0, 50.0, 1.0, 0.5, 40.0, 180.0, 300.0, 10.0, 80.0)
    model.set_metrics({"a": sample}, {})
    model.set_metrics({}, {"a": "cannot connect to 127.0.0.1:1"})
    p95 = model.index(model.row_of("a"), P95_COLUMN)
    assert p95.data() == "180 ms"
    assert p95.data(STALE_ROLE) is True
    assert p95.data(Qt.ItemDataRole.ForegroundRole).color().name() == "#9aa0a6"
    assert "last scrape failed: cannot connect" in p95.data(Qt.ItemDataRole.ToolTipRole)

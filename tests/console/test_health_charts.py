"""Charts: export to PNG and CSV, the stale overlay, the all-services overview layout, flat memory."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage

from nexus_console.domain.prom_metrics import MetricsHistory, MetricsSample
from nexus_console.views.charts import LiveChart
from nexus_console.views.overview_chart import OverviewChart


@pytest.fixture
def chart(qapp: Any) -> Any:
    chart = LiveChart("Request rate", y_label="req/s")
    chart.add_series("rps", "all", "#4fa3ff")
    chart.add_series("rps_5xx", "5xx", "#ff5e5e")
    chart.add_threshold(200.0, "SLA p95 200 ms", "#d0b040")
    chart.resize(640, 320)
    chart.show()
    yield chart
    chart.hide()
    chart.deleteLater()


def test_a_chart_exports_a_png_of_what_it_shows(chart: LiveChart, tmp_path: Path) -> None:
    times = np.arange(1_000_000.0, 1_000_060.0)
    chart.set_series_data("rps", times, np.linspace(0, 100, 60))
    chart.set_time_window(times[-1])
    path = tmp_path / "chart.png"
    chart.export_png(path)
    image = QImage(str(path))
    assert not image.isNull()
    assert (image.width(), image.height()) == (chart.width(), chart.height())


def test_a_chart_exports_its_data_as_csv_with_gaps_left_empty(chart: LiveChart, tmp_path: Path) -> None:
    times = np.array([1_700_000_000.0, 1_700_000_001.0, 1_700_000_002.0])
    chart.set_series_data("rps", times, np.array([1.5, math.nan, 3.25]))
    chart.set_series_data("rps_5xx", times, np.array([0.0, math.nan, 0.5]))
    path = tmp_path / "chart.csv"
    chart.export_csv(path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["time_utc", "epoch_s", "rps", "rps_5xx"]
    assert rows[1] == ["2023-11-14T22:13:20Z", "1700000000.000", "1.5", "0"]
    assert rows[2][2:] == ["", ""]
    assert rows[3][2:] == ["3.25", "0.5"]


def test_export_actions_are_offered_in_the_context_menu_and_as_actions(chart: LiveChart) -> None:
    menu = chart.plot_item.getViewBox().menu
    assert chart.export_png_action in menu.actions()
    assert chart.export_csv_action in menu.actions()
    assert chart.export_png_action in chart.actions()


def test_a_stale_chart_keeps_its_data_greys_it_and_says_why(chart: LiveChart) -> None:
    times = np.arange(10.0)
    chart.set_series_data("rps", times, np.arange(10.0))
    chart.set_stale("stale since 12:00:00 — timeout after 2.0 s")
    assert not chart.overlay.isHidden()
    assert "timeout after 2.0 s" in chart.overlay.text()
    _x, y = chart.series_data("rps")
    assert len(y) == 10, "stale data stays on the chart"
    curve = chart._series["rps"].curve
    assert curve.opts["pen"].color().name() == "#6b7078"
    chart.set_stale(None)
    assert chart.overlay.isHidden()
    assert curve.opts["pen"].color().name() == "#4fa3ff"


def test_the_overview_draws_every_service_with_one_curve_per_kind_at_display_resolution(qapp: Any) -> None:
    overview = OverviewChart(columns=4, bins=300)
    overview.resize(1600, 1000)
    names = [f"svc-{i}" for i in range(44)]
    overview.set_services(names)
    rng = np.random.default_rng(3)
    series = {kind: rng.uniform(0, 100, (44, 3600)) for kind in ("rps", "p95_ms", "rps_5xx")}
    series["rps"][7, :1800] = np.nan  # a service that appeared half an hour ago
    overview.set_data(series, np.arange(3600.0))
    x, y = overview.curve_data("rps")
    assert x is not None and y is not None
    # 600 points per service (min and max of 300 bins) plus one NaN separator each.
    assert len(x) == 44 * 601
    assert int(np.isnan(y).sum()) == 44 + 300  # separators, plus the empty first half of service 7
    # Only the graphics items of one plot: 3 data curves, frames, guide lines and labels.
    assert len(overview.plot_item.listDataItems()) == 5
    overview.deleteLater()


def test_the_overview_exports_full_resolution_csv(qapp: Any, tmp_path: Path) -> None:
    overview = OverviewChart()
    overview.set_services(["a", "b"])
    data = {kind: np.ones((2, 5)) for kind in ("rps", "p95_ms", "rps_5xx")}
    overview.set_data(data, np.arange(1_700_000_000.0, 1_700_000_005.0))
    path = tmp_path / "overview.csv"
    overview.export_csv(path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["service", "series", "time_utc", "epoch_s", "value"]
    assert len(rows) == 1 + 3 * 2 * 5
    overview.deleteLater()


def test_an_hour_and_more_of_samples_for_44_services_uses_fixed_memory() -> None:
    history = MetricsHistory()
    sample = MetricsSample(0.0, 1, 0, 0, 10, 20, 30, 5, 50)
    names = [f"svc-{i}" for i in range(44)]
    for name in names:
        history.record(name, sample)
    allocated = history.nbytes
    for step in range(4000):
        for name in names:
            history.record(name, sample) if step % 7 else history.record_gap(name, float(step))
    assert history.nbytes == allocated
    assert all(len(history.ring(n)) == 3600 for n in names)
    # Each ring holds every sample twice (so the last hour is one contiguous view): float64 times and
    # eight float32 columns, 2 × 3,600 slots, for 44 services: about 12.7 MB in all.
    assert allocated == 44 * 2 * 3600 * (8 + 8 * 4)


def test_the_detail_charts_show_the_selected_service_and_zoom_to_the_chosen_window(qapp: Any) -> None:
    from nexus_console.views.health.service_detail import ServiceDetail

    history = MetricsHistory()
    for second in range(600):
        history.record("a", MetricsSample(1000.0 + second, 10, 1, 0.5, 20, 180, 400, 5, 50))
        history.record("b", MetricsSample(1000.0 + second, 99, 0, 0, 20, 180, 400, 5, 50))
    history.finish_round()
    detail = ServiceDetail()
    detail.show_service("b")
    assert detail.redraw(history, now=1600.0, stale_text=None)
    assert not detail.redraw(history, now=1600.0, stale_text=None), "nothing new: no redraw"
    _x, rps = detail.rate_chart.series_data("rps")
    assert len(rps) == 600 and float(rps[-1]) == 99.0
    (x_min, x_max), _ = detail.latency_chart.plot_item.getViewBox().viewRange()
    # "last hour" with ten minutes of history fits those ten minutes rather than an hour mostly empty (the
    # right edge at the next step of the time axis: a minute in an hour)
    assert x_min == pytest.approx(1000.0, abs=1)
    assert 1600.0 <= x_max <= 1660.0
    for second in range(600, 3900):
        history.record("b", MetricsSample(1000.0 + second, 99, 0, 0, 20, 180, 400, 5, 50))
    history.finish_round()
    assert detail.redraw(history, now=4900.0, stale_text=None)
    (x_min, x_max), _ = detail.latency_chart.plot_item.getViewBox().viewRange()
    assert x_max - x_min == pytest.approx(3600, rel=0.02)
    detail.window_choice.setCurrentIndex(0)  # last 5 min
    assert detail.redraw(history, now=4900.0, stale_text=None)
    (x_min, x_max), _ = detail.latency_chart.plot_item.getViewBox().viewRange()
    assert x_max - x_min == pytest.approx(300, rel=0.02)
    assert "p95 180 ms" in detail.latency_chart.caption.text()
    detail.deleteLater()


def test_a_young_series_fills_the_chart_even_when_it_starts_with_an_hour_of_gaps(chart: LiveChart) -> None:
    """Just after start the ring buffer holds an hour of empty slots before the first answer: the chart
    fits the real data instead of squeezing it against the right edge."""
    times = np.arange(1_000_000.0, 1_003_600.0, 10.0)
    values = np.full(len(times), math.nan)
    values[-12:] = 50.0  # two minutes of data
    chart.set_series_data("rps", times, values)
    chart.set_time_window(times[-1])
    start, end = chart.plot_item.getViewBox().viewRange()[0]
    assert times[-1] <= end <= times[-1] + (end - start) / 10  # little empty space at the right
    assert end - start < 600  # not the whole hour
    assert start <= times[-12]


def test_the_series_key_is_above_the_plot_where_it_covers_no_threshold_label(chart: LiveChart) -> None:
    assert chart.plot_item.legend is None, "no legend drawn inside the plot"
    assert chart.key.isVisible()
    key = chart.key.text()
    assert "all" in key and "5xx" in key and "#4fa3ff" in key
    assert chart.key.geometry().bottom() <= chart.plot_widget.geometry().top()


def _value_range(chart: LiveChart) -> tuple[float, float]:
    low, high = chart.plot_item.getViewBox().viewRange()[1]
    return low, high


def _show(chart: LiveChart, times: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Feed the chart as its owner does (data, then the window to the newest sample): the time span shown."""
    chart.set_series_data("rps", times, values)
    chart.set_time_window(times[-1])
    start, end = chart.plot_item.getViewBox().viewRange()[0]
    return start, end


def test_the_value_axis_holds_the_data_in_view_and_the_thresholds_and_stays_while_they_fit(
    chart: LiveChart,
) -> None:
    times = np.arange(1_000_000.0, 1_000_300.0)
    _show(chart, times, np.full(300, 120.0))
    assert _value_range(chart) == (0.0, 250.0)  # the 200 threshold with headroom, from zero
    _show(chart, times, np.concatenate([np.full(299, 120.0), [180.0]]))
    assert _value_range(chart) == (0.0, 250.0)  # a new value inside the range moves nothing
    _show(chart, times, np.concatenate([np.full(299, 120.0), [900.0]]))
    low, high = _value_range(chart)
    assert low == 0.0 and high >= 900.0


def test_a_zoom_by_hand_stays_until_auto_is_chosen_again(chart: LiveChart) -> None:
    times = np.arange(1_000_000.0, 1_000_300.0)
    chart.set_series_data("rps", times, np.full(300, 120.0))
    chart.set_time_window(times[-1])
    view_box = chart.plot_item.getViewBox()
    view_box.scaleBy(y=0.5)  # as the mouse wheel does
    view_box.sigRangeChangedManually.emit(view_box.state["mouseEnabled"])
    zoomed = _value_range(chart)
    chart.set_series_data("rps", times, np.full(300, 900.0))
    chart.set_time_window(times[-1])
    assert _value_range(chart) == pytest.approx(zoomed)
    view_box.enableAutoRange(axis=view_box.YAxis)  # the view menu's "Auto"
    low, high = _value_range(chart)
    assert low == 0.0 and high >= 900.0


def test_the_time_axis_moves_on_in_steps_and_the_newest_sample_is_always_in_view(chart: LiveChart) -> None:
    chart.window_s = 300.0
    times = np.arange(999_000.0, 1_000_300.0)  # more than the window: the chart shows a full window
    ends = set()
    for last in range(1290, 1300):
        _start, end = _show(chart, times[: last + 1], np.full(last + 1, 10.0))
        assert end >= times[last]
        ends.add(end)
    assert len(ends) <= 3  # ten seconds of samples, the axis moved at most twice (5 s steps)


def test_young_data_is_fitted_into_spans_that_grow_a_tenth_at_a_time(chart: LiveChart) -> None:
    times = np.arange(1_000_000.0, 1_000_200.0)
    spans = []
    for last in range(100, 200):
        start, end = _show(chart, times[: last + 1], np.full(last + 1, 10.0))
        assert start == times[0] and end >= times[last]
        assert end - times[last] <= 0.1 * (end - start) + 1  # the newest sample near the right edge
        spans.append(round(end - start, 3))
    assert len(set(spans)) <= 8  # a hundred seconds of samples, the axis re-laid a few times, not 100


def test_in_its_first_minute_a_chart_shows_the_last_minute_with_the_newest_sample_at_the_right(
    chart: LiveChart,
) -> None:
    times = np.arange(1_000_000.0, 1_000_030.0)
    start, end = _show(chart, times, np.full(30, 10.0))
    assert end - start == pytest.approx(60.0)
    assert times[-1] <= end <= times[-1] + 5.0

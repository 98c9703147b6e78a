"""`LiveChart`: the reusable time-series chart, a few curves over the last hour, on pyqtgraph."""

from __future__ import annotations

import csv
import html
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QGraphicsItem, QLabel, QWidget

from nexus_console.domain.chart_range import steady_range
from nexus_console.views.chart_base import (
    AXIS_COLOUR,
    CAPTION_STYLE,
    CHART_BACKGROUND,
    STALE_CURVE_COLOUR,
    ask_save_path,
    csv_number,
    iso_utc,
    lay_out_chart,
    save_png,
)

TIME_STEPS_PER_WINDOW = 60  # a full time axis moves on by a 60th of its window at a time
FIT_GROWTH = 1.1  # young data is fitted into spans that grow by a tenth
FIRST_MINUTE_STEPS = 12  # in its first minute, a chart shows the last minute, moving on 5 s at a time
MIN_FIT_SPAN_S = 60.0  # the narrowest time span a chart fits young data into (a minute: ticks stay readable)


@dataclass(slots=True)
class _Series:
    label: str
    curve: pg.PlotDataItem
    pen: QColor
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.floating]


def first_finite_x(x: npt.NDArray[np.float64], y: npt.NDArray[np.floating]) -> float | None:
    """The time of the first real value: a series may begin with gaps (NaN) before its source answered."""
    finite = np.flatnonzero(np.isfinite(y))
    return float(x[finite[0]]) if len(finite) else None


class LiveChart(QWidget):
    """One PlotWidget with a few curves over a fixed time window (the last hour), threshold lines, a caption
    for the newest values and their age, export to PNG and CSV, and a stale overlay that greys the curves and
    says "stale since HH:MM:SS — reason". It owns no timer: its owner calls `set_series_data`, then
    `set_time_window`, when new data came."""

    def __init__(
        self,
        title: str,
        *,
        y_label: str = "",
        y_unit: str = "",
        window_s: float = 3600.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.window_s = window_s
        self._series: dict[str, _Series] = {}
        self._thresholds: list[pg.InfiniteLine] = []
        self._stale_text: str | None = None
        self._stale_pen = pg.mkPen(STALE_CURVE_COLOUR, width=1)

        self.caption = QLabel(title, self)
        self.caption.setStyleSheet(CAPTION_STYLE)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)  # a narrow chart wraps its figures rather than cutting them
        self.plot_widget = pg.PlotWidget(background=CHART_BACKGROUND, axisItems={"bottom": pg.DateAxisItem()})
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("left", y_label, units=y_unit or None, color=AXIS_COLOUR)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        self.plot_item.setMenuEnabled(True)
        self.plot_item.hideButtons()
        self.plot_item.setClipToView(True)
        self.plot_item.setDownsampling(auto=True, mode="peak")
        # The value range is fitted here, on new data (`_fit_values`), not by pyqtgraph's auto-range: that
        # one moves with every sample (the axis drawn again each second) and, fitted while painting, asked
        # for a second paint of every update. A zoom or pan by hand stops the fitting, as pyqtgraph's does;
        # the view menu's "Auto" for the value axis starts it again.
        self.plot_item.disableAutoRange()
        self._follow_values = True
        self._value_range: tuple[float, float] | None = None
        view_box = self.plot_item.getViewBox()
        view_box.sigRangeChangedManually.connect(self._stop_following)
        view_box.sigStateChanged.connect(self._on_view_state)
        # The series key sits above the plot, not in it: inside, it covered the threshold labels and data.
        self.key = QLabel(self)
        self.key.setObjectName("chartKey")
        self.key.setWordWrap(True)  # many series wrap onto a second line; they never widen the pane
        self.key.setStyleSheet("QLabel { color: #d5d8dc; font-size: 8pt; padding: 0 4px; }")
        for axis in ("left", "bottom"):
            self.plot_item.getAxis(axis).setTextPen(AXIS_COLOUR)
            self.plot_item.getAxis(axis).setPen(AXIS_COLOUR)
            # Axes (with their grid lines) replay a QPicture on every repaint of the plot: several ms per
            # axis. A pixmap cache makes a repaint that did not move the axis a blit; a moved axis
            # invalidates it through update().
            self.plot_item.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Values are already in the unit of the label: no "(x0.001)" rescaling.
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)

        self.overlay = lay_out_chart(self, self.caption, self.plot_widget)
        self.layout().insertWidget(1, self.key)  # type: ignore[union-attr]

        self.export_png_action = QAction(f"Export “{title}” as PNG…", self)
        self.export_png_action.triggered.connect(self._choose_png_path)
        self.export_csv_action = QAction(f"Export “{title}” data as CSV…", self)
        self.export_csv_action.triggered.connect(self._choose_csv_path)
        self.addAction(self.export_png_action)
        self.addAction(self.export_csv_action)
        menu = self.plot_item.getViewBox().menu
        if menu is not None:
            menu.addSeparator()
            menu.addAction(self.export_png_action)
            menu.addAction(self.export_csv_action)
        self.set_time_window(time.time())

    # ---- building --------------------------------------------------------------------------------

    def add_series(self, key: str, label: str, colour: str) -> None:
        pen = pg.mkPen(colour, width=1)  # 1 px pens: wider ones make Qt's raster painter crawl
        curve = self.plot_item.plot(
            [], [], pen=pen, name=label, connect="finite", clipToView=True, autoDownsample=True
        )
        curve.setDownsampling(auto=True, method="peak")
        self._series[key] = _Series(label, curve, QColor(colour), np.empty(0), np.empty(0))
        self.key.setText(
            "&nbsp;&nbsp;".join(
                f"<span style='color:{s.pen.name()}'>━</span> {html.escape(s.label)}"
                for s in self._series.values()
            )
        )

    def add_threshold(self, value: float, label: str, colour: str) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            pos=value,
            angle=0,
            movable=False,
            pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
            label=label,
            labelOpts={"position": 0.02, "color": colour, "anchors": [(0, 1), (0, 1)]},
        )
        self.plot_item.addItem(line)  # counted in the y auto-range: a threshold is always in view
        self._thresholds.append(line)
        return line

    def add_overlay_item(self, item: pg.GraphicsObject) -> None:
        """Draw `item` (an incident band, a mark) over the time axis without counting it in the ranges:
        it never moves or rescales the view."""
        self.plot_item.addItem(item, ignoreBounds=True)

    def remove_overlay_item(self, item: pg.GraphicsObject) -> None:
        self.plot_item.removeItem(item)

    # ---- feeding ---------------------------------------------------------------------------------

    def set_series_data(self, key: str, x: npt.NDArray[np.float64], y: npt.NDArray[np.floating]) -> None:
        series = self._series[key]
        series.x, series.y = x, y
        series.curve.setData(x, y, connect="finite")

    def set_time_window(self, end_s: float) -> None:
        """Show the window up to `end_s`; while the data is younger than the window, fit the data (at least
        MIN_FIT_SPAN_S) instead of squeezing it against the right edge of an empty hour.

        The time axis moves on in steps, not with every sample, the newest sample drawn into the space left
        at the right: a full window by a 60th of itself (5 s of five minutes), data younger than the window
        from its first sample, in spans that grow a tenth at a time from a minute, and in the first minute
        the last minute, by 5 s. The axis, its labels and grid are then not laid out again each second
        (they were half of what a live chart's repaint cost)."""
        firsts = [first for s in self._series.values() if (first := first_finite_x(s.x, s.y)) is not None]
        first = min(firsts) if firsts else None
        if first is not None and first > end_s - MIN_FIT_SPAN_S:
            # the first minute: the last minute in view, the newest sample near the right edge
            step = MIN_FIT_SPAN_S / FIRST_MINUTE_STEPS
            end_s = math.ceil(end_s / step) * step
            start = end_s - MIN_FIT_SPAN_S
        elif first is not None and first > end_s - self.window_s:
            growths = math.ceil(math.log((end_s - first) / MIN_FIT_SPAN_S, FIT_GROWTH) - 1e-9)
            start = first
            end_s = first + min(self.window_s, MIN_FIT_SPAN_S * FIT_GROWTH**growths)
        else:
            step = self.window_s / TIME_STEPS_PER_WINDOW
            end_s = math.ceil(end_s / step) * step
            start = end_s - self.window_s
        self.plot_item.setXRange(start, end_s, padding=0.0)
        self._fit_values(start)

    def _fit_values(self, start_s: float) -> None:
        """The value axis over what is in view from `start_s`, and the thresholds (always in view)."""
        if not self._follow_values:
            return
        lows, highs = [], []
        for series in self._series.values():
            shown = series.y[np.searchsorted(series.x, start_s) :]
            shown = shown[np.isfinite(shown)]
            if shown.size:
                lows.append(float(shown.min()))
                highs.append(float(shown.max()))
        for line in self._thresholds:
            lows.append(float(line.value()))
            highs.append(float(line.value()))
        if not highs:
            return
        fitted = steady_range(min(lows), max(highs), self._value_range)
        if fitted != self._value_range:
            self._value_range = fitted
            self.plot_item.setYRange(*fitted, padding=0.0)

    def _stop_following(self, *_changed: object) -> None:
        self._follow_values = False
        self._value_range = None

    def _on_view_state(self, view_box: pg.ViewBox) -> None:
        if view_box.state["autoRange"][1] is not False:  # "Auto" chosen in the view menu
            view_box.disableAutoRange(axis=pg.ViewBox.YAxis)
            self._follow_values = True
            self.set_time_window(view_box.viewRange()[0][1])

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def set_stale(self, text: str | None) -> None:
        """Grey the curves and show the reason while stale; the data stays on screen."""
        if text == self._stale_text:
            return
        self._stale_text = text
        for series in self._series.values():
            series.curve.setPen(self._stale_pen if text else pg.mkPen(series.pen, width=1))
        self.overlay.set_text(text)

    @property
    def stale_text(self) -> str | None:
        return self._stale_text

    def series_keys(self) -> list[str]:
        return list(self._series)

    def time_span(self) -> tuple[float, float] | None:
        """The oldest and newest time any series holds (epoch s); None while they are all empty."""
        spans = [(float(s.x[0]), float(s.x[-1])) for s in self._series.values() if len(s.x)]
        if not spans:
            return None
        return min(first for first, _ in spans), max(last for _, last in spans)

    def series_data(self, key: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.floating]]:
        series = self._series[key]
        return series.x, series.y

    # ---- export ----------------------------------------------------------------------------------

    def export_png(self, path: str | Path) -> None:
        save_png(self, path)

    def export_csv(self, path: str | Path) -> None:
        """Wide CSV (time + one column per series) when the series share a time axis, else long CSV."""
        series = list(self._series.items())
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            shared = all(
                s.x.shape == series[0][1].x.shape and np.array_equal(s.x, series[0][1].x) for _, s in series
            )
            if series and shared:
                writer.writerow(["time_utc", "epoch_s", *(key for key, _ in series)])
                for i, t in enumerate(series[0][1].x):
                    values = [csv_number(s.y[i]) for _, s in series]
                    writer.writerow([iso_utc(t), f"{t:.3f}", *values])
            else:
                writer.writerow(["series", "time_utc", "epoch_s", "value"])
                for key, s in series:
                    for t, v in zip(s.x, s.y, strict=True):
                        writer.writerow([key, iso_utc(t), f"{t:.3f}", csv_number(v)])

    def _choose_png_path(self) -> None:
        ask_save_path(self, f"{self.title.replace(' ', '_')}.png", "PNG image (*.png)", self.export_png)

    def _choose_csv_path(self) -> None:
        ask_save_path(self, f"{self.title.replace(' ', '_')}.csv", "CSV (*.csv)", self.export_csv)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._stale_text:
            self.overlay.set_text(self._stale_text)

"""Reusable live charts on pyqtgraph.

`LiveChart`: one PlotWidget with a few curves over a fixed time window (the last hour), threshold lines,
a caption for the newest values and their age, export to PNG and CSV, and a stale overlay that greys the
curves and says "stale since HH:MM:SS — reason". It owns no timer: its owner calls `set_series_data` from a
20–30 Hz redraw timer that runs only while visible.

`OverviewChart`: every service at once in ONE PlotItem with one curve per series kind; services are laid
out in a grid by coordinates with NaN separators, each series min/max-decimated to display resolution.
Few graphics items and few points are what make it fast (see the chart benchmark).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QFont
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QLabel, QVBoxLayout, QWidget

from nexus_console.domain.ringbuffer import decimated_positions, minmax_decimate

CHART_BACKGROUND = "#16191e"
AXIS_COLOUR = "#9aa0a6"
STALE_CURVE_COLOUR = "#6b7078"
CAPTION_STYLE = "QLabel { color: #d5d8dc; font-size: 9pt; padding: 1px 4px; }"
OVERLAY_STYLE = (
    "QLabel { background: rgba(40, 32, 10, 215); color: #ffd98a; border: 1px solid #c88a12;"
    " border-radius: 3px; padding: 2px 6px; font-weight: bold; }"
)

pg.setConfigOptions(antialias=False, useOpenGL=False)


MIN_FIT_SPAN_S = 300.0  # the narrowest time span a chart fits young data into


class StaleOverlay(QLabel):
    """A label pinned to the top-left corner of its parent, shown only while the data is stale."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("chartStaleOverlay")
        self.setStyleSheet(OVERLAY_STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def set_text(self, text: str | None) -> None:
        if text:
            self.setText(text)
            self.setToolTip(text)
            self.setWordWrap(True)
            parent = self.parentWidget()
            room = max(200, int(parent.width() * 0.6)) if parent is not None else 600
            one_line = self.fontMetrics().horizontalAdvance(text) + 20
            self.setFixedWidth(min(room, one_line))
            self.setFixedHeight(self.heightForWidth(self.width()))
            self.move(56, 26)
            self.raise_()
            self.show()
        else:
            self.hide()


@dataclass(slots=True)
class _Series:
    label: str
    curve: pg.PlotDataItem
    pen: QColor
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.floating]


class LiveChart(QWidget):
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
        self.plot_widget = pg.PlotWidget(background=CHART_BACKGROUND, axisItems={"bottom": pg.DateAxisItem()})
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("left", y_label, units=y_unit or None, color=AXIS_COLOUR)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        self.plot_item.setMenuEnabled(True)
        self.plot_item.hideButtons()
        self.plot_item.setClipToView(True)
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.enableAutoRange(axis="y", enable=True)
        self.plot_item.disableAutoRange(axis="x")
        self.legend = self.plot_item.addLegend(offset=(-8, 4), labelTextColor="#d5d8dc", labelTextSize="8pt")
        for axis in ("left", "bottom"):
            self.plot_item.getAxis(axis).setTextPen(AXIS_COLOUR)
            self.plot_item.getAxis(axis).setPen(AXIS_COLOUR)
            # Axes (with their grid lines) replay a QPicture on every repaint of the plot: several ms per
            # axis. A pixmap cache makes a repaint that did not move the axis a blit; a moved axis
            # invalidates it through update().
            self.plot_item.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Values are already in the unit of the label: no "(x0.001)" rescaling.
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot_widget, 1)
        self.overlay = StaleOverlay(self)

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

    # ---- feeding ---------------------------------------------------------------------------------

    def set_series_data(self, key: str, x: npt.NDArray[np.float64], y: npt.NDArray[np.floating]) -> None:
        series = self._series[key]
        series.x, series.y = x, y
        series.curve.setData(x, y, connect="finite")

    def set_time_window(self, end_s: float) -> None:
        """Show the window up to `end_s`; while the data is younger than the window, fit the data (at least
        MIN_FIT_SPAN_S) instead of squeezing it against the right edge of an empty hour."""
        start = end_s - self.window_s
        firsts = [float(s.x[0]) for s in self._series.values() if len(s.x)]
        if firsts:
            start = max(start, min(min(firsts), end_s - MIN_FIT_SPAN_S))
        self.plot_item.setXRange(start, end_s, padding=0.0)

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

    def series_data(self, key: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.floating]]:
        series = self._series[key]
        return series.x, series.y

    # ---- export ----------------------------------------------------------------------------------

    def export_png(self, path: str | Path) -> None:
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

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
                    values = [_csv_number(s.y[i]) for _, s in series]
                    writer.writerow([_iso(t), f"{t:.3f}", *values])
            else:
                writer.writerow(["series", "time_utc", "epoch_s", "value"])
                for key, s in series:
                    for t, v in zip(s.x, s.y, strict=True):
                        writer.writerow([key, _iso(t), f"{t:.3f}", _csv_number(v)])

    def _choose_png_path(self) -> None:
        _ask_save_path(self, f"{self.title.replace(' ', '_')}.png", "PNG image (*.png)", self.export_png)

    def _choose_csv_path(self) -> None:
        _ask_save_path(self, f"{self.title.replace(' ', '_')}.csv", "CSV (*.csv)", self.export_csv)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._stale_text:
            self.overlay.set_text(self._stale_text)


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _csv_number(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6g}"


# ---- the all-services overview ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverviewKind:
    key: str
    label: str
    colour: str
    fixed_max: float | None = None  # None: scale each service by its own maximum (shared with `scale_with`)
    scale_with: str | None = None  # another kind whose per-service scale this one reuses


DEFAULT_OVERVIEW_KINDS = (
    OverviewKind("rps", "req/s", "#4fa3ff"),
    OverviewKind("p95_ms", "p95 (0–1 s)", "#ffb347", fixed_max=1000.0),
    OverviewKind("rps_5xx", "5xx/s", "#ff5e5e", scale_with="rps"),
)


class OverviewChart(QWidget):
    """All services in one PlotItem: a grid of small cells, one curve per series kind for every cell."""

    CELL_GAP_X = 0.06
    CELL_GAP_Y = 0.45  # room for the service name above each cell

    def __init__(
        self,
        kinds: Sequence[OverviewKind] = DEFAULT_OVERVIEW_KINDS,
        *,
        columns: int = 4,
        bins: int = 300,
        guide_ms: float | None = 200.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kinds = tuple(kinds)
        self.columns = columns
        self.bins = bins
        self.guide_ms = guide_ms
        self._names: list[str] = []
        self._labels: list[pg.TextItem] = []
        self._x_cache: dict[tuple[int, int], npt.NDArray[np.float64]] = {}
        self._stale_text: str | None = None
        self._last_series: Mapping[str, npt.NDArray[np.floating]] = {}
        self._last_times: npt.NDArray[np.float64] | None = None

        self.plot_widget = pg.PlotWidget(background=CHART_BACKGROUND)
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.hideAxis("left")
        self.plot_item.hideAxis("bottom")
        self.plot_item.hideButtons()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.disableAutoRange()
        self._frames = self.plot_item.plot([], [], pen=pg.mkPen("#30353d", width=1), connect="finite")
        self._guide = self.plot_item.plot([], [], pen=pg.mkPen("#6a5a2a", width=1), connect="finite")
        self._pens = {kind.key: pg.mkPen(kind.colour, width=1) for kind in self.kinds}
        self._stale_pen = pg.mkPen(STALE_CURVE_COLOUR, width=1)
        self._curves = {
            kind.key: self.plot_item.plot([], [], pen=self._pens[kind.key], connect="finite")
            for kind in self.kinds
        }
        # The key as a caption, not a legend: a legend would cover a cell.
        key = " · ".join(f'<span style="color:{kind.colour}">━ {kind.label}</span>' for kind in self.kinds)
        scale = "rates scaled to each service's peak; p95 on 0–1 s"
        if guide_ms is not None:
            scale += f", guide line at {guide_ms:.0f} ms"
        self.caption = QLabel(f"{key} &nbsp; <span style='color:#9aa0a6'>({scale})</span>", self)
        self.caption.setStyleSheet(CAPTION_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot_widget, 1)
        self.overlay = StaleOverlay(self)
        self.export_png_action = QAction("Export overview as PNG…", self)
        self.export_png_action.triggered.connect(self._choose_png_path)
        self.addAction(self.export_png_action)
        self.export_csv_action = QAction("Export overview data as CSV…", self)
        self.export_csv_action.triggered.connect(self._choose_csv_path)
        self.addAction(self.export_csv_action)

    @property
    def rows(self) -> int:
        return max(1, math.ceil(len(self._names) / self.columns))

    def _cell_origin(self, index: int) -> tuple[float, float]:
        row, column = divmod(index, self.columns)
        x0 = column * (1.0 + self.CELL_GAP_X)
        y0 = (self.rows - 1 - row) * (1.0 + self.CELL_GAP_Y)
        return x0, y0

    def set_services(self, names: Sequence[str]) -> None:
        """Lay out the grid for these services (a label per cell, frames and guide lines)."""
        if list(names) == self._names:
            return
        self._names = list(names)
        self._x_cache.clear()
        for label in self._labels:
            self.plot_item.removeItem(label)
        self._labels = []
        font = QFont()
        font.setPointSize(8)
        frame_x: list[float] = []
        frame_y: list[float] = []
        guide_x: list[float] = []
        guide_y: list[float] = []
        for i, name in enumerate(self._names):
            x0, y0 = self._cell_origin(i)
            label = pg.TextItem(name, color="#c8ccd2", anchor=(0, 1))
            label.setFont(font)
            label.setPos(x0, y0 + 1.0 + self.CELL_GAP_Y * 0.05)  # just above the cell, growing upwards
            self.plot_item.addItem(label, ignoreBounds=True)
            self._labels.append(label)
            frame_x += [x0, x0 + 1, x0 + 1, x0, x0, math.nan]
            frame_y += [y0, y0, y0 + 1, y0 + 1, y0, math.nan]
            if self.guide_ms is not None:
                level = y0 + 0.95 * self.guide_ms / 1000.0
                guide_x += [x0, x0 + 1, math.nan]
                guide_y += [level, level, math.nan]
        self._frames.setData(np.array(frame_x), np.array(frame_y), connect="finite")
        self._guide.setData(np.array(guide_x), np.array(guide_y), connect="finite")
        width = self.columns * (1 + self.CELL_GAP_X) - self.CELL_GAP_X
        height = self.rows * (1 + self.CELL_GAP_Y)
        self.plot_item.setRange(xRange=(-0.02, width + 0.02), yRange=(-0.05, height), padding=0.0)

    def set_labels(self, texts: Sequence[str], colours: Sequence[str]) -> None:
        """Per-cell titles (name and newest figures), in the order of set_services."""
        for label, text, colour in zip(self._labels, texts, colours, strict=False):
            if label.toPlainText() != text:
                label.setText(text, color=colour)
            elif label.color.name() != QColor(colour).name():
                label.setColor(colour)

    def label_texts(self) -> list[str]:
        return [label.toPlainText() for label in self._labels]

    def _x_for(self, length: int) -> npt.NDArray[np.float64]:
        """x coordinates of every point of every cell, with a NaN separator after each cell."""
        key = (len(self._names), length)
        cached = self._x_cache.get(key)
        if cached is not None:
            return cached
        positions = decimated_positions(length, self.bins)
        local = positions / max(1, length - 1)
        points = local.shape[0]
        x = np.full((len(self._names), points + 1), np.nan)
        for i in range(len(self._names)):
            x[i, :points] = self._cell_origin(i)[0] + local
        flat = x.reshape(-1)
        self._x_cache[key] = flat
        return flat

    def set_data(
        self, series: Mapping[str, npt.NDArray[np.floating]], times: npt.NDArray[np.float64] | None = None
    ) -> None:
        """series[kind] is a (services, samples) array in the order of set_services; NaN for gaps.
        `times` (samples,) are the epoch seconds of the columns, kept for CSV export."""
        self._last_series, self._last_times = series, times
        if not self._names:
            return
        scales: dict[str, npt.NDArray[np.floating]] = {}
        decimated: dict[str, npt.NDArray[np.floating]] = {}
        for kind in self.kinds:
            values = series[kind.key]
            decimated[kind.key] = minmax_decimate(values, self.bins)
            if kind.fixed_max is None and kind.scale_with is None:
                peak = np.fmax.reduce(decimated[kind.key], axis=1)
                peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
                scales[kind.key] = peak
        origins_y = np.array([self._cell_origin(i)[1] for i in range(len(self._names))])[:, None]
        for kind in self.kinds:
            values = decimated[kind.key]
            if kind.fixed_max is not None:
                scale: npt.NDArray[np.floating] | float = kind.fixed_max
            else:
                scale = scales[kind.scale_with or kind.key][:, None]
            y = origins_y + 0.95 * np.clip(values / scale, 0.0, 1.0)
            points = y.shape[1]
            with_sep = np.full((len(self._names), points + 1), np.nan)
            with_sep[:, :points] = y
            x = self._x_for(series[kind.key].shape[1])
            self._curves[kind.key].setData(x, with_sep.reshape(-1), connect="finite")

    def curve_data(self, key: str) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
        """The points of one series kind as drawn (all services, decimated, NaN-separated)."""
        return self._curves[key].getData()

    @property
    def stale_text(self) -> str | None:
        return self._stale_text

    def set_stale(self, text: str | None) -> None:
        if text == self._stale_text:
            return
        self._stale_text = text
        for key, curve in self._curves.items():
            curve.setPen(self._stale_pen if text else self._pens[key])
        self.overlay.set_text(text)

    def export_png(self, path: str | Path) -> None:
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def export_csv(self, path: str | Path) -> None:
        """Long CSV of the full-resolution data last shown: service, series, time, value."""
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["service", "series", "time_utc", "epoch_s", "value"])
            for kind in self.kinds:
                values = self._last_series.get(kind.key)
                if values is None:
                    continue
                for row, name in enumerate(self._names):
                    for col in range(values.shape[1]):
                        t = float(self._last_times[col]) if self._last_times is not None else math.nan
                        when = _iso(t) if not math.isnan(t) else ""
                        epoch = f"{t:.3f}" if not math.isnan(t) else str(col)
                        writer.writerow([name, kind.key, when, epoch, _csv_number(float(values[row, col]))])

    def _choose_png_path(self) -> None:
        _ask_save_path(self, "overview.png", "PNG image (*.png)", self.export_png)

    def _choose_csv_path(self) -> None:
        _ask_save_path(self, "overview.csv", "CSV (*.csv)", self.export_csv)


def _ask_save_path(parent: QWidget, suggested: str, file_filter: str, write: Callable[[str], None]) -> None:
    # Non-modal: a nested exec() would block the asyncio loop that drives the whole console.
    dialog = QFileDialog(parent, "Export", suggested, file_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(write)
    dialog.open()

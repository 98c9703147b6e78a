"""`OverviewChart`: every service at once, a grid of small cells in one pyqtgraph PlotItem."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem, QLabel, QWidget

from nexus_console.domain.ringbuffer import decimated_positions, minmax_decimate
from nexus_console.views.chart_base import (
    CAPTION_STYLE,
    CHART_BACKGROUND,
    STALE_CURVE_COLOUR,
    ask_save_path,
    csv_number,
    iso_utc,
    lay_out_chart,
    save_png,
)


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


LABEL_COLOUR = "#c8ccd2"
LABEL_MARGIN = 4.0  # pixels around a cell's title (the margin the pg.TextItem titles had)


class OverviewChart(QWidget):
    """All services in one PlotItem: a grid of small cells, one curve per series kind for every cell.

    Services are laid out in a grid by coordinates with NaN separators, each series min/max-decimated to
    display resolution. Few graphics items and few points are what make it fast (see the chart benchmark).

    `columns` and `bins` hold up to CELL_ASPECT × columns² services (51 for 4 columns); a bigger estate gets
    more, narrower columns, so its cells keep a readable height (200 services in 4 columns were 13 px tall
    at 1000 px), and proportionally fewer bins per cell, so a row of cells draws as many points as before
    (`scale_overview_fps_200`)."""

    CELL_ASPECT = 3.2  # services per column squared before another column opens

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
        self.columns = columns  # at least this many columns
        self.bins = bins  # bins per cell at `columns` columns
        self._columns = columns  # for the services shown
        self._bins = bins
        self.guide_ms = guide_ms
        self._names: list[str] = []
        # Plain Qt text items, not pg.TextItem: with 200 services the Python side of 200 TextItems (bounds,
        # paint, transform per item per frame) cost ~4 ms of every frame.
        self._labels: list[QGraphicsSimpleTextItem] = []
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
        self.overlay = lay_out_chart(self, self.caption, self.plot_widget)
        self.export_png_action = QAction("Export overview as PNG…", self)
        self.export_png_action.triggered.connect(self._choose_png_path)
        self.addAction(self.export_png_action)
        self.export_csv_action = QAction("Export overview data as CSV…", self)
        self.export_csv_action.triggered.connect(self._choose_csv_path)
        self.addAction(self.export_csv_action)

    @property
    def rows(self) -> int:
        return max(1, math.ceil(len(self._names) / self._columns))

    @property
    def grid_columns(self) -> int:
        """The columns of the grid for the services shown (`columns`, or more for a big estate)."""
        return self._columns

    def _cell_origin(self, index: int) -> tuple[float, float]:
        row, column = divmod(index, self._columns)
        x0 = column * (1.0 + self.CELL_GAP_X)
        y0 = (self.rows - 1 - row) * (1.0 + self.CELL_GAP_Y)
        return x0, y0

    def set_services(self, names: Sequence[str]) -> None:
        """Lay out the grid for these services (a label per cell, frames and guide lines)."""
        if list(names) == self._names:
            return
        self._names = list(names)
        self._columns = max(self.columns, math.ceil(math.sqrt(len(self._names) / self.CELL_ASPECT)))
        self._bins = max(32, round(self.bins * self.columns / self._columns))
        self._x_cache.clear()
        for label in self._labels:
            self.plot_item.removeItem(label)
        self._labels = []
        font = QFont()
        font.setPointSize(8)
        brush = QBrush(QColor(LABEL_COLOUR))
        frame_x: list[float] = []
        frame_y: list[float] = []
        guide_x: list[float] = []
        guide_y: list[float] = []
        for i, name in enumerate(self._names):
            x0, y0 = self._cell_origin(i)
            label = QGraphicsSimpleTextItem(name)
            label.setFont(font)
            label.setBrush(brush)
            # in pixels whatever the zoom, its bottom-left corner just above the cell (growing upwards)
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setTransform(
                QTransform.fromTranslate(LABEL_MARGIN, -label.boundingRect().height() - LABEL_MARGIN)
            )
            label.setPos(x0, y0 + 1.0 + self.CELL_GAP_Y * 0.05)
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
        width = self._columns * (1 + self.CELL_GAP_X) - self.CELL_GAP_X
        height = self.rows * (1 + self.CELL_GAP_Y)
        self.plot_item.setRange(xRange=(-0.02, width + 0.02), yRange=(-0.05, height), padding=0.0)

    def set_labels(self, texts: Sequence[str], colours: Sequence[str]) -> None:
        """Per-cell titles (name and newest figures), in the order of set_services."""
        for label, text, colour in zip(self._labels, texts, colours, strict=False):
            if label.text() != text:
                label.setText(text)
            if label.brush().color().name() != QColor(colour).name():
                label.setBrush(QBrush(QColor(colour)))

    def label_texts(self) -> list[str]:
        return [label.text() for label in self._labels]

    def _x_for(self, length: int) -> npt.NDArray[np.float64]:
        """x coordinates of every point of every cell, with a NaN separator after each cell."""
        key = (len(self._names), length)
        cached = self._x_cache.get(key)
        if cached is not None:
            return cached
        positions = decimated_positions(length, self._bins)
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
            decimated[kind.key] = minmax_decimate(values, self._bins)
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
        save_png(self, path)

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
                        when = iso_utc(t) if not math.isnan(t) else ""
                        epoch = f"{t:.3f}" if not math.isnan(t) else str(col)
                        writer.writerow([name, kind.key, when, epoch, csv_number(float(values[row, col]))])

    def _choose_png_path(self) -> None:
        ask_save_path(self, "overview.png", "PNG image (*.png)", self.export_png)

    def _choose_csv_path(self) -> None:
        ask_save_path(self, "overview.csv", "CSV (*.csv)", self.export_csv)

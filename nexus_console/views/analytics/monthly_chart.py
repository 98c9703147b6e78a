"""A bar a month (`domain.analytics.MonthlySeries`), months named on the axis, greyed with the reason when
stale; exports as PNG (its data goes out as a table: the page exports it like any other)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from nexus_console.domain.analytics import DataTable, MonthlySeries
from nexus_console.views.chart_base import (
    AXIS_COLOUR,
    CAPTION_STYLE,
    CHART_BACKGROUND,
    lay_out_chart,
    save_png,
)

BAR_COLOUR = "#4f8fe6"
STALE_BAR_COLOUR = "#6b7078"


class CompactAxis(pg.AxisItem):
    """Ticks as 1.2 M / 350 k rather than 1.2e+06."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [compact_number(value * scale) for value in values]


def compact_number(value: float) -> str:
    for divisor, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= divisor:
            return f"{value / divisor:.{0 if abs(value) >= 10 * divisor else 1}f}{suffix}"
    return f"{value:.0f}"


class MonthlyBarChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: MonthlySeries | None = None
        self.caption = QLabel(self)
        self.caption.setStyleSheet(CAPTION_STYLE)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.plot_widget = pg.PlotWidget(
            background=CHART_BACKGROUND, axisItems={"left": CompactAxis(orientation="left")}
        )
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.showGrid(y=True, alpha=0.15)
        self.plot_item.hideButtons()
        self.plot_item.setMouseEnabled(x=False, y=False)
        for axis in ("left", "bottom"):
            self.plot_item.getAxis(axis).setTextPen(AXIS_COLOUR)
            self.plot_item.getAxis(axis).setPen(AXIS_COLOUR)
        self.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=BAR_COLOUR)
        self.plot_item.addItem(self.bars)
        self.overlay = lay_out_chart(self, self.caption, self.plot_widget)
        self.setMinimumHeight(180)
        self.setMaximumHeight(260)  # the tables below stay in view on a laptop

    def set_series(self, series: MonthlySeries, stale_text: str | None) -> None:
        self.series = series
        self.caption.setText(series.title)
        xs = list(range(len(series.months)))
        brush = STALE_BAR_COLOUR if stale_text else BAR_COLOUR
        self.bars.setOpts(x=xs, height=list(series.values), width=0.7, brush=brush)
        step = max(1, len(xs) // 12)  # at most a dozen month names, so they never overlap
        ticks = [(x, month) for x, month in zip(xs, series.months, strict=True) if x % step == 0]
        self.plot_item.getAxis("bottom").setTicks([ticks])
        if xs:
            self.plot_item.setXRange(-0.6, len(xs) - 0.4, padding=0)
            self.plot_item.setYRange(0, max(series.values) * 1.1 or 1, padding=0)
        self.overlay.set_text(stale_text)

    def data_table(self) -> DataTable:
        series = self.series or MonthlySeries("", (), ())
        rows = tuple(zip(series.months, series.values, strict=True))
        return DataTable(series.title, ("Month", series.title), rows)

    def export_png(self, path: str | Path) -> None:
        save_png(self, path)

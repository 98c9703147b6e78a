"""What the live charts share: colours and styles, the stale overlay, and PNG/CSV export helpers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QVBoxLayout, QWidget

CHART_BACKGROUND = "#16191e"
AXIS_COLOUR = "#9aa0a6"
STALE_CURVE_COLOUR = "#6b7078"
CAPTION_STYLE = "QLabel { color: #d5d8dc; font-size: 9pt; padding: 1px 4px; }"
OVERLAY_STYLE = (
    "QLabel { background: rgba(40, 32, 10, 215); color: #ffd98a; border: 1px solid #c88a12;"
    " border-radius: 3px; padding: 2px 6px; font-weight: bold; }"
)

pg.setConfigOptions(antialias=False, useOpenGL=False)


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


def lay_out_chart(chart: QWidget, caption: QLabel, plot: QWidget) -> StaleOverlay:
    """The caption above the plot, edge to edge, and the overlay that greys the chart when stale."""
    layout = QVBoxLayout(chart)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(caption)
    layout.addWidget(plot, 1)
    return StaleOverlay(chart)


def iso_utc(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def csv_number(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6g}"


def save_png(widget: QWidget, path: str | Path) -> None:
    """The widget as it is on screen, as a PNG file."""
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


def ask_save_path(parent: QWidget, suggested: str, file_filter: str, write: Callable[[str], None]) -> None:
    # Non-modal: a nested exec() would block the asyncio loop that drives the whole console.
    dialog = QFileDialog(parent, "Export", suggested, file_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(write)
    dialog.open()


def time_series_plot(min_height: int, max_height: int) -> pg.PlotWidget:
    """A small static chart over time (dates on the x axis, a legend, no mouse zoom) for a page's figures."""
    plot = pg.PlotWidget(background=CHART_BACKGROUND, axisItems={"bottom": pg.DateAxisItem()})
    plot.setMinimumHeight(min_height)
    plot.setMaximumHeight(max_height)
    item = plot.getPlotItem()
    item.addLegend(offset=(10, 5))
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen(AXIS_COLOUR)
    item.getAxis("left").enableAutoSIPrefix(False)
    return plot

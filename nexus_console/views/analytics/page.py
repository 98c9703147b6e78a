"""One page of the Analytics pane (users, vendors, content or revenue): the figures as tiles, the monthly
chart, and the tables, under a line that says what instant the data describes and how old the answer is.
Stale data stays on screen, greyed, under the banner that says why; every table and the chart export."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.analytics import VIEW_BUILDERS, AnalyticsView, DataTable, Tile
from nexus_console.domain.freshness import SourceStatus, format_age, stale_text
from nexus_console.domain.reports import ReportTable
from nexus_console.domain.vendor_trends import vendor_trend_tables
from nexus_console.models.analytics_table import DataTableModel
from nexus_console.views.analytics.monthly_chart import MonthlyBarChart
from nexus_console.views.chart_base import ask_save_path
from nexus_console.views.pane import StaleBanner, apply_stale_look
from nexus_console.views.table_view import row_table

TILE_COLUMNS = 5
TABLE_ROWS_SHOWN = 10
TILE_STYLE = (
    "QFrame#kpiTile { border: 1px solid #3a3f47; border-radius: 4px; }"
    "QLabel#kpiValue { font-size: 16pt; font-weight: bold; }"
    "QLabel#kpiLabel, QLabel#kpiDetail { color: #9aa0a6; }"
)
# (the table, the file to write, "csv" or "xlsx"): the pane runs it through the session's exports
TableExporter = Callable[[DataTable, Path, str], None]
# the same, with the page that asks (it shows the result)
PageExporter = Callable[["AnalyticsPage", DataTable, Path, str], None]


def name_column(table: DataTable) -> int:
    """The column that takes the spare width: the first of names (vendor, title, country), not a number."""
    first = table.rows[0] if table.rows else ()
    texts = [i for i, value in enumerate(first) if isinstance(value, str)]
    return texts[0] if texts else 0


class KpiTile(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpiTile")
        self.label, self.value, self.detail = QLabel(self), QLabel(self), QLabel(self)
        for widget, name in ((self.label, "kpiLabel"), (self.value, "kpiValue"), (self.detail, "kpiDetail")):
            widget.setObjectName(name)
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(2)
        for widget in (self.label, self.value, self.detail):
            layout.addWidget(widget)

    def show_tile(self, tile: Tile) -> None:
        self.label.setText(tile.label)
        self.value.setText(tile.value)
        self.detail.setText(tile.detail)


class TableBlock(QWidget):
    """A table's title, its export buttons, and the table (tall enough for TABLE_ROWS_SHOWN rows)."""

    def __init__(self, table: DataTable, export: TableExporter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = table
        self._export = export
        self.title = QLabel(f"<b>{table.title}</b>", self)
        self.model = DataTableModel(table.columns, self)
        self.view = row_table(self.model, "analyticsTable", self, stretch_column=name_column(table))
        self.view.setMinimumHeight(24 + 22 * min(TABLE_ROWS_SHOWN, max(3, len(table.rows))))
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        for text, fmt, file_filter in (("CSV…", "csv", "CSV (*.csv)"), ("Excel…", "xlsx", "Excel (*.xlsx)")):
            button = QPushButton(text, self)
            button.setToolTip(f"Export “{table.title}” as {fmt.upper()}")
            button.clicked.connect(
                lambda _=False, fmt=fmt, file_filter=file_filter: ask_save_path(
                    self, self.suggested_name(fmt), file_filter, lambda path: self.export(Path(path), fmt)
                )
            )
            header.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view)
        self.show_table(table)

    def show_table(self, table: DataTable) -> None:
        self.data = table
        self.model.replace_items(list(table.rows))

    def suggested_name(self, fmt: str) -> str:
        stem = "".join(c if c.isalnum() else "_" for c in self.data.title.lower()).strip("_")
        return f"{stem}.{fmt}"

    def export(self, path: Path, fmt: str) -> None:
        self._export(self.data, path, fmt)


class AnalyticsPage(QScrollArea):
    def __init__(self, kind: str, export: PageExporter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setObjectName(f"analytics_{kind}")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._export: TableExporter = lambda table, path, fmt: export(self, table, path, fmt)
        self.status: SourceStatus[Any] | None = None
        self.trends: SourceStatus[Any] | None = None
        self.view: AnalyticsView | None = None
        self._chart_shows: tuple[AnalyticsView | None, str | None] = (None, None)
        self.info = QLabel("Waiting for the first figures…")
        self.info.setObjectName("analyticsInfo")
        self.result = QLabel()
        self.result.setObjectName("exportResult")
        self.result.setWordWrap(True)
        self.result.hide()
        self.banner = StaleBanner()
        self.body = QWidget()
        self.body.setStyleSheet(TILE_STYLE)
        self.tile_grid = QGridLayout()
        self.tiles: list[KpiTile] = []
        self.chart = MonthlyBarChart()
        self.chart.hide()
        self.chart_buttons = QHBoxLayout()
        self.chart_buttons.addStretch(1)
        for text, slot in (
            ("Chart as PNG…", self._ask_chart_png),
            ("Chart data as CSV…", self._ask_chart_csv),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.chart_buttons.addWidget(button)
        self.chart_controls = QWidget()
        self.chart_controls.setLayout(self.chart_buttons)
        self.chart_controls.hide()
        self.tables: list[TableBlock] = []
        self.tables_layout = QVBoxLayout()
        body_layout = QVBoxLayout(self.body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addLayout(self.tile_grid)
        body_layout.addWidget(self.chart)
        body_layout.addWidget(self.chart_controls)
        body_layout.addLayout(self.tables_layout)
        body_layout.addStretch(1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.info)
        layout.addWidget(self.result)
        layout.addWidget(self.banner)
        layout.addWidget(self.body, 1)
        self.setWidget(content)

    def set_status(self, status: SourceStatus[Any]) -> None:
        self.status = status
        self._rebuild()

    def set_trends(self, status: SourceStatus[Any]) -> None:
        """The vendor × month report: the leaderboard by units and the rising stars join the tables."""
        self.trends = status
        self._rebuild()

    def _rebuild(self) -> None:
        status, trends = self.status, self.trends
        if status is not None and status.last_good is not None:
            view = VIEW_BUILDERS[self.kind](status.last_good.value)
            if trends is not None and trends.last_good is not None:
                more = vendor_trend_tables(ReportTable.from_json(trends.last_good.value))
                view = replace(view, tables=view.tables + more)
            self.view = view
            self._show_view(view)
        self.refresh(time.time())

    def refresh(self, now: float) -> None:
        """The age line and the stale look (every second while shown)."""
        status = self.status
        texts = [stale_text(s, now) for s in (status, self.trends) if s is not None]
        stale = "; ".join(t for t in texts if t) or None
        self.banner.set_text(stale)
        apply_stale_look(self.body, bool(stale) and self.view is not None)
        if self.view is not None and status is not None and status.last_good is not None:
            as_of = self.view.as_of.astimezone(UTC).strftime("%-d %b %Y %H:%M UTC")
            age = format_age(status.last_good.age_s(now))
            self.info.setText(f"Data as of {as_of} · answered {age} ago")
        shown = (self.view, stale)
        if self.view is not None and self.view.series is not None and shown != self._chart_shows:
            self._chart_shows = shown
            self.chart.set_series(self.view.series, stale)

    def show_result(self, text: str) -> None:
        self.result.setText(text)
        self.result.setVisible(bool(text))

    def table(self, title: str) -> TableBlock:
        return next(block for block in self.tables if block.data.title == title)

    def _show_view(self, view: AnalyticsView) -> None:
        while len(self.tiles) < len(view.tiles):
            tile = KpiTile()
            index = len(self.tiles)
            self.tile_grid.addWidget(tile, index // TILE_COLUMNS, index % TILE_COLUMNS)
            self.tiles.append(tile)
        for tile, shown in zip(self.tiles, view.tiles, strict=False):
            tile.show_tile(shown)
        self.chart.setVisible(view.series is not None)
        self.chart_controls.setVisible(view.series is not None)
        if len(self.tables) != len(view.tables):
            for block in self.tables:
                block.deleteLater()
            self.tables = [TableBlock(table, self._export) for table in view.tables]
            for block in self.tables:
                self.tables_layout.addWidget(block)
        for block, table in zip(self.tables, view.tables, strict=True):
            block.show_table(table)

    def _ask_chart_png(self) -> None:
        ask_save_path(self, f"{self.kind}_by_month.png", "PNG image (*.png)", self.chart.export_png)

    def _ask_chart_csv(self) -> None:
        ask_save_path(
            self,
            f"{self.kind}_by_month.csv",
            "CSV (*.csv)",
            lambda path: self._export(self.chart.data_table(), Path(path), "csv"),
        )

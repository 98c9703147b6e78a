"""Database: every PostgreSQL server of the profile as PostgreSQL itself reports it. The servers' table on top
(role, connections, waiting sessions, transactions a second, cache hit ratio, replication lag, the age of
each reading); under it the selected server's last hour and its details: who blocks whom and the sessions
idle in a transaction or running long, the slowest and most expensive statements, replication by LSN,
sizes and unused indexes, and its locks, counted, never listed whole.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget

from nexus_console.domain import db_tables
from nexus_console.domain.auth import MONITORING_READERS
from nexus_console.domain.db_health import DatabaseSnapshot, ServerReading
from nexus_console.domain.freshness import SourceStatus, format_age, stale_text
from nexus_console.models.analytics_table import DataTableModel
from nexus_console.views.chart_base import time_series_plot
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.views.table_view import fit_columns, row_table
from nexus_console.workers.session import ConsoleSession

CHARTS = (  # (history column, title, colour)
    ("tps", "transactions a second", "#4c9be8"),
    ("connections", "connections", "#8a8f98"),
    ("waiting", "sessions waiting on a lock", "#e5534b"),
    ("lag_bytes", "replication lag (bytes)", "#d29922"),
)
ERROR_STYLE = "color: #e5534b;"


def _titled(title: str | QLabel, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 2, 0, 0)
    layout.addWidget(title if isinstance(title, QLabel) else QLabel(f"<b>{title}</b>"))
    layout.addWidget(widget)
    return box


class DatabasePane(Pane):
    title = "Database"
    icon_name = "database"
    required_roles = MONITORING_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.status: SourceStatus[DatabaseSnapshot] | None = None
        self.snapshot: DatabaseSnapshot | None = None
        self.selected: str | None = None  # the selected server's name, kept across refreshes
        self.slow_s = session.settings.database.slow_running_s
        self.info = QLabel("Reading the database servers…")
        self.info.setObjectName("databaseInfo")
        self.info.setWordWrap(True)
        self.banner = StaleBanner()
        self.servers = DataTableModel(db_tables.SERVER_COLUMNS, self)
        self.server_view = row_table(self.servers, "databaseServers")
        self.server_view.setMaximumHeight(150)
        self.server_view.selectionModel().currentRowChanged.connect(self._on_server_row)
        self.plots: dict[str, pg.PlotDataItem] = {}
        charts = QHBoxLayout()
        for column, title, colour in CHARTS:
            plot = time_series_plot(110, 150)
            self.plots[column] = plot.getPlotItem().plot([], [], pen=pg.mkPen(colour, width=1), name=title)
            charts.addWidget(plot)
        self.server_title = QLabel()
        self.server_title.setObjectName("databaseServerTitle")
        self.server_title.setWordWrap(True)
        self.server_error = QLabel()
        self.server_error.setObjectName("databaseServerError")
        self.server_error.setWordWrap(True)
        self.server_error.setStyleSheet(ERROR_STYLE)
        self.server_error.hide()
        self.tables: dict[str, tuple[DataTableModel, QTableView]] = {}
        self.details = QTabWidget()
        self.details.addTab(self._sessions_tab(), "Sessions")
        self.details.addTab(self._statements_tab(), "Statements")
        self.details.addTab(
            self._tab([("replication", "Replication", db_tables.REPLICATION_COLUMNS)]), "Replication"
        )
        self.details.addTab(
            self._tab([("relations", "Sizes and indexes", db_tables.RELATION_COLUMNS)]), "Storage"
        )
        self.lock_totals = QLabel()
        self.details.addTab(self._locks_tab(), "Locks")
        self.body = QWidget()
        body_layout = QVBoxLayout(self.body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(self.server_view)
        body_layout.addLayout(charts)
        body_layout.addWidget(self.server_title)
        body_layout.addWidget(self.server_error)
        body_layout.addWidget(self.details, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.banner)
        layout.addWidget(self.body, 1)
        if session.database_poller is not None:
            self.watch(session.database_poller, self.set_status)
        else:
            self.info.setText("The Database pane is for accounts that read monitoring data.")
        self.every(1000, self._tick)

    # ---- layout ----------------------------------------------------------------------------------

    def _table(self, name: str, columns: tuple[str, ...]) -> QTableView:
        model = DataTableModel(columns, self)
        view = row_table(model, f"database_{name}")
        self.tables[name] = (model, view)
        return view

    def _tab(self, tables: list[tuple[str, str, tuple[str, ...]]], extra: QWidget | None = None) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        if extra is not None:
            layout.addWidget(extra)
        for name, title, columns in tables:
            layout.addWidget(_titled(title, self._table(name, columns)), 1)
        return tab

    def _side_by_side(
        self, tables: tuple[tuple[str | QLabel, str, tuple[str, ...]], ...], note: QLabel | None = None
    ) -> QWidget:
        """A tab of two tables side by side, `(title, name, columns)` each, under an optional note."""
        split = QSplitter()
        for title, name, columns in tables:
            split.addWidget(_titled(title, self._table(name, columns)))
        tab = QWidget()
        layout = QVBoxLayout(tab)
        if note is not None:
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(split, 1)
        return tab

    def _sessions_tab(self) -> QWidget:
        self.chains_title = QLabel("<b>Who blocks whom</b>")
        self.backends_title = QLabel(
            f"<b>Idle in a transaction, or running longer than {self.slow_s:.0f} s</b>"
        )
        return self._side_by_side(
            (
                (self.chains_title, "chains", db_tables.CHAIN_COLUMNS),
                (self.backends_title, "backends", db_tables.BACKEND_COLUMNS),
            )
        )

    def _statements_tab(self) -> QWidget:
        self.statements_note = QLabel()
        self.statements_note.setObjectName("databaseStatementsNote")
        self.statements_note.hide()
        return self._side_by_side(
            (
                ("Slowest (mean time)", "slowest", db_tables.STATEMENT_COLUMNS),
                ("Most expensive (total time)", "expensive", db_tables.STATEMENT_COLUMNS),
            ),
            self.statements_note,
        )

    def _locks_tab(self) -> QWidget:
        self.lock_totals.setObjectName("databaseLockTotals")
        return self._side_by_side(
            (
                ("By type and mode", "lock_modes", db_tables.LOCK_MODE_COLUMNS),
                ("Most locked relations", "lock_relations", db_tables.LOCK_RELATION_COLUMNS),
            ),
            self.lock_totals,
        )

    # ---- data ------------------------------------------------------------------------------------

    def set_status(self, status: SourceStatus[DatabaseSnapshot]) -> None:
        self.status = status
        if status.last_good is not None and status.last_good.value is not self.snapshot:
            self.show_snapshot(status.last_good.value)
        self._tick()

    def show_snapshot(self, snapshot: DatabaseSnapshot) -> None:
        self.snapshot = snapshot
        if snapshot.note:
            self.info.setText(snapshot.note)
        if snapshot.note and self.body.isVisibleTo(self):
            self.body.hide()  # the sentence, not an empty table and blank charts
            layout = self.layout()
            if isinstance(layout, QVBoxLayout):
                layout.addStretch(1)
        readings = snapshot.readings
        self.servers.replace_items([db_tables.server_row(r) for r in readings])
        fit_columns(self.server_view, stretch=0)
        names = [r.server.name for r in readings]
        if self.selected not in names:
            self.selected = names[0] if names else None
        if self.selected is not None:
            self.server_view.selectRow(names.index(self.selected))
        self._show_server()

    def selected_reading(self) -> ServerReading | None:
        if self.snapshot is None:
            return None
        return next((r for r in self.snapshot.readings if r.server.name == self.selected), None)

    def select_server(self, name: str) -> None:
        self.selected = name
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def _on_server_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.snapshot is not None and 0 <= current.row() < len(self.snapshot.readings):
            name = self.snapshot.readings[current.row()].server.name
            if name != self.selected:
                self.selected = name
                self._show_server()

    def _show_server(self) -> None:
        reading = self.selected_reading()
        if reading is None:
            return
        self.server_error.setText(reading.error or "")
        self.server_error.setVisible(reading.error is not None)
        history = reading.history
        times = history.times()
        for column, item in self.plots.items():
            values = history.column(column).astype(float)
            finite = np.isfinite(values)
            item.setData(times[finite], values[finite])
        health = reading.health
        apply_stale_look(self.details, reading.error is not None and health is not None)
        if health is None:
            for model, _view in self.tables.values():
                model.replace_items([])
            return
        self.chains_title.setText(f"<b>{db_tables.chain_title(health)}</b>")
        self.backends_title.setText(f"<b>{db_tables.backends_title(health, self.slow_s)}</b>")
        self._fill("chains", db_tables.chain_rows(health.chains), stretch=6)
        self._fill("backends", db_tables.backend_rows(health, self.slow_s), stretch=7)
        missing = health.statements.missing
        self.statements_note.setText(missing or "")
        self.statements_note.setVisible(missing is not None)
        self._fill("slowest", db_tables.statement_rows(health.statements.slowest), stretch=4)
        self._fill("expensive", db_tables.statement_rows(health.statements.most_expensive), stretch=4)
        self._fill("replication", db_tables.replication_rows(health), stretch=3)
        self._fill("relations", db_tables.relation_rows(health), stretch=2)
        modes, relations = db_tables.lock_rows(health)
        self._fill("lock_modes", modes, stretch=1)
        self._fill("lock_relations", relations, stretch=0)
        locks = health.locks
        self.lock_totals.setText(
            f"{locks.total:,} locks held on this server, {locks.waiting:,} waiting (counted by PostgreSQL; "
            "the tables show the largest groups)"
        )
        self._tick()

    def _fill(self, name: str, rows: list[tuple[object, ...]], *, stretch: int) -> None:
        model, view = self.tables[name]
        model.replace_items(rows)
        fit_columns(view, stretch=stretch)

    def _tick(self) -> None:
        status, now = self.status, time.time()
        stale = stale_text(status, now) if status is not None else None
        self.banner.set_text(stale)
        apply_stale_look(self.server_view, bool(stale) and self.snapshot is not None)
        snapshot = self.snapshot
        if snapshot is None or snapshot.note:
            return
        failing = snapshot.failing()
        problem = f" · {len(failing)} not answering" if failing else ""
        age = format_age(now - snapshot.read_at)
        self.info.setText(f"{len(snapshot.readings)} PostgreSQL servers, read {age} ago{problem}")
        reading = self.selected_reading()
        if reading is not None and reading.health is not None:
            health = reading.health
            self.server_title.setText(
                f"<b>{reading.server.label}</b> · {health.role} · PostgreSQL {health.version} · read through "
                f"database {reading.server.database} · figures from {format_age(now - health.read_at)} ago"
                f"<br>{db_tables.server_figures(health)}"
            )

"""Security: failed logins over the last day, the last hour's top sources, targeted accounts, WAF blocks and
busiest API clients, the detections of the last hour (their evidence on selection, Investigate to open or
add to an incident), and each detection rule's state: events seen, matches, how full its buffer is and
what it let go of. Double-click an address or an account to pivot to what it did and what was done to it.
"""

from __future__ import annotations

import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.analytics import DataTable
from nexus_console.domain.auth import SECURITY_READERS
from nexus_console.domain.detection_alerts import detection_fingerprint, evidence_line
from nexus_console.domain.detectors import Detection, RuleState
from nexus_console.domain.freshness import SourceStatus, format_age, stale_text
from nexus_console.domain.security_digest import SecuritySnapshot
from nexus_console.domain.security_pivots import Pivot
from nexus_console.models.analytics_table import DataTableModel
from nexus_console.views.chart_base import time_series_plot
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.views.table_view import fit_columns, row_table
from nexus_console.workers.session import ConsoleSession

RANKED = (  # (attribute of SecurityView, title, its columns)
    ("top_sources", "Failed logins by address, last hour", ("Address", "Failed", "Country · accounts tried")),
    ("top_targets", "Failed logins by account, last hour", ("Account", "Failed")),
    ("blocked", "Blocked by the WAF, last hour", ("Address", "Blocked", "Rules")),
    ("busiest_clients", "API requests by client, last hour", ("Client", "Requests")),
)
DETECTION_COLUMNS = ("When (UTC)", "Rule", "Severity", "Key", "What happened")
RULE_COLUMNS = ("Rule", "Kind", "Events seen", "Matches", "Buffer", "Dropped")


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 4, 0, 0)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    layout.addWidget(widget)
    return box


class SecurityPane(Pane):
    title = "Security"
    icon_name = "security"
    required_roles = SECURITY_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.status: SourceStatus[SecuritySnapshot] | None = None
        self.snapshot: SecuritySnapshot | None = None
        self.shown_detections: list[Detection] = []  # the table's rows, newest first
        self.selected_fingerprint: str | None = None  # kept across refreshes
        self.pivot: Pivot | None = None
        self.info = QLabel("Reading the security events…")
        self.info.setObjectName("securityInfo")
        self.figures = QLabel()
        self.figures.setObjectName("securityFigures")
        self.banner = StaleBanner()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.body = QSplitter()
        self.plot = time_series_plot(140, 200)
        item = self.plot.getPlotItem()
        self.failed_curve = item.plot([], [], pen=pg.mkPen("#e5534b", width=1), name="failed logins a minute")
        self.ok_curve = item.plot([], [], pen=pg.mkPen("#8a8f98", width=1), name="successful")
        self.ranked: dict[str, tuple[DataTableModel, QTableView]] = {}
        grid = QGridLayout()
        for index, (name, title, columns) in enumerate(RANKED):
            model = DataTableModel(columns, self)
            view = row_table(model, f"security_{name}")
            view.doubleClicked.connect(lambda at, name=name: self._pivot_from(name, at))
            self.ranked[name] = (model, view)
            grid.addWidget(_titled(title, view), index // 2, index % 2)
        self.detections = DataTableModel(DETECTION_COLUMNS, self)
        self.detection_view = row_table(self.detections, "securityDetections")
        self.detection_view.selectionModel().currentRowChanged.connect(self._on_row)
        self.detection_view.doubleClicked.connect(self._pivot_detection)
        self.evidence = QLabel("Select a detection to see its evidence.")
        self.evidence.setObjectName("securityEvidence")
        self.evidence.setWordWrap(True)
        self.investigate = QPushButton("Investigate (open an incident)")
        self.investigate.setEnabled(False)
        self.investigate.clicked.connect(self._investigate)
        self.rules = DataTableModel(RULE_COLUMNS, self)
        self.rules_view = row_table(self.rules, "securityRules")
        detections = QWidget()
        detections_layout = QVBoxLayout(detections)
        detections_layout.addWidget(_titled("Detections, last hour (newest first)", self.detection_view), 3)
        actions = QHBoxLayout()
        actions.addWidget(QLabel("<b>Evidence</b> of the selected detection"), 1)
        actions.addWidget(self.investigate)
        detections_layout.addLayout(actions)
        detections_layout.addWidget(self.evidence)
        detections_layout.addWidget(_titled("Detection rules", self.rules_view), 2)
        activity = QWidget()
        activity_layout = QVBoxLayout(activity)
        activity_layout.addWidget(self.plot)
        activity_layout.addLayout(grid, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(detections, "Detections")
        self.tabs.addTab(activity, "Activity")
        left = self.tabs
        self.pivot_title = QLabel("Double-click an address, an account or a detection to pivot.")
        self.pivot_title.setWordWrap(True)
        self.pivot_tables: list[tuple[QLabel, DataTableModel, QTableView]] = []
        right = QWidget()
        self.pivot_layout = QVBoxLayout(right)
        self.pivot_layout.addWidget(self.pivot_title)
        self.pivot_layout.addStretch(1)
        self.body.addWidget(left)
        self.body.addWidget(right)
        self.body.setStretchFactor(0, 3)
        self.body.setStretchFactor(1, 2)
        self.body.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.figures)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(self.body, 1)
        self.message.hide()
        if session.security_poller is not None:
            self.watch(session.security_poller, self.set_status)
        self.every(1000, self._tick)

    # ---- data ------------------------------------------------------------------------------------

    def set_status(self, status: SourceStatus[SecuritySnapshot]) -> None:
        self.status = status
        if status.last_good is not None and status.last_good.value is not self.snapshot:
            self.show_snapshot(status.last_good.value)
        self._tick()

    def show_snapshot(self, snapshot: SecuritySnapshot) -> None:
        self.snapshot = snapshot
        view = snapshot.view
        self.failed_curve.setData(view.minute_starts, view.failed_per_minute.astype(float))
        self.ok_curve.setData(view.minute_starts, view.succeeded_per_minute.astype(float))
        self.figures.setText(
            f"Last hour: {view.failed_last_hour:,} failed logins · {view.blocked_last_hour:,} requests "
            f"blocked by the WAF · {len(snapshot.detections)} detections"
        )
        for name, (model, view_widget) in self.ranked.items():
            width = model.columnCount()
            model.replace_items([(r.key, r.count, r.detail)[:width] for r in getattr(view, name)])
            fit_columns(view_widget, stretch=width - 1 if width > 2 else 0)
        self.shown_detections = _newest_first(snapshot)
        self.detections.replace_items([_detection_row(d) for d in self.shown_detections])
        fit_columns(self.detection_view, stretch=4)
        self._keep_selection()
        self.rules.replace_items([_rule_row(state) for state in snapshot.rules])
        fit_columns(self.rules_view, stretch=0)

    def _tick(self) -> None:
        status, now = self.status, time.time()
        stale = stale_text(status, now) if status is not None else None
        self.banner.set_text(stale)
        apply_stale_look(self.body, bool(stale) and self.snapshot is not None)
        if status is not None and status.last_good is not None:
            self.info.setText(f"Security events read {format_age(status.last_good.age_s(now))} ago")

    # ---- detections ------------------------------------------------------------------------------

    def selected_detection(self) -> Detection | None:
        """The detection the analyst selected, the same one after the table refreshes."""
        return next(
            (d for d in self.shown_detections if detection_fingerprint(d) == self.selected_fingerprint), None
        )

    def _keep_selection(self) -> None:
        """Select the selected detection's row again (rows move as new detections arrive)."""
        rows = [detection_fingerprint(d) for d in self.shown_detections]
        if self.selected_fingerprint in rows:
            self.detection_view.selectRow(rows.index(self.selected_fingerprint))
        else:
            self.detection_view.clearSelection()
            self.selected_fingerprint = None
            self._show_evidence()

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.row()
        if 0 <= row < len(self.shown_detections):
            self.selected_fingerprint = detection_fingerprint(self.shown_detections[row])
        self._show_evidence()

    def _show_evidence(self) -> None:
        detection = self.selected_detection()
        self.investigate.setEnabled(detection is not None and self.session.incidents is not None)
        if detection is None:
            self.evidence.setText("Select a detection to see its evidence.")
            return
        lines = [evidence_line(event) for event in detection.evidence[-8:]]
        more = len(detection.evidence) - len(lines)
        self.evidence.setText(
            f"{detection.summary}\n"
            + "\n".join(lines)
            + (f"\n… and {more} earlier events" if more > 0 else "")
        )

    def _investigate(self) -> None:
        detection, actions = self.selected_detection(), self.session.security_actions
        if detection is None or actions is None:
            return

        async def investigate() -> None:
            try:
                _incident, sentence = await actions.investigate(detection)
            except Exception as exc:  # a sentence from the incident workflow
                self.show_message(f"Could not open an incident: {exc}")
                return
            self.show_message(sentence)

        self.show_message("Opening an incident with the evidence…")
        self.run_task(investigate(), name="security investigate")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ---- pivots ----------------------------------------------------------------------------------

    def _pivot_from(self, name: str, index: QModelIndex) -> None:
        model = self.ranked[name][0]
        key = str(model.item_at(index.row())[0])
        if name == "top_targets":
            self.pivot_to_user(key)
        elif name != "busiest_clients":
            self.pivot_to_ip(key)

    def _pivot_detection(self, *_args: object) -> None:
        detection = self.selected_detection()
        if detection is None:
            return
        if detection.rule.key == "ip":
            self.pivot_to_ip(detection.key)
        elif detection.rule.key == "user":
            self.pivot_to_user(detection.key)

    def pivot_to_ip(self, ip: str) -> None:
        actions = self.session.security_actions
        if actions is not None:
            self._pivot(actions.pivot_ip(ip), f"address {ip}")

    def pivot_to_user(self, user: str) -> None:
        actions = self.session.security_actions
        if actions is not None:
            self._pivot(actions.pivot_user(user), f"account {user}")

    def _pivot(self, fetch: Any, what: str) -> None:
        async def pivot() -> None:
            try:
                shown = await fetch
            except Exception as exc:  # the API's errors are sentences
                self.pivot_title.setText(f"Could not look up the {what}: {exc}")
                return
            self.show_pivot(shown)

        self.pivot_title.setText(f"Looking up the {what}…")
        self.run_task(pivot(), name=f"security pivot {what}")

    def show_pivot(self, pivot: Pivot) -> None:
        self.pivot = pivot
        self.pivot_title.setText(f"<b>{pivot.title}</b><br>{pivot.summary}")
        for label, _model, view in self.pivot_tables:
            label.deleteLater()
            view.deleteLater()
        self.pivot_tables = []
        for position, table in enumerate(pivot.tables, start=1):
            label = QLabel(f"<b>{table.title}</b>")
            model = DataTableModel(table.columns, self)
            model.replace_items(list(table.rows))
            view = row_table(model, "securityPivot")
            fit_columns(view, stretch=0)
            view.doubleClicked.connect(lambda at, table=table: self._pivot_further(table, at))
            self.pivot_layout.insertWidget(position * 2 - 1, label)
            self.pivot_layout.insertWidget(position * 2, view, 1)
            self.pivot_tables.append((label, model, view))

    def _pivot_further(self, table: DataTable, index: QModelIndex) -> None:
        """From an address's accounts to the account; from an account's addresses to the address."""
        value = str(table.rows[index.row()][0]) if index.row() < len(table.rows) else ""
        if table.columns[0] == "Account" and value:
            self.pivot_to_user(value)
        elif table.columns[0] == "Address" and value:
            self.pivot_to_ip(value)


def _newest_first(snapshot: SecuritySnapshot) -> list[Detection]:
    return sorted(snapshot.detections, key=lambda detection: detection.at, reverse=True)


def _rule_row(state: RuleState) -> tuple[Any, ...]:
    buffer = f"{state.held:,} of {state.buffer:,} ({state.fullness:.0%})"
    return (state.name, state.kind, state.events_seen, state.matches, buffer, state.dropped)


def _detection_row(detection: Any) -> tuple[Any, ...]:
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(detection.at))
    return (at, detection.rule.name, detection.rule.severity.value, detection.key, detection.summary)

"""The Alerts pane's secondary views: the local rules with their state, the resolved/history search, and
the silence dialog's duration picker."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.alert_filter import parse_duration
from nexus_console.domain.alert_rules import LOCAL_SOURCE, Rule
from nexus_console.domain.alerts import Alert, AlertState, Transition
from nexus_console.domain.freshness import format_clock
from nexus_console.models.alert_table import format_age, owner
from nexus_console.models.health_tables import Column, RecordTableModel
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.table_view import row_table


def _table(model: RecordTableModel, name: str) -> QTableView:
    return row_table(model, name, row_height=20, compact=True, font_pt=9)


def rule_condition(rule: Rule) -> str:
    if rule.kind == "threshold":
        text = f"{rule.series} {rule.op} {rule.threshold:g}"
    elif rule.kind == "no_data":
        text = f"no {rule.series} sample"
    else:
        text = f"{rule.series} {rule.method} z>{rule.z:g} ({rule.direction})"
    if rule.match:
        text += " {" + ", ".join(f'{k}="{v}"' for k, v in sorted(rule.match.items())) + "}"
    return text


def rule_records(
    rules: Sequence[Rule], alerts: Sequence[Alert], evaluated_at: float | None, now: float
) -> list[dict]:
    """One record per local rule: its state from the queue's local alerts, and when rules last ran."""
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.source == LOCAL_SOURCE:
            by_rule.setdefault(alert.name, []).append(alert)
    records = []
    for rule in rules:
        mine = by_rule.get(rule.name, [])
        firing = sum(1 for a in mine if a.state is AlertState.FIRING)
        acked = sum(1 for a in mine if a.state is AlertState.ACKNOWLEDGED)
        pending = [a for a in mine if a.state is AlertState.PENDING]
        if firing:
            state = f"firing ×{firing}" if firing > 1 else "firing"
        elif pending:
            state = pending[0].pending_label(now) or "pending"
        elif acked:
            state = "acknowledged"
        else:
            state = "ok"
        records.append(
            {
                "name": rule.name,
                "severity": rule.severity.value,
                "state": state,
                "condition": rule_condition(rule),
                "for": format_age(rule.for_s) if rule.for_s else "0s",
                "evaluated": f"{format_clock(evaluated_at)} ({format_age(now - evaluated_at)} ago)"
                if evaluated_at
                else "not yet",
            }
        )
    return records


class RulesView(QWidget):
    def __init__(self, problems: Sequence[str] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RecordTableModel(
            [
                Column("rule", lambda r: r["name"]),
                Column("severity", lambda r: r["severity"]),
                Column("state", lambda r: r["state"], alarm=lambda s: s.startswith("firing")),
                Column("condition", lambda r: r["condition"]),
                Column("for", lambda r: r["for"]),
                Column("last evaluation", lambda r: r["evaluated"]),
            ],
            self,
        )
        self.table = _table(self.model, "rulesTable")
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(2, 130)
        self.table.setColumnWidth(3, 420)
        self.problems = QLabel("\n".join(problems), self)
        self.problems.setObjectName("ruleProblems")
        self.problems.setStyleSheet("QLabel { color: #ff6b5e; }")
        self.problems.setVisible(bool(problems))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.problems)
        layout.addWidget(self.table, 1)

    def update_rules(
        self, rules: Sequence[Rule], alerts: Sequence[Alert], evaluated_at: float | None
    ) -> None:
        self.model.set_records(rule_records(rules, alerts, evaluated_at, time.time()))


def transition_record(transition: Transition) -> dict[str, Any]:
    alert = transition.alert
    return {
        "at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(transition.at)),
        "severity": alert.severity.value,
        "alert": alert.name,
        "source": alert.source,
        "service": alert.service,
        "change": f"{transition.before.value if transition.before else 'new'} → {transition.after.value}",
        "owner": owner(alert),
        "summary": alert.summary,
        "transition": transition,
    }


class HistoryView(QWidget):
    """Resolved alerts and every transition, searched in the local SQLite history."""

    def __init__(self, search: Callable[[str, bool], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._search = search
        self.query = QLineEdit(self)
        self.query.setObjectName("historySearch")
        self.query.setPlaceholderText("search resolved alerts: name, service, summary, label=value — Enter")
        self.query.returnPressed.connect(self.run_search)
        self.resolved_only = QCheckBox("resolved only", self)
        self.resolved_only.setChecked(True)
        self.resolved_only.toggled.connect(self.run_search)
        refresh = QPushButton("Search", self)
        refresh.clicked.connect(self.run_search)
        self.status = QLabel("", self)
        self.status.setObjectName("historyStatus")
        self.model = RecordTableModel(
            [
                Column("time", lambda r: r["at"]),
                Column("severity", lambda r: r["severity"]),
                Column("alert", lambda r: r["alert"]),
                Column("source", lambda r: r["source"]),
                Column("service", lambda r: r["service"]),
                Column("change", lambda r: r["change"]),
                Column("owner", lambda r: r["owner"]),
                Column("summary", lambda r: r["summary"]),
            ],
            self,
        )
        self.table = _table(self.model, "historyTable")
        for column, width in enumerate((150, 70, 200, 90, 200, 170, 140)):
            self.table.setColumnWidth(column, width)
        bar = QHBoxLayout()
        bar.addWidget(self.query, 1)
        bar.addWidget(self.resolved_only)
        bar.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    def run_search(self) -> None:
        self.status.setText("searching…")
        self._search(self.query.text().strip(), self.resolved_only.isChecked())

    def show_results(self, transitions: Sequence[Transition]) -> None:
        self.model.set_records([transition_record(t) for t in transitions])
        count = len(transitions)
        self.status.setText(f"{count} transition{'s' if count != 1 else ''}, newest first")

    def show_error(self, text: str) -> None:
        self.status.setText(text)


SILENCE_CHOICES = ("15m", "1h", "4h", "12h", "1d", "1w")


async def confirm_resolve(parent: QWidget, count: int, critical: int) -> bool:
    """`r` on a critical alert asks first: one keystroke must not close what pages the on-call."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Resolve critical alerts?",
        f"Resolve {count} alert{'s' if count != 1 else ''}, {critical} of them critical? A resolved alert "
        "leaves the queue; it fires again only if its source still reports it.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("resolveConfirm")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    try:
        await execute_dialog(box)
        return box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes
    finally:
        box.deleteLater()


class SilenceDialog(QDialog):
    """The duration picker for `s`: a preset or any duration the filter language reads (90m, 1h30m)."""

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("silenceDialog")
        self.setWindowTitle("Silence alerts")
        self.duration = QComboBox(self)
        self.duration.setObjectName("silenceDuration")
        self.duration.setEditable(True)
        self.duration.addItems(SILENCE_CHOICES)
        self.duration.setCurrentText("1h")
        self.comment = QLineEdit(self)
        self.comment.setObjectName("silenceComment")
        self.comment.setPlaceholderText("why (kept with the silence)")
        self.comment.setMinimumWidth(360)  # a sentence, not a word
        self.error = QLabel("", self)
        self.error.setStyleSheet("QLabel { color: #d0453b; }")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Silence {count} alert{'s' if count != 1 else ''} for", self))
        form.addRow("Duration", self.duration)
        form.addRow("Comment", self.comment)
        form.addRow(self.error)
        form.addRow(self.buttons)
        self.duration.setFocus(Qt.FocusReason.OtherFocusReason)

    def duration_s(self) -> float:
        return parse_duration(self.duration.currentText().strip())

    def _accept_if_valid(self) -> None:
        try:
            if self.duration_s() <= 0:
                raise ValueError("the duration must be more than 0s")
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

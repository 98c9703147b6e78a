"""Compliance: the data-subject requests with their GDPR clock (overdue in red, then the least time left;
extend once, complete, reject, each with a reason), consent by purpose and the retention checks, the
PCI-DSS card-number scan of the replicas (masked findings), and evidence for auditors: the register, the
scan and the admin audit of a period as hash-chained CSV, and the check of such a file."""

from __future__ import annotations

import asyncio
import csv
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.analytics import DataTable
from nexus_console.domain.auth import COMPLIANCE_READERS
from nexus_console.domain.compliance import (
    DSAR_COLUMNS,
    MODERATION_COLUMNS,
    RETENTION_COLUMNS,
    DsarRegister,
    consent_changes,
    consent_table,
    moderation_decisions,
    moderation_table,
    retention_checks,
    retention_table,
)
from nexus_console.domain.evidence_chain import verify_rows
from nexus_console.domain.freshness import SourceStatus, stale_text
from nexus_console.models.analytics_table import DataTableModel
from nexus_console.views.chart_base import ask_save_path
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.views.table_view import fit_columns, row_table
from nexus_console.workers.session import ConsoleSession

RED, AMBER = QBrush(QColor("#ff6b5e")), QBrush(QColor("#e3b341"))
EVIDENCE_KINDS = {"dsar-register": "Data-subject request register", "pci-scan": "PCI scan result",
                  "access-review": "Access review (platform roles)",
                  "admin-audit": "Admin audit of the period (admins)"}  # fmt: skip


class FlaggedModel(DataTableModel):
    """A table whose rows read red (or amber) when a column's text says so: overdue requests, rows past the
    retention policy, card numbers found."""

    def __init__(
        self, columns: tuple[str, ...], column: int, red: tuple[str, ...], amber: tuple[str, ...] = ()
    ) -> None:
        super().__init__(columns)
        self.column, self.red, self.amber = column, red, amber

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # type: ignore[override]
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid() and index.row() < self.row_count():
            text = str(self.item_at(index.row())[self.column])
            if text.startswith(self.red):
                return RED
            if self.amber and text.startswith(self.amber):
                return AMBER
        return super().data(index, role)


def _page(*parts: QWidget | QHBoxLayout) -> QWidget:
    """A tab: its parts top to bottom, tables taking the spare height."""
    page = QWidget()
    layout = QVBoxLayout(page)
    for part in parts:
        if isinstance(part, QHBoxLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part, 1 if isinstance(part, QTableView) else 0)
    if not any(isinstance(part, QTableView) for part in parts):
        layout.addStretch(1)
    return page


class CompliancePane(Pane):
    title = "Compliance"
    icon_name = "compliance"
    required_roles = COMPLIANCE_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.statuses: dict[str, SourceStatus[Any]] = {}
        self.register: DsarRegister | None = None
        self.banner = StaleBanner()
        self.message = QLabel()
        self.message.setObjectName("complianceMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        # requests
        self.dsar_summary = QLabel("Reading the data-subject requests…")
        self.dsar_summary.setWordWrap(True)
        self.dsar = FlaggedModel(DSAR_COLUMNS, 5, ("overdue",), ("due today",))
        self.dsar_view = row_table(self.dsar, "dsarTable")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason (required), e.g. identity verified, data sent by e-mail")
        self.action_buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        actions.addWidget(self.reason, 1)
        for action, label in (
            ("extend", "Extend by two months"),
            ("complete", "Complete"),
            ("reject", "Reject"),
        ):
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, action=action: self.act(action))
            actions.addWidget(button)
            self.action_buttons[action] = button
        # consent and retention
        self.consent_line = QLabel()
        self.consent = DataTableModel(("Purpose", "Granted", "Withdrawn", "Rate"))
        self.consent_view = row_table(self.consent, "consentTable")
        self.consent_view.setMaximumHeight(24 + 22 * 5)  # a row a purpose
        self.retention = FlaggedModel(RETENTION_COLUMNS, 4, ("rows past",))
        self.retention_view = row_table(self.retention, "retentionTable")
        # moderation
        self.moderation_line = QLabel("<b>Moderation</b>")
        self.moderation_line.setWordWrap(True)
        self.moderation = DataTableModel(MODERATION_COLUMNS)
        self.moderation_view = row_table(self.moderation, "moderationTable")
        # PCI
        self.scan_button = QPushButton("Scan the replicas for card numbers")
        self.scan_button.clicked.connect(self.scan)
        self.scan_result = QLabel(
            "Every text column of every table on the configured replicas; card numbers show masked."
        )
        self.scan_result.setWordWrap(True)
        self.findings = DataTableModel(("Database", "Table", "Column", "Row", "Card number", "Brand"))
        self.findings_view = row_table(self.findings, "pciFindings")
        # evidence
        self.kind = QComboBox()
        for key, label in EVIDENCE_KINDS.items():
            self.kind.addItem(label, key)
        today = datetime.now(UTC).date()
        self.date_from = QLineEdit((today - timedelta(days=30)).isoformat())
        self.date_to = QLineEdit(today.isoformat())
        export = QPushButton("Export with hash chain…")
        export.clicked.connect(self._ask_export)
        verify = QPushButton("Verify a file…")
        verify.clicked.connect(self._ask_verify)
        evidence_row = QHBoxLayout()
        for widget in (
            QLabel("Evidence"),
            self.kind,
            QLabel("from"),
            self.date_from,
            QLabel("to"),
            self.date_to,
        ):
            evidence_row.addWidget(widget)
        evidence_row.addWidget(export)
        evidence_row.addWidget(verify)
        evidence_row.addStretch(1)
        self.evidence_result = QLabel(
            "CSV files carry a hash chain; Verify names the first entry that no longer matches."
        )
        self.evidence_result.setObjectName("evidenceResult")
        self.evidence_result.setWordWrap(True)
        self.evidence_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()
        self.tabs.addTab(_page(self.dsar_summary, self.dsar_view, actions), "Data-subject requests")
        retention_title = QLabel("<b>Retention checks</b> (rows kept longer than the policy allows)")
        consent_page = _page(self.consent_line, self.consent_view, retention_title, self.retention_view)
        self.tabs.addTab(consent_page, "Consent and retention")
        self.tabs.addTab(_page(self.moderation_line, self.moderation_view), "Moderation")
        scan_row = QHBoxLayout()
        scan_row.addWidget(self.scan_button)
        scan_row.addWidget(self.scan_result, 1)
        self.tabs.addTab(_page(scan_row, self.findings_view), "PCI-DSS")
        self.tabs.addTab(_page(evidence_row, self.evidence_result), "Evidence")
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        compliance = session.compliance
        if compliance is not None:
            for name, poller in compliance.documents.items():
                self.watch(poller, lambda status, name=name: self.set_status(name, status))
        self.every(1000, self._tick)

    # ---- sources ---------------------------------------------------------------------------------

    def set_status(self, name: str, status: SourceStatus[Any]) -> None:
        previous = self.statuses.get(name)
        self.statuses[name] = status
        good = status.last_good
        if good is None or (previous is not None and previous.last_good is good):
            return
        if name == "dsar":
            self.register = DsarRegister.from_json(good.value, datetime.now(UTC).date())
            self._show_table(self.dsar, self.dsar_view, self.register.table(), stretch=2)
            self.dsar_summary.setText(self.register.summary())
        elif name == "consents":
            self._show_table(self.consent, self.consent_view, consent_table(good.value), stretch=0)
            granted, withdrawn = consent_changes(good.value)
            self.consent_line.setText(
                f"<b>Consent</b> · last 30 days: {granted:,} given, {withdrawn:,} withdrawn"
            )
        elif name == "retention":
            checks = retention_table(retention_checks(good.value))
            self._show_table(self.retention, self.retention_view, checks, stretch=0)
        elif name == "moderation":
            self._show_table(self.moderation, self.moderation_view, moderation_table(good.value), stretch=3)
            self.moderation_line.setText(moderation_decisions(good.value))

    def _show_table(self, model: DataTableModel, view: Any, table: DataTable, *, stretch: int) -> None:
        model.replace_items(list(table.rows))
        fit_columns(view, stretch=stretch)

    def _tick(self) -> None:
        now = time.time()
        texts = [stale_text(status, now) for status in self.statuses.values()]
        stale = "; ".join(t for t in texts if t) or None
        self.banner.set_text(stale)
        apply_stale_look(self.tabs, bool(stale))

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ---- requests --------------------------------------------------------------------------------

    def selected_request(self) -> Any:
        row = self.dsar_view.currentIndex().row()
        if self.register is None or not 0 <= row < len(self.register.requests):
            return None
        return self.register.requests[row]

    def act(self, action: str) -> None:
        request, compliance = self.selected_request(), self.session.compliance
        if request is None or compliance is None:
            self.show_message("Select a request first.")
            return
        reason = self.reason.text().strip()
        if not reason:
            self.show_message("Write the reason first: it goes into the audit trail.")
            return

        async def run() -> None:
            try:
                self.show_message(await compliance.act_on_request(request, action, reason))
                self.reason.clear()
            except Exception as exc:  # the API's sentences (a second extension, a changed request)
                self.show_message(f"Could not {action} request #{request.id}: {exc}")

        self.run_task(run(), name=f"dsar {action}")

    # ---- PCI -------------------------------------------------------------------------------------

    def scan(self) -> None:
        compliance = self.session.compliance
        if compliance is None:
            return

        async def run() -> None:
            self.scan_button.setEnabled(False)
            self.scan_result.setText("Scanning the replicas…")
            try:
                report = await compliance.scan_for_card_numbers()
            except Exception as exc:  # no replicas configured, or none answered: a sentence
                self.scan_result.setText(f"Could not scan: {exc}")
                return
            finally:
                self.scan_button.setEnabled(True)
            rows = [(f.database, f.table, f.column, f.row, f.masked, f.brand) for f in report.findings]
            self.findings.replace_items(rows)
            fit_columns(self.findings_view, stretch=1)
            found = len(rows) + report.more_findings
            verdict = "Passed: no card numbers" if report.passed else f"{found} card numbers found"
            errors = f"; not scanned: {'; '.join(report.errors)}" if report.errors else ""
            seconds = report.finished_at - report.started_at
            self.scan_result.setText(
                f"{verdict} in {len(report.columns)} text columns of {', '.join(report.databases)} "
                f"({seconds:.1f} s){errors}."
            )

        self.run_task(run(), name="pci scan")

    # ---- evidence --------------------------------------------------------------------------------

    def _ask_export(self) -> None:
        kind = str(self.kind.currentData())
        period = f"_{self.date_from.text()}_{self.date_to.text()}" if kind == "admin-audit" else ""
        suggested = f"{kind}{period}.csv"
        ask_save_path(self, suggested, "CSV (*.csv)", lambda path: self.export(kind, Path(path)))

    def export(self, kind: str, path: Path) -> None:
        compliance = self.session.compliance
        if compliance is None:
            return

        async def run() -> None:
            self.evidence_result.setText(f"Writing {EVIDENCE_KINDS[kind].lower()} to {path}…")
            try:
                period = {"date_from": self.date_from.text(), "date_to": self.date_to.text()}
                written = await compliance.export(kind, path, **period)
            except Exception as exc:  # a role that may not read it, a server error, a write error
                self.evidence_result.setText(f"Could not export: {exc}")
                return
            self.evidence_result.setText(written.sentence())

        self.run_task(run(), name=f"evidence {kind}")

    def _ask_verify(self) -> None:
        dialog = QFileDialog(self, "Verify evidence", "", "CSV (*.csv)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self.verify(Path(path)))
        dialog.open()

    def verify(self, path: Path) -> None:
        """Check the file's hash chain on a worker thread (an export can be long)."""

        def check() -> str:
            try:
                with path.open(newline="", encoding="utf-8") as handle:
                    return f"{path.name}: {verify_rows(csv.reader(handle)).sentence()}"
            except (OSError, UnicodeDecodeError) as exc:
                return f"Could not read {path}: {exc}"

        async def run() -> None:
            self.evidence_result.setText(f"Checking {path.name}…")
            self.evidence_result.setText(await asyncio.to_thread(check))

        self.run_task(run(), name="evidence verify")

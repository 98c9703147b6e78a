"""The report builder (Analytics › Reports): pick figures, breakdowns, filters and a range; see the table the
server answers; save it by name with a schedule and where it goes; export it to CSV or Excel in the
background with progress and cancel. The saved reports are the ones `nexus-console report run` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.auth import REVENUE_READERS
from nexus_console.domain.reports import (
    DIMENSIONS,
    FORMATS,
    MAX_DIMENSIONS,
    MAX_RANGE_DAYS,
    METRICS,
    REVENUE_METRICS,
    ReportError,
    ReportSpec,
    ReportTable,
)
from nexus_console.models.analytics_table import DataTableModel
from nexus_console.views.chart_base import ask_save_path
from nexus_console.views.table_view import fit_columns, row_table, show_model
from nexus_console.workers.bridge import FeedWatcher
from nexus_console.workers.session import ConsoleSession

ANY = "any"
CHANNELS = (ANY, "webshop", "consumer_app")
STATUSES = (ANY, "completed", "refunded", "failed")
NO_BREAKDOWN = "—"


class ReportBuilder(QWidget):
    def __init__(self, session: ConsoleSession, run_task: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert session.reports is not None
        self.reports = session.reports
        self.exports = session.exports
        self._run_task = run_task  # Pane.run_task: the pane's session task with its errors shown
        self.table: ReportTable | None = None
        self.job: Any = None
        may_read_revenue = session.me.may_access(REVENUE_READERS)

        self.saved = QComboBox()
        self.saved.setObjectName("savedReports")
        self.saved.activated.connect(lambda _i: self.open_saved(self.saved.currentText()))
        self.name = QLineEdit()
        self.name.setPlaceholderText("Weekly vendor performance")
        self.metrics = QListWidget()
        self.metrics.setObjectName("reportMetrics")
        for key, label in METRICS.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setCheckState(Qt.CheckState.Unchecked)
            if key in REVENUE_METRICS and not may_read_revenue:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip("Revenue figures need the finance or admin role.")
            self.metrics.addItem(item)
        self.metrics.setMaximumHeight(20 * len(METRICS) + 6)
        self.breakdowns = [QComboBox() for _ in range(MAX_DIMENSIONS)]
        for combo in self.breakdowns:
            combo.addItem(NO_BREAKDOWN, "")
            for key, label in DIMENSIONS.items():
                combo.addItem(label, key)
        self.channel = _combo(CHANNELS)
        self.status = _combo(STATUSES)
        self.days = QSpinBox()
        self.days.setRange(1, MAX_RANGE_DAYS)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.schedule = QLineEdit()
        self.schedule.setPlaceholderText("weekly mon 08:00 · daily 07:30 · monthly 1 06:00 · 0 8 * * 1-5")
        self.email_to = QLineEdit()
        self.email_to.setPlaceholderText("ops@example.com, cfo@example.com")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder for each scheduled run (default: the console's data folder)")
        self.format = _combo(FORMATS)
        self.format.setCurrentText("xlsx")

        form = QFormLayout()
        form.addRow("Saved reports", self.saved)
        form.addRow("Name", self.name)
        form.addRow("Figures", self.metrics)
        breakdown_row = QHBoxLayout()
        for combo in self.breakdowns:
            breakdown_row.addWidget(combo)
        form.addRow("Broken down by", breakdown_row)
        form.addRow("Channel", self.channel)
        form.addRow("Order status", self.status)
        form.addRow("Range (up to the data's as-of day)", self.days)
        form.addRow("Schedule", self.schedule)
        form.addRow("E-mail to", self.email_to)
        form.addRow("Folder", self.folder)
        form.addRow("Format", self.format)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.save_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.message = QLabel()
        self.message.setObjectName("reportMessage")
        self.message.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.message)
        left_layout.addStretch(1)

        self.summary = QLabel("Run a report to see its table here.")
        self.summary.setObjectName("reportSummary")
        self.summary.setWordWrap(True)
        self.model = DataTableModel(())
        self.view = row_table(self.model, "reportTable")
        self.export_csv = QPushButton("CSV…")
        self.export_xlsx = QPushButton("Excel…")
        self.export_csv.clicked.connect(lambda: self._ask_export("csv", "CSV (*.csv)"))
        self.export_xlsx.clicked.connect(lambda: self._ask_export("xlsx", "Excel (*.xlsx)"))
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_export)
        export_row = QHBoxLayout()
        export_row.addWidget(self.summary, 1)
        for widget in (self.progress, self.cancel_button, self.export_csv, self.export_xlsx):
            export_row.addWidget(widget)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(export_row)
        right_layout.addWidget(self.view, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([430, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._set_exportable(False)
        self.refresh_saved()

    # ---- the form ---------------------------------------------------------------------------------

    def spec(self) -> ReportSpec:
        """The report the form describes; ReportError (a sentence) when it cannot run."""
        metrics = tuple(
            self.metrics.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.metrics.count())
            if self.metrics.item(i).checkState() == Qt.CheckState.Checked
        )
        filters = {
            key: (combo.currentText(),)
            for key, combo in (("channel", self.channel), ("status", self.status))
            if combo.currentText() != ANY
        }
        return ReportSpec(
            name=self.name.text().strip() or "Untitled report",
            metrics=metrics,
            dimensions=tuple(d for c in self.breakdowns if (d := c.currentData())),
            filters=filters,
            days=self.days.value(),
            schedule=self.schedule.text().strip() or None,
            format=self.format.currentText(),
            folder=self.folder.text().strip() or None,
            email_to=tuple(a.strip() for a in self.email_to.text().split(",") if a.strip()),
        )

    def show_spec(self, spec: ReportSpec) -> None:
        self.name.setText(spec.name)
        for i in range(self.metrics.count()):
            item = self.metrics.item(i)
            checked = item.data(Qt.ItemDataRole.UserRole) in spec.metrics
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        for index, combo in enumerate(self.breakdowns):
            combo.setCurrentIndex(
                max(0, combo.findData(spec.dimensions[index] if index < len(spec.dimensions) else ""))
            )
        self.channel.setCurrentText(spec.filters.get("channel", (ANY,))[0])
        self.status.setCurrentText(spec.filters.get("status", (ANY,))[0])
        self.days.setValue(spec.days)
        self.schedule.setText(spec.schedule or "")
        self.email_to.setText(", ".join(spec.email_to))
        self.folder.setText(spec.folder or "")
        self.format.setCurrentText(spec.format)

    def refresh_saved(self) -> None:
        try:
            names = sorted(self.reports.saved())
        except ReportError as exc:
            names = []
            self.message.setText(str(exc))
        self.saved.clear()
        self.saved.addItems(names)
        self.saved.setEnabled(bool(names))
        self.saved.setPlaceholderText("none saved yet" if not names else "")

    def open_saved(self, name: str) -> None:
        try:
            self.show_spec(self.reports.saved()[name])
            self.message.setText(f"Opened “{name}”.")
        except (KeyError, ReportError) as exc:
            self.message.setText(str(exc))

    # ---- actions -----------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            spec = self.spec()
        except ReportError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"Running “{spec.name}”…")
        self.run_button.setEnabled(False)

        async def query() -> None:
            try:
                table = await self.reports.query(spec)
            except Exception as exc:  # the API's errors are sentences (a 403 names the role it needs)
                self.message.setText(f"“{spec.name}” did not run: {exc}")
                return
            finally:
                self.run_button.setEnabled(True)
            self.show_table(spec, table)
            self.message.setText(f"“{spec.name}”: {len(table.rows):,} rows.")

        self._run_task(query(), name="report query")

    def show_table(self, spec: ReportSpec, table: ReportTable) -> None:
        self.table = table
        self.model = DataTableModel(table.labels, self)
        self.model.replace_items(list(table.rows))
        show_model(self.view, self.model)
        names = [i for i, column in enumerate(table.columns) if column.type == "string"]
        fit_columns(self.view, stretch=names[0] if names else len(table.columns) - 1)
        cut = " · cut at the server's row limit" if table.truncated else ""
        rows = f"{len(table.rows):,} rows"
        self.summary.setText(
            f"{spec.describe()} · {rows} · {table.range_text()} · data as of {table.as_of_text()}{cut}"
        )
        self._set_exportable(bool(table.rows))

    def save(self) -> None:
        try:
            spec = self.spec()
            self.reports.save(spec)
        except (ReportError, OSError) as exc:
            self.message.setText(f"Not saved: {exc}")
            return
        self.refresh_saved()
        self.saved.setCurrentText(spec.name)
        when = f" It runs {spec.schedule} while the console is open." if spec.schedule else ""
        self.message.setText(f"Saved “{spec.name}”.{when}")

    def delete(self) -> None:
        name = self.name.text().strip()
        if name not in self.reports.saved():
            self.message.setText(f"No saved report named “{name}”.")
            return
        self.reports.delete(name)
        self.refresh_saved()
        self.message.setText(f"Deleted “{name}”.")

    def export(self, path: Path, fmt: str) -> None:
        """Write the table on show to `path` in the background, with progress and cancel."""
        table = self.table
        if table is None:
            return
        name = self.name.text().strip() or "Report"
        job = self.job = self.exports.start(
            path, fmt, table.labels, table.rows, total_rows=len(table.rows), sheet_name=name
        )
        self.progress.setRange(0, max(1, len(table.rows)))
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self._set_exportable(False)
        watcher = FeedWatcher(job.progress, lambda p: self.progress.setValue(p.rows_written), parent=self)

        async def wait() -> None:
            try:
                result = await job.result()
                self.message.setText(f"Saved {result.rows:,} rows to {result.path}.")
            except OSError as exc:
                self.message.setText(f"Could not save {path}: {exc.strerror or exc}.")
            except Exception as exc:  # ExportCancelled says it in a sentence
                self.message.setText(str(exc))
            finally:
                watcher.close()
                self.job = None
                self.progress.hide()
                self.cancel_button.hide()
                self._set_exportable(True)

        self._run_task(wait(), name=f"export {path.name}")

    def cancel_export(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _ask_export(self, fmt: str, file_filter: str) -> None:
        stem = (self.name.text().strip() or "report").lower().replace(" ", "_")
        ask_save_path(self, f"{stem}.{fmt}", file_filter, lambda path: self.export(Path(path), fmt))

    def _set_exportable(self, exportable: bool) -> None:
        for button in (self.export_csv, self.export_xlsx):
            button.setEnabled(exportable and self.table is not None)


def _combo(values: tuple[str, ...]) -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(values))
    return combo

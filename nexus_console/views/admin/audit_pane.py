"""The Audit pane: the audit trail (who, what, when, before/after, reason) with filters, paging and CSV
export, fetched and written by the admin runtime's AuditTrail. Admins only (the API's audit:read)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin_flow import AUDIT_ROLES, AuditPage
from nexus_console.domain.time_input import parse_time_input
from nexus_console.models.audit_table import AuditTableModel
from nexus_console.views.async_dialog import ask_save_path
from nexus_console.views.pane import Pane
from nexus_console.views.table_view import row_table
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)


class AuditPane(Pane):
    title = "Audit"
    icon_name = "audit"
    required_roles = AUDIT_ROLES

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("auditPane")
        runtime = session.admin
        assert runtime is not None, "the audit pane needs an admin session"
        self.audit = runtime.audit
        self._shut_down = False
        self._next_cursor: str | None = None
        self._filters: dict[str, str] = {}
        self.total: int | None = None

        self.actor_edit = QLineEdit(self)
        self.actor_edit.setPlaceholderText("email")
        self.action_edit = QLineEdit(self)
        self.action_edit.setPlaceholderText("user.suspend, vendor.approve, …")
        self.entity_type_combo = QComboBox(self)
        for label, value in (
            ("Any", ""),
            ("User", "user"),
            ("Vendor", "vendor"),
            ("Product", "product"),
            ("Alert", "alert"),
            ("Incident", "incident"),
        ):
            self.entity_type_combo.addItem(label, value)
        self.entity_id_edit = QLineEdit(self)
        self.entity_id_edit.setPlaceholderText("id")
        self.since_edit = QLineEdit(self)
        self.since_edit.setPlaceholderText("24h, 7d, yesterday, 2026-12-01, 2026-12-01 14:30")
        self.until_edit = QLineEdit(self)
        self.until_edit.setPlaceholderText("now, today, 2026-12-06 18:00")
        form = QFormLayout()
        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Who", self))
        row1.addWidget(self.actor_edit, 2)
        row1.addWidget(QLabel("Action", self))
        row1.addWidget(self.action_edit, 1)
        row1.addWidget(QLabel("Entity", self))
        row1.addWidget(self.entity_type_combo)
        row1.addWidget(self.entity_id_edit, 1)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Since", self))
        row2.addWidget(self.since_edit, 1)
        row2.addWidget(QLabel("Until", self))
        row2.addWidget(self.until_edit, 1)
        self.search_button = QPushButton("Search", self)
        self.more_button = QPushButton("Load more", self)
        self.more_button.setEnabled(False)
        self.export_button = QPushButton("Export CSV…", self)
        row2.addWidget(self.search_button)
        row2.addWidget(self.more_button)
        row2.addWidget(self.export_button)
        form.addRow(row1)
        form.addRow(row2)

        self.status_label = QLabel("", self)
        self.status_label.setObjectName("auditStatus")
        self.model = AuditTableModel(self)
        self.table = row_table(self.model, "auditTable", self)
        # when, who, action, entity and reason readable whole; the change takes the rest
        for column, width in enumerate((150, 190, 170, 130, 240)):
            self.table.setColumnWidth(column, width)
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(splitter, 1)

        for edit in (
            self.actor_edit,
            self.action_edit,
            self.entity_id_edit,
            self.since_edit,
            self.until_edit,
        ):
            edit.returnPressed.connect(self.start_search)
        self.search_button.clicked.connect(self.start_search)
        self.more_button.clicked.connect(lambda: self.run_task(self.load_more(), "audit-more"))
        self.export_button.clicked.connect(lambda: self.run_task(self._export_clicked(), "audit-export"))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

    def actions(self) -> list[QAction]:  # type: ignore[override]
        export = QAction("Audit: export CSV", self)
        export.setObjectName("auditExportAction")
        export.triggered.connect(lambda: self.run_task(self._export_clicked(), "audit-export"))
        return [export]

    def show_task_error(self, error: BaseException) -> None:
        log.warning("audit pane: %s", error)
        if not self._shut_down:
            self.status_label.setText(f"Error: {error}")

    def filters(self) -> dict[str, str]:
        values = {
            "actor": self.actor_edit.text().strip(),
            "action": self.action_edit.text().strip(),
            "entity_type": str(self.entity_type_combo.currentData() or ""),
            "entity_id": self.entity_id_edit.text().strip(),
        }
        # times as typed ("2h", "2026-12-01 14:30"), sent as RFC 3339; TimeInputError says what is accepted
        for key, edit in (("since", self.since_edit), ("until", self.until_edit)):
            if edit.text().strip():
                values[key] = parse_time_input(edit.text())
        return {key: value for key, value in values.items() if value}

    def start_search(self) -> asyncio.Task[Any] | None:
        return self.run_task(self.search(), "audit-search")

    async def search(self) -> None:
        self._filters = self.filters()
        page = await self.audit.page(self._filters)
        if self._shut_down:
            return
        self.model.set_entries(page.items)
        self._after_page(page)

    async def load_more(self) -> None:
        if self._next_cursor is None:
            return
        page = await self.audit.page(self._filters, self._next_cursor)
        if not self._shut_down:
            self.model.append(page.items)
            self._after_page(page)

    def _after_page(self, page: AuditPage) -> None:
        self._next_cursor = page.next_cursor
        self.total = page.estimated_total
        self.more_button.setEnabled(self._next_cursor is not None)
        shown = self.model.rowCount()
        total = f" of {self.total:,}" if self.total is not None else ""
        self.status_label.setText(f"{shown:,}{total} entries")

    def _selection_changed(self, _s: QItemSelection, _d: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.detail.clear()
            return
        entry = self.model.entry_at(rows[0].row())
        self.detail.setPlainText(
            f"{entry.get('at')} {entry.get('actor')} {entry.get('action')} "
            f"{entry.get('entity_type')}:{entry.get('entity_id')}\n"
            f"reason: {entry.get('reason') or '—'}\n"
            f"idempotency key: {entry.get('idempotency_key') or '—'}\n\n"
            f"before:\n{json.dumps(entry.get('before'), indent=2, sort_keys=True)}\n\n"
            f"after:\n{json.dumps(entry.get('after'), indent=2, sort_keys=True)}"
        )

    async def export_csv(self, path: Path) -> int:
        """Every entry matching the current filters (all pages), written as CSV; returns the row count."""
        self._filters = self.filters()
        count = await self.audit.export_csv(self._filters, Path(path))
        if not self._shut_down:
            self.status_label.setText(f"Exported {count:,} entries to {Path(path).name}")
        return count

    async def _export_clicked(self) -> None:
        path = await ask_save_path(self, "Export audit trail", "audit.csv", ("csv",))
        if path is not None:
            await self.export_csv(path)

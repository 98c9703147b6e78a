"""The Action queue pane: every queued admin action with its age and state (queued → sending → applied,
conflict or failed). Works offline: edit a queued action's reason or cancel it before it is sent. On a
conflict it shows the server's current record and, for admins, who changed what since the version the action
expected (from the audit trail); it offers: apply again on that version, or discard.

The pane re-reads the queue when the admin runtime says it changed (`changes`, coalesced), and its ages
move on once a second while it is shown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin import ActionError, EntityType, spec_for
from nexus_console.domain.admin_flow import ADMIN_ROLES
from nexus_console.domain.audit_changes import fields_text
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from nexus_console.models.outbox_table import OutboxTableModel
from nexus_console.views.admin.dialogs import ReasonDialog
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.pane import Pane
from nexus_console.views.table_view import row_table
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)

TICK_MS = 1000
RELOAD_BATCH_MS = 100  # the outbox's changes within this window: one re-read
PANE_STYLE = "QLabel#queueError { color: #ff6b5e; } QLabel#queueCounts { color: #9aa0a6; }"


class QueuePane(Pane):
    title = "Action queue"
    icon_name = "queue"
    required_roles = ADMIN_ROLES

    def __init__(
        self,
        session: ConsoleSession,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(session, parent)
        self.setObjectName("queuePane")
        self.setStyleSheet(PANE_STYLE)
        runtime = session.admin
        assert runtime is not None, "the admin panes need an admin or moderator session"
        self.runtime = runtime
        self.active_dialog: QDialog | None = None
        self._shut_down = False
        self._reloading = False
        self._reload_again = False

        self.counts_label = QLabel("", self)
        self.counts_label.setObjectName("queueCounts")
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("queueError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.model = OutboxTableModel(clock=clock, parent=self)
        # the reason takes the spare width (it is what the admin wrote); the server's last answer is in the
        # detail below in full
        self.table = row_table(self.model, "queueTable", self, stretch_column=3)
        for column, width in ((0, 40), (1, 150), (2, 130), (4, 90), (5, 70), (6, 70), (7, 320)):
            self.table.setColumnWidth(column, width)

        self.edit_button = QPushButton("Edit reason…", self)
        self.cancel_button = QPushButton("Cancel action", self)
        self.apply_again_button = QPushButton("Apply again on server version", self)
        self.discard_button = QPushButton("Discard", self)
        self.retry_button = QPushButton("Retry", self)
        buttons = QHBoxLayout()
        for button in (
            self.edit_button,
            self.cancel_button,
            self.apply_again_button,
            self.discard_button,
            self.retry_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("queueDetail")
        self.detail.setReadOnly(True)

        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(buttons)
        bottom_layout.addWidget(self.detail, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.error_label)
        layout.addWidget(splitter, 1)

        self.edit_button.clicked.connect(lambda: self._on_selected(self.edit_reason))
        self.cancel_button.clicked.connect(lambda: self._on_selected(self.cancel))
        self.apply_again_button.clicked.connect(lambda: self._on_selected(self.apply_again))
        self.discard_button.clicked.connect(lambda: self._on_selected(self.discard))
        self.retry_button.clicked.connect(lambda: self._on_selected(self.retry))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._update_buttons()
        self.every(TICK_MS, self.model.tick, name="queuePaneTick")  # ages move on
        self.watch(self.runtime.changes, lambda _revision: self.reload_soon(), batch_ms=RELOAD_BATCH_MS)

    # ---- plumbing ----------------------------------------------------------------------------------

    def show_task_error(self, error: BaseException) -> None:
        log.warning("queue pane: %s", error)
        if not self._shut_down:
            self.error_label.setText(str(error) or type(error).__name__)
            self.error_label.show()

    def shutdown(self) -> None:
        if self.active_dialog is not None:
            self.active_dialog.reject()
        super().shutdown()

    def reload_soon(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        self.run_task(self.reload(), "queue-reload")

    async def reload(self) -> None:
        """Re-read the queue (again, when it changed meanwhile) and keep the selection."""
        self._reloading = True
        try:
            while True:
                self._reload_again = False
                snapshot = await self.runtime.queue_snapshot()
                if snapshot is None or self._shut_down:
                    return
                selected = self.selected_entry()
                self.model.set_entries(snapshot.entries)
                if selected is not None:
                    row = self.model.row_of(selected.id)
                    if row is not None and not self.table.selectionModel().isRowSelected(row):
                        self.table.selectRow(row)
                self.counts_label.setText(snapshot.describe())
                self._show_selected()
                if not self._reload_again:
                    return
        finally:
            self._reloading = False

    # ---- selection ---------------------------------------------------------------------------------

    def selected_entry(self) -> OutboxEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.entry_at(rows[0].row()) if rows else None

    def select_entry(self, entry_id: int) -> None:
        row = self.model.row_of(entry_id)
        if row is not None:
            self.table.selectRow(row)

    def _selection_changed(self, _s: QItemSelection, _d: QItemSelection) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        entry = self.selected_entry()
        self._update_buttons()
        self.detail.setPlainText("" if entry is None else describe_entry(entry))
        if entry is not None and entry.state is OutboxState.CONFLICT:
            self.run_task(self.show_conflict_history(entry), "queue-conflict-history")

    async def show_conflict_history(self, entry: OutboxEntry) -> None:
        """Below a conflict: who changed the entity since the version the action expected, and how (from
        the audit trail, for the roles that may read it)."""
        history = await self.runtime.workflow.conflict_history(entry)
        selected = self.selected_entry()
        if not history or selected is None or selected.id != entry.id:
            return  # nothing audited after that version (yet): the record above says it all
        lines = history
        self.detail.setPlainText(
            describe_entry(entry)
            + f"\n\nChanged on the server since v{entry.expected_version}:\n"
            + "\n".join(lines)
        )

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        self.edit_button.setEnabled(entry is not None and entry.is_editable)
        self.cancel_button.setEnabled(entry is not None and entry.is_editable)
        conflict = entry is not None and entry.state is OutboxState.CONFLICT
        self.apply_again_button.setEnabled(conflict and not no_longer_applies(entry))  # type: ignore[arg-type]
        self.discard_button.setEnabled(
            entry is not None and entry.state in (OutboxState.CONFLICT, OutboxState.FAILED)
        )
        self.retry_button.setEnabled(entry is not None and entry.state is OutboxState.FAILED)

    def _on_selected(self, action: Callable[[OutboxEntry], Coroutine[Any, Any, Any]]) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.error_label.hide()
            self.run_task(action(entry), "queue-action")

    # ---- actions -----------------------------------------------------------------------------------

    async def edit_reason(self, entry: OutboxEntry) -> bool:
        dialog = ReasonDialog(
            "Edit reason",
            f"{entry.action} {entry.entity}: the new reason replaces the old one before it is sent.",
            reason=entry.reason or "",
            parent=self,
        )
        self.active_dialog = dialog
        try:
            accepted = await execute_dialog(dialog) == QDialog.DialogCode.Accepted
        finally:
            self.active_dialog = None
            dialog.deleteLater()
        if not accepted:
            return False
        actions = self.runtime.actions
        assert actions is not None
        await actions.edit_reason(entry.id, dialog.reason_text())
        return True

    async def cancel(self, entry: OutboxEntry) -> None:
        actions = self.runtime.actions
        assert actions is not None
        await actions.cancel(entry.id)

    async def apply_again(self, entry: OutboxEntry) -> None:
        """Send the same action again, on the version the server has now (from the conflict)."""
        actions = self.runtime.actions
        assert actions is not None
        await actions.apply_again(entry)

    async def discard(self, entry: OutboxEntry) -> None:
        actions = self.runtime.actions
        assert actions is not None
        await actions.discard(entry.id)

    async def retry(self, entry: OutboxEntry) -> None:
        actions = self.runtime.actions
        assert actions is not None
        await actions.retry(entry.id)


def no_longer_applies(entry: OutboxEntry) -> bool:
    """A conflict whose action cannot apply to the server's record as it is now (a suspend of a user
    someone banned meanwhile): applying it again would only be refused again."""
    if entry.state is not OutboxState.CONFLICT or entry.server_state is None:
        return False
    if entry.entity.type is EntityType.INCIDENT:
        return False
    try:
        spec = spec_for(entry.entity.type, entry.action)
    except ActionError:
        return False
    return not spec.applies_to(entry.server_state)


def describe_entry(entry: OutboxEntry) -> str:
    lines = [
        entry.describe(),
        f"reason: {entry.reason or '—'}",
        f"sent for version {entry.expected_version}"
        if entry.expected_version
        else "version: from the previous action",
        f"attempts: {entry.attempts}",
    ]
    if entry.last_error:
        lines.append(f"last answer: {entry.last_error}")
    if entry.state is OutboxState.CONFLICT:
        state = dict(entry.server_state or {})
        what = f"{entry.entity.type.value.replace('_', ' ')} {entry.entity.id}"
        if no_longer_applies(entry):
            lines += [
                "",
                f"{entry.action.replace('_', ' ').capitalize()} no longer applies: {what} is "
                f"{state.get('status', 'changed')} on the server now. Discard the action.",
            ]
        else:
            summary = ", ".join(f"{key} {state[key]}" for key in ("status", "version") if key in state)
            lines += [
                "",
                f"Someone changed {what} since this action was queued."
                + (f" Now on the server: {summary}." if summary else ""),
                "Apply again on the server's version, or discard the action.",
            ]
        lines += ["", "The server's current record:", fields_text(state)]
    return "\n".join(lines)

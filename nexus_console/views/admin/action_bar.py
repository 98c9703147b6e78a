"""The Admin pane's action bar: one button per action on the selected row, and a bulk action on the marked
rows. It asks the admin (reason, confirmation, dry run, password) and hands the rest to the admin workflow:
the permission rule, step-up, the re-check of the entity's current state, the dry run and the queueing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin import (
    ActionError,
    ActionSpec,
    DryRunSummary,
    EntityRef,
    EntityType,
    actions_for,
    spec_for,
)
from nexus_console.domain.admin_flow import ActionOutcome, ActionStatus, subject_of
from nexus_console.models.admin_table import EntityTableModel
from nexus_console.views.admin.dialogs import DryRunDialog, StepUpDialog, action_dialog
from nexus_console.views.admin.merge_dialog import MergeDialog
from nexus_console.views.admin.results_view import ResultsView, RunTask
from nexus_console.views.async_dialog import execute_dialog

READ_ONLY = "_read_only"
BUTTONS_PER_ROW = 4


class ActionBar(QWidget):
    def __init__(
        self,
        workflow: Any,  # services.admin_workflow.AdminWorkflow, reached through session.admin
        results: ResultsView,
        *,
        email: str,
        run_task: RunTask,
        show_error: Callable[[BaseException], None],
        clear_error: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.workflow = workflow
        self.results = results
        self.email = email
        self._run_task = run_task
        self._show_error = show_error
        self._clear_error = clear_error
        self.active_dialog: QDialog | None = None
        self.buttons: dict[str, QPushButton] = {}
        # in rows of BUTTONS_PER_ROW: a user's eight actions in one row need more than a 1366 px laptop has
        self.button_row = QGridLayout()
        self.bulk_combo = QComboBox(self)
        self.bulk_button = QPushButton("Bulk on marked…", self)
        self.bulk_button.setObjectName("bulkButton")
        bulk_row = QHBoxLayout()
        bulk_row.addWidget(QLabel("Marked rows:", self))
        bulk_row.addWidget(self.bulk_combo, 1)
        bulk_row.addWidget(self.bulk_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.button_row)
        layout.addLayout(bulk_row)
        self.bulk_button.clicked.connect(self._bulk_clicked)

    @property
    def model(self) -> EntityTableModel:
        return self.results.model

    def rebuild(self, entity_type: EntityType) -> None:
        """The actions of an entity type, or a read-only note when the role may not change it."""
        for button in self.buttons.values():
            self.button_row.removeWidget(button)
            button.deleteLater()
        self.buttons.clear()
        self.bulk_combo.clear()
        writable = self.workflow.may_write(entity_type)
        for spec in actions_for(entity_type) if writable else []:
            button = QPushButton(spec.label, self)
            button.setObjectName(f"action_{spec.name}")
            button.setEnabled(False)
            button.clicked.connect(lambda _checked=False, s=spec: self.start_action(s))
            index = len(self.buttons)
            self.button_row.addWidget(button, index // BUTTONS_PER_ROW, index % BUTTONS_PER_ROW)
            self.buttons[spec.name] = button
            if spec.bulk:
                self.bulk_combo.addItem(spec.label, spec.name)
        self.bulk_combo.setEnabled(writable)
        self.bulk_button.setEnabled(writable)
        if not writable:
            note = QPushButton("read only for your role", self)
            note.setObjectName("readOnlyNote")
            note.setEnabled(False)
            note.setFlat(True)
            self.button_row.addWidget(note, 0, 0)
            self.buttons[READ_ONLY] = note

    def update_enabled(self) -> None:
        """Each action is enabled when it applies to the selected row as the replica shows it."""
        entity_id = self.results.selected_id()
        row = None if entity_id is None else self.model.cached_row(entity_id)
        for name, button in self.buttons.items():
            if name != READ_ONLY:
                spec = spec_for(self.model.entity_type, name)
                button.setEnabled(row is not None and spec.applies_to(row))

    def reject_dialog(self) -> None:
        if self.active_dialog is not None:
            self.active_dialog.reject()

    # ---- one action ---------------------------------------------------------------------------------

    def start_action(self, spec: ActionSpec) -> asyncio.Task[Any] | None:
        self._clear_error()
        return self._run_task(self.act(spec), f"admin-{spec.name}")

    async def act(self, spec: ActionSpec) -> bool:
        """Ask for the reason (and confirmation), then the workflow: step-up for a ban, the current state
        re-checked, the action queued. True when queued."""
        entity_type = self.model.entity_type
        self.workflow.require_write(entity_type)
        entity_id = self.results.selected_id()
        if entity_id is None:
            return False
        row = self.model.cached_row(entity_id) or {}
        subject = subject_of(EntityRef(entity_type, entity_id), row)
        if spec.name == "merge":
            dialog = MergeDialog(entity_id, row, self.workflow.merge_preview, self._run_task, parent=self)
        else:
            dialog = action_dialog(spec, subject, row=row, parent=self)
        if not await self._dialog(dialog):
            return False
        reason, params = dialog.reason_text(), dialog.params()
        outcome = await self.workflow.act(
            spec,
            entity_id,
            reason,
            self._password_asker(f"{spec.label} of {subject}"),
            params=params,
            seen=row,
        )
        return self._settle(outcome)

    # ---- bulk ---------------------------------------------------------------------------------------

    def _bulk_clicked(self) -> None:
        self._clear_error()
        name = self.bulk_combo.currentData()
        if name:
            self._run_task(self.bulk(str(name)), "admin-bulk")

    async def bulk(self, action: str) -> int:
        """Reason and confirmation, then the workflow: a dry run on the replica (shown here), step-up,
        queue. Returns how many actions were queued."""
        entity_type = self.model.entity_type
        ids = self.model.marked_ids()
        self.workflow.check_bulk(entity_type, ids)
        spec = spec_for(entity_type, action)
        subject = f"{len(ids)} marked {entity_type.value}{'s' if len(ids) != 1 else ''}"
        dialog = action_dialog(spec, subject, bulk=True, parent=self)
        if not await self._dialog(dialog):
            return 0

        async def confirm(summary: DryRunSummary) -> bool:
            return await self._dialog(DryRunDialog(summary, parent=self))

        outcome = await self.workflow.bulk(
            entity_type,
            ids,
            action,
            dialog.reason_text(),
            confirm=confirm,
            ask_password=self._password_asker(f"Bulk {spec.label.lower()} of {subject}"),
        )
        self._settle(outcome)
        return len(outcome.entries)

    # ---- dialogs ------------------------------------------------------------------------------------

    def _settle(self, outcome: ActionOutcome) -> bool:
        """Show the rows the workflow re-read; say why an action was refused or the step-up failed."""
        if outcome.rows:
            self.model.put_rows(dict(outcome.rows))
        if outcome.status is ActionStatus.REFUSED:
            raise ActionError(outcome.message or "the action was refused")
        if outcome.status is ActionStatus.STEP_UP_FAILED:
            self._show_error(ActionError(outcome.message or "step-up failed"))
        return outcome.queued

    async def _dialog(self, dialog: QDialog) -> bool:
        self.active_dialog = dialog
        try:
            return await execute_dialog(dialog) == QDialog.DialogCode.Accepted
        finally:
            self.active_dialog = None
            dialog.deleteLater()

    def _password_asker(self, what: str) -> Callable[[str | None], Awaitable[str | None]]:
        """The workflow's `ask_password`: the step-up dialog, with the previous try's error."""

        async def ask(error: str | None) -> str | None:
            dialog = StepUpDialog(self.email, what, error=error, parent=self)
            self.active_dialog = dialog
            try:
                accepted = await execute_dialog(dialog) == QDialog.DialogCode.Accepted
                password = dialog.take_password()
            finally:
                self.active_dialog = None
                dialog.deleteLater()
            return password if accepted else None

        return ask

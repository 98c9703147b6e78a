"""The admin dialogs: an action with its reason (and confirmation when destructive), step-up
re-authentication, a bulk action's dry-run summary, and editing a queued action's reason."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin import MAX_REASON_LENGTH, ActionSpec, DryRunSummary, normalise_reason
from nexus_console.domain.admin_params import (
    MAX_FEEDBACK_LENGTH,
    PLATFORM_LABELS,
    PLATFORM_ROLES,
    platform_access,
)

DIALOG_STYLE = (
    "QLabel#dialogWarning { color: #ff6b5e; font-weight: bold; } QLabel#dialogError { color: #ff6b5e; }"
)


class ReasonDialog(QDialog):
    """A reason (required) and, for destructive actions, an explicit confirmation; OK stays disabled
    until both are given."""

    def __init__(
        self,
        title: str,
        prompt: str,
        *,
        destructive: bool = False,
        confirm_text: str = "",
        reason: str = "",
        commission: float | None = None,
        feedback: bool | None = None,
        platforms: dict[str, tuple[str, ...]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`feedback`: None no field, False optional, True required. `platforms`: a platform choice with
        the roles of each (an empty tuple: the platform only, as for a revoke)."""
        super().__init__(parent)
        self.setObjectName("reasonDialog")
        self.setWindowTitle(title)
        self.setStyleSheet(DIALOG_STYLE)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.prompt = QLabel(prompt, self)
        self.prompt.setWordWrap(True)
        layout.addWidget(self.prompt)
        form = QFormLayout()
        self.reason = QPlainTextEdit(self)
        self.reason.setObjectName("reasonEdit")
        self.reason.setPlaceholderText("Why? (recorded in the audit trail)")
        self.reason.setPlainText(reason)
        self.reason.setFixedHeight(80)
        form.addRow("Reason", self.reason)
        self.commission: QDoubleSpinBox | None = None
        if commission is not None:
            self.commission = QDoubleSpinBox(self)
            self.commission.setRange(0.0, 100.0)
            self.commission.setDecimals(1)
            self.commission.setSuffix(" %")
            self.commission.setValue(commission)
            form.addRow("Commission", self.commission)
        self.feedback: QPlainTextEdit | None = None
        self.feedback_required = bool(feedback)
        if feedback is not None:
            self.feedback = QPlainTextEdit(self)
            self.feedback.setObjectName("feedbackEdit")
            self.feedback.setPlaceholderText(
                "What the vendor reads"
                + (" (required: what to fix before applying again)" if feedback else "")
            )
            self.feedback.setFixedHeight(70)
            self.feedback.textChanged.connect(self._update_ok)
            form.addRow("Feedback", self.feedback)
        self.platform: QComboBox | None = None
        self.role: QComboBox | None = None
        if platforms is not None:
            self.platform = QComboBox(self)
            self.platform.setObjectName("platformCombo")
            for name, roles in platforms.items():
                self.platform.addItem(PLATFORM_LABELS.get(name, name), (name, roles))
            form.addRow("Platform", self.platform)
            if any(platforms.values()):
                self.role = QComboBox(self)
                self.role.setObjectName("roleCombo")
                form.addRow("Role", self.role)
                self.platform.currentIndexChanged.connect(self._fill_roles)
                self._fill_roles()
        layout.addLayout(form)
        self.confirm: QCheckBox | None = None
        if destructive:
            warning = QLabel("This action is destructive.", self)
            warning.setObjectName("dialogWarning")
            layout.addWidget(warning)
            self.confirm = QCheckBox(confirm_text or "I confirm this action", self)
            self.confirm.setObjectName("confirmCheck")
            layout.addWidget(self.confirm)
            self.confirm.toggled.connect(self._update_ok)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._update_ok)
        self._update_ok()

    @property
    def ok_button(self):  # type: ignore[no-untyped-def]
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def reason_text(self) -> str | None:
        return normalise_reason(self.reason.toPlainText())

    def commission_value(self) -> float | None:
        return None if self.commission is None else float(self.commission.value())

    def params(self) -> dict[str, Any]:
        """The action's parameters as the dialog shows them (checked again before queueing)."""
        params: dict[str, Any] = {}
        if self.commission is not None:
            params["commission_pct"] = self.commission_value()
        if self.feedback is not None and self.feedback.toPlainText().strip():
            params["feedback"] = self.feedback.toPlainText().strip()
        if self.platform is not None and self.platform.currentData() is not None:
            params["platform"] = self.platform.currentData()[0]
        if self.role is not None and self.role.currentText():
            params["role"] = self.role.currentText()
        return params

    def _fill_roles(self) -> None:
        if self.role is None or self.platform is None:
            return
        self.role.clear()
        self.role.addItems(list(self.platform.currentData()[1]))

    def _update_ok(self) -> None:
        reason = self.reason_text()
        ok = reason is not None and len(reason) <= MAX_REASON_LENGTH
        if self.feedback is not None:
            feedback = self.feedback.toPlainText().strip()
            ok = (
                ok and len(feedback) <= MAX_FEEDBACK_LENGTH and (bool(feedback) or not self.feedback_required)
            )
        if self.confirm is not None:
            ok = ok and self.confirm.isChecked()
        self.ok_button.setEnabled(ok)


def action_dialog(
    spec: ActionSpec,
    subject: str,
    *,
    row: dict[str, Any] | None = None,
    bulk: bool = False,
    parent: QWidget | None = None,
) -> ReasonDialog:
    """The dialog of one action: its reason, confirmation and whatever parameters it takes (a bulk action
    takes a reason only)."""
    row = row or {}
    kind = (spec.entity_type.value, spec.name)
    platforms: dict[str, tuple[str, ...]] | None = None
    if kind == ("user", "grant_access"):
        platforms = dict(PLATFORM_ROLES)
    elif kind == ("user", "revoke_access"):
        platforms = {name: () for name in platform_access(row)}
    return ReasonDialog(
        f"{spec.label} {spec.entity_type.value.replace('_', ' ')}",
        f"{spec.label} {subject}. The action is queued and sent through the API; it works offline.",
        destructive=spec.destructive,
        confirm_text=f"Yes, {spec.label.lower()} {subject}",
        commission=(row.get("commission_pct") or 0.0) if spec.name == "set_commission" else None,
        feedback=(spec.name == "reject")
        if kind in (("vendor", "approve"), ("vendor", "reject")) and not bulk
        else None,
        platforms=platforms,
        parent=parent,
    )


class StepUpDialog(QDialog):
    """Re-enter the password before a ban or a bulk action."""

    def __init__(self, email: str, what: str, *, error: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("stepUpDialog")
        self.setWindowTitle("Confirm your identity")
        self.setStyleSheet(DIALOG_STYLE)
        layout = QVBoxLayout(self)
        text = QLabel(f"{what} needs your password again.\nSigned in as {email}.", self)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.password = QLineEdit(self)
        self.password.setObjectName("stepUpPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        layout.addWidget(self.password)
        self.error = QLabel(error or "", self)
        self.error.setObjectName("dialogError")
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def take_password(self) -> str:
        password = self.password.text()
        self.password.clear()
        return password


class DryRunDialog(QDialog):
    """What a bulk action would do, before anything is queued."""

    def __init__(self, summary: DryRunSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dryRunDialog")
        self.setWindowTitle("Bulk action: dry run")
        layout = QVBoxLayout(self)
        self.summary_label = QLabel(summary.describe(), self)
        self.summary_label.setObjectName("dryRunSummary")
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        lines = [
            f"{item.entity}: {item.outcome.value.replace('_', ' ')} (now {item.current_status or '—'})"
            for item in summary.items
        ]
        details = QPlainTextEdit("\n".join(lines), self)
        details.setReadOnly(True)
        layout.addWidget(details)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        will_apply = len(summary.requests())
        self.ok_button.setText(f"Queue {will_apply} action{'s' if will_apply != 1 else ''}")
        self.ok_button.setEnabled(will_apply > 0)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    @property
    def ok_button(self):  # type: ignore[no-untyped-def]
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

"""The login dialog: email, password, 'remember me', and a plain word about where secrets go."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.auth import Credentials


class LoginDialog(QDialog):
    def __init__(
        self,
        server: str,
        *,
        email: str | None = None,
        reason: str | None = None,
        keychain_problem: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to Nexus")
        self.setObjectName("loginDialog")
        self.email = QLineEdit(email or "")
        self.email.setObjectName("email")
        self.email.setPlaceholderText("you@example.com")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember my password in the system keychain")
        self.remember.setObjectName("remember")
        self.message = QLabel(reason or "")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setVisible(bool(reason))
        self.keychain_notice = QLabel()
        self.keychain_notice.setObjectName("keychainNotice")
        self.keychain_notice.setWordWrap(True)
        self.set_keychain_problem(keychain_problem)

        form = QFormLayout()
        form.addRow("Server", QLabel(server))
        form.addRow("Email", self.email)
        form.addRow("Password", self.password)
        form.addRow("", self.remember)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self._accept_if_complete)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.keychain_notice)
        layout.addWidget(self.buttons)
        (self.password if email else self.email).setFocus()

    def set_keychain_problem(self, problem: str | None) -> None:
        if problem:
            self.keychain_notice.setText(f"Keychain unavailable: {problem}. Nothing is written to disk.")
            self.remember.setChecked(False)
            self.remember.setEnabled(False)
        self.keychain_notice.setVisible(bool(problem))

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)

    def credentials(self) -> Credentials:
        return Credentials(self.email.text().strip(), self.password.text(), self.remember.isChecked())

    def clear_password(self) -> None:
        self.password.clear()

    def _accept_if_complete(self) -> None:
        if not self.email.text().strip() or not self.password.text():
            self.show_error("Enter your email and password.")
            return
        self.accept()

"""Run the whole console (ConsoleApp) in-process on a qloop, and answer its login dialog like a user."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QDialogButtonBox

from nexus_console.app import ConsoleApp
from nexus_console.launch_options import parse_args
from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore
from nexus_console.views.login_dialog import LoginDialog
from tests.console.helpers import wait_until


def write_profile(base_url: str, name: str = "lab") -> Path:
    store = ProfileStore()
    store.save(ProfileBook({name: Profile(name, base_url)}, default=name))
    return store.path


def make_console(*argv: str, **kwargs: Any) -> ConsoleApp:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return ConsoleApp(parse_args(list(argv)), app, **kwargs)


def visible_login_dialog() -> LoginDialog | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, LoginDialog) and widget.isVisible():
            return widget
    return None


async def answer_login(email: str, password: str, *, remember: bool, timeout_s: float = 15.0) -> LoginDialog:
    """Wait for the login dialog, type the credentials and press Sign in."""
    await wait_until(lambda: visible_login_dialog() is not None, timeout_s=timeout_s)
    dialog = visible_login_dialog()
    assert dialog is not None
    dialog.email.setText(email)
    dialog.password.setText(password)
    dialog.remember.setChecked(remember)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    return dialog


async def cancel_login(timeout_s: float = 15.0) -> None:
    await wait_until(lambda: visible_login_dialog() is not None, timeout_s=timeout_s)
    dialog = visible_login_dialog()
    assert dialog is not None
    dialog.reject()


def elapsed_since(started: float) -> float:
    return time.monotonic() - started

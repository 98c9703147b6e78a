"""Startup pieces: choosing the profile from --profile/--config, the exception hooks, and the login dialog's
word about the keychain."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from nexus_console.app import ConsoleApp, StartupError
from nexus_console.launch_options import parse_args
from nexus_console.services.error_hooks import ExceptionHooks
from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.login_dialog import LoginDialog
from tests.console.conftest import QLoop
from tests.console.console_support import visible_login_dialog, write_profile
from tests.console.helpers import wait_until


def console_for(*argv: str) -> ConsoleApp:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return ConsoleApp(parse_args(list(argv)), app)


def test_profile_comes_from_the_config_file_and_the_profile_flag(qloop: QLoop, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    book = ProfileBook(
        {
            "lab": Profile("lab", "http://127.0.0.1:8001"),
            "prod": Profile("prod", "https://nexus.example.test"),
        },
        default="lab",
    )
    ProfileStore(path).save(book)
    assert qloop.run(console_for("--config", str(path))._choose_profile()).name == "lab"
    assert qloop.run(console_for("--config", str(path), "--profile", "prod")._choose_profile()).name == "prod"
    with pytest.raises(StartupError, match=r"no profile named 'qa' \(known: lab, prod\)"):
        qloop.run(console_for("--config", str(path), "--profile", "qa")._choose_profile())


def test_a_profile_file_with_a_password_in_a_dsn_stops_startup_with_the_reason(
    qloop: QLoop, tmp_path: Path
) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(
        '[profiles.lab]\napi_base_url = "http://127.0.0.1:1"\n'
        '[profiles.lab.replicas]\nusers = "postgresql://app:pw@127.0.0.1/users"\n',
        encoding="utf-8",
    )
    console = console_for("--config", str(path))
    assert qloop.run(console.run()) == 2


class Recorder:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def report_error(self, text: str) -> None:
        self.errors.append(text)


def test_uncaught_errors_go_to_the_log_and_the_status_bar(
    qloop: QLoop, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    hooks = ExceptionHooks(recorder.report_error, qloop.loop)
    hooks.install()
    try:

        def broken_callback() -> None:
            raise ValueError("broken callback")

        async def scenario() -> None:
            qloop.loop.call_soon(broken_callback)
            await asyncio.sleep(0.05)

        with caplog.at_level(logging.ERROR, logger="nexus_console"):
            qloop.run(scenario())
            try:
                raise KeyError("from a slot")
            except KeyError:
                sys.excepthook(*sys.exc_info())  # what Qt does with an exception escaping a slot
    finally:
        hooks.uninstall()
    assert recorder.errors == ["Unexpected error: broken callback", "Unexpected error: 'from a slot'"]
    assert "broken callback" in caplog.text and "from a slot" in caplog.text
    assert sys.excepthook is not hooks.excepthook


def test_login_dialog_says_when_there_is_no_keychain_and_offers_no_remember(qtbot: Any) -> None:
    dialog = LoginDialog(
        "http://127.0.0.1:8000",
        keychain_problem="no OS keychain is available; kept in memory for this session",
    )
    qtbot.addWidget(dialog)
    assert not dialog.keychain_notice.isHidden()
    assert "Keychain unavailable: no OS keychain" in dialog.keychain_notice.text()
    assert "Nothing is written to disk" in dialog.keychain_notice.text()
    assert not dialog.remember.isEnabled() and not dialog.remember.isChecked()


def test_login_dialog_is_awaited_without_exec_and_refuses_empty_fields(qtbot: Any, qloop: QLoop) -> None:
    dialog = LoginDialog("http://127.0.0.1:8000", email="ops@nexus.test")
    qtbot.addWidget(dialog)

    async def scenario() -> int:
        waiting = asyncio.ensure_future(execute_dialog(dialog))
        await asyncio.sleep(0.05)
        dialog.buttons.accepted.emit()  # empty password: stays open with a message
        await asyncio.sleep(0.05)
        assert dialog.isVisible() and dialog.message.text() == "Enter your email and password."
        dialog.password.setText("pw-typed")
        dialog.buttons.accepted.emit()
        return await waiting

    assert qloop.run(scenario()) == LoginDialog.DialogCode.Accepted
    assert dialog.credentials().password == "pw-typed"
    assert "pw-typed" not in repr(dialog.credentials())


def test_a_quit_while_the_login_dialog_waits_ends_the_console_at_once(
    qloop: QLoop, refserver_session: Any
) -> None:
    """SIGINT / SIGTERM at the sign-in prompt (the console's signal handler requests the quit) must not wait
    for someone to answer the dialog."""
    write_profile(refserver_session.base_url)
    console = console_for()

    async def scenario() -> tuple[int, float]:
        run = asyncio.ensure_future(console.run())
        await wait_until(lambda: visible_login_dialog() is not None, timeout_s=15)
        asked = time.monotonic()
        console.request_quit()
        code = await asyncio.wait_for(run, 5)
        return code, time.monotonic() - asked

    code, took = qloop.run(scenario(), timeout_s=30)
    assert code == 0 and took < 2.0
    assert visible_login_dialog() is None
    assert console.window is None and console.session is None

"""The whole console in-process against the real reference server: sign-in through the dialog, polling,
a server crash survived, logout; and no secret left in any file or log line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from pathlib import Path
from typing import Any

import keyring
import pytest
from PySide6.QtWidgets import QLabel, QVBoxLayout

from nexus_console.app import ConsoleApp
from nexus_console.domain.freshness import SourceState, SourceStatus
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.keychain import REFRESH_TOKEN, password_key
from nexus_console.services.logging_setup import remove_handlers, setup_logging
from nexus_console.services.profiles import log_dir
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.api_support import DEMO_PASSWORD
from tests.console.conftest import QLoop
from tests.console.console_support import answer_login, cancel_login, make_console, write_profile
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer

ADMIN = "admin@nexus.test"


# The API health document every 0.3 s, retried within half a second while the server is away.
FAST_API_HEALTH = SessionSettings(
    health=HealthSourceSettings(documents_interval_s=0.3, documents_timeout_s=2.0, documents_retry_max_s=0.5)
)


class ApiHealthPane(Pane):
    """A minimal pane on the shared widgets: a value that greys when stale and the stale banner."""

    title = "API health"

    def __init__(self, session: ConsoleSession, parent: Any = None) -> None:
        super().__init__(session, parent)
        self.banner = StaleBanner(self)
        self.rps = QLabel("—", self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.rps)
        self.watch(session.health.api_health, self._on_status)

    def _on_status(self, status: SourceStatus[Any]) -> None:
        if status.last_good is not None:
            self.rps.setText(f"{status.last_good.value['rps']:.0f} req/s")
        stale = status.is_stale(time.time())
        apply_stale_look(self.rps, stale)
        self.banner.set_status(status)


def pane_of(console: ConsoleApp) -> ApiHealthPane:
    assert console.window is not None
    pane = console.window.panes[0]
    assert isinstance(pane, ApiHealthPane)
    return pane


def api_health(console: ConsoleApp) -> SourceStatus[Any] | None:
    return console.session.health.api_health.status if console.session is not None else None


def test_the_app_survives_a_server_crash_and_the_pane_recovers(qloop: QLoop, refserver_factory: Any) -> None:
    server: RefServer = refserver_factory("--seed", "7", "--scale", "0.02", "--scenario", "none")
    write_profile(server.base_url)
    console = make_console(pane_types=[ApiHealthPane], session_settings=FAST_API_HEALTH)
    seen: dict[str, Any] = {}

    async def scenario() -> int:
        run = asyncio.ensure_future(console.run())
        try:
            await answer_login(ADMIN, DEMO_PASSWORD, remember=True)
            await wait_until(lambda: (api_health(console) or _none).state is SourceState.OK, timeout_s=20)
            pane = pane_of(console)
            await wait_until(lambda: "req/s" in pane.rps.text())  # the pane hears of it on the next turn
            seen["fresh"] = pane.rps.text()
            assert pane.banner.text() == "" and pane.rps.graphicsEffect() is None

            await asyncio.to_thread(server.kill)
            await wait_until(lambda: pane.banner.text().startswith("stale since "), timeout_s=10)
            seen["banner"] = pane.banner.text()
            seen["kept"] = pane.rps.text()
            assert pane.rps.graphicsEffect() is not None, "stale data is greyed"
            assert "error" in console.window.status_bar.label_text("api_health")  # type: ignore[union-attr]

            await asyncio.to_thread(server.start)
            await wait_until(lambda: pane.banner.text() == "", timeout_s=30)
            assert pane.rps.graphicsEffect() is None
            assert not run.done(), "the app stays up"
        finally:
            console.request_quit()
        return await asyncio.wait_for(run, 15)

    assert qloop.run(scenario(), timeout_s=90) == 0
    assert seen["kept"] == seen["fresh"], "the pane never blanks"
    assert "cannot connect to 127.0.0.1:" in seen["banner"]


_none = SourceStatus("none", SourceState.CONNECTING)


@pytest.mark.secret_service
def test_a_full_session_leaves_no_password_or_token_in_files_or_logs(
    qloop: QLoop, refserver_session: RefServer, secret_service: Any, isolated_dirs: dict[str, Path]
) -> None:
    previous_backend = keyring.get_keyring()
    keyring.set_keyring(secret_service)
    log_stream = io.StringIO()
    handlers = setup_logging(log_dir(), level=logging.DEBUG, stream=log_stream)
    write_profile(refserver_session.base_url)
    console = make_console(pane_types=[ApiHealthPane], session_settings=FAST_API_HEALTH)
    secrets: set[str] = {DEMO_PASSWORD}
    service = "nexus-console:lab"

    async def scenario() -> int:
        run = asyncio.ensure_future(console.run())
        try:
            await answer_login(ADMIN, DEMO_PASSWORD, remember=True)
            await wait_until(lambda: (api_health(console) or _none).state is SourceState.OK, timeout_s=20)
            assert console.auth is not None and console.auth.access_token
            secrets.add(console.auth.access_token)
            refresh = secret_service.get_password(service, REFRESH_TOKEN)
            assert refresh, "the refresh token is in the real keychain"
            secrets.add(refresh)
            assert secret_service.get_password(service, password_key(ADMIN)) == DEMO_PASSWORD
            logging.getLogger("nexus_console.test").info("session token %s", console.auth.access_token)

            console.window.logout_requested.emit()  # type: ignore[union-attr]
            await cancel_login()
        finally:
            console.request_quit()
        return await asyncio.wait_for(run, 15)

    try:
        assert qloop.run(scenario(), timeout_s=60) == 0
        assert secret_service.get_password(service, REFRESH_TOKEN) is None, "logout deletes the refresh token"
    finally:
        remove_handlers(handlers)
        keyring.set_keyring(previous_backend)
        for key in (REFRESH_TOKEN, password_key(ADMIN)):
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                secret_service.delete_password(service, key)

    files = [p for d in isolated_dirs.values() for p in d.rglob("*") if p.is_file()]
    assert any(p.name == "console.log" for p in files) and any(p.name == "cache.sqlite3" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a secret is in {path.name}"
    log_text = log_stream.getvalue()
    assert "session token [redacted]" in log_text
    for secret in secrets:
        assert secret not in log_text


def test_without_a_keychain_the_app_says_so_and_keeps_working(
    qloop: QLoop, refserver_session: RefServer, isolated_dirs: dict[str, Path]
) -> None:
    from keyring.backends import fail

    from tests.console.console_support import visible_login_dialog

    keyring.set_keyring(fail.Keyring())  # the autouse memory keyring fixture restores the previous one
    write_profile(refserver_session.base_url)
    console = make_console(pane_types=[ApiHealthPane], session_settings=FAST_API_HEALTH)
    seen: dict[str, Any] = {}

    async def scenario() -> int:
        run = asyncio.ensure_future(console.run())
        try:
            await wait_until(lambda: visible_login_dialog() is not None, timeout_s=15)
            dialog = visible_login_dialog()
            assert dialog is not None
            seen["dialog_notice"] = dialog.keychain_notice.text()
            seen["remember_enabled"] = dialog.remember.isEnabled()
            await answer_login(ADMIN, DEMO_PASSWORD, remember=False)
            await wait_until(lambda: (api_health(console) or _none).state is SourceState.OK, timeout_s=20)
            seen["bar_notice"] = console.window.status_bar.notice.text()  # type: ignore[union-attr]
            assert console.auth is not None
            seen["refresh"] = console.auth._refresh_token
        finally:
            console.request_quit()
        return await asyncio.wait_for(run, 15)

    assert qloop.run(scenario(), timeout_s=60) == 0
    assert seen["dialog_notice"].startswith("Keychain unavailable: no OS keychain is available")
    assert seen["remember_enabled"] is False
    assert seen["bar_notice"].startswith("Keychain unavailable: no OS keychain")
    files = [p for d in isolated_dirs.values() for p in d.rglob("*") if p.is_file()]
    for path in files:
        assert seen["refresh"].encode() not in path.read_bytes(), f"refresh token written to {path.name}"


def test_offline_restart_shows_the_last_picture_stale_then_signs_in_when_the_server_returns(
    qloop: QLoop, refserver_factory: Any
) -> None:
    from tests.console.console_support import visible_login_dialog

    server: RefServer = refserver_factory("--seed", "7", "--scale", "0.02", "--scenario", "none")
    write_profile(server.base_url)
    seen: dict[str, Any] = {}

    def new_console() -> ConsoleApp:
        return make_console(pane_types=[ApiHealthPane], session_settings=FAST_API_HEALTH)

    async def first_run() -> int:
        console = new_console()
        run = asyncio.ensure_future(console.run())
        try:
            await answer_login(ADMIN, DEMO_PASSWORD, remember=True)
            await wait_until(lambda: (api_health(console) or _none).state is SourceState.OK, timeout_s=20)
            # The pane hears of the answer one batch after the session: wait for what it shows.
            await wait_until(lambda: pane_of(console).rps.text() != "—", timeout_s=5)
            seen["online"] = pane_of(console).rps.text()
            await wait_until(lambda: console.session.me_source.status.state is SourceState.OK)  # type: ignore[union-attr]
        finally:
            console.request_quit()
        return await asyncio.wait_for(run, 15)

    async def offline_run() -> int:
        console = new_console()
        run = asyncio.ensure_future(console.run())
        try:
            await wait_until(lambda: console.window is not None, timeout_s=20)
            pane = pane_of(console)
            await wait_until(lambda: pane.rps.text() != "—", timeout_s=5)
            seen["offline"] = pane.rps.text()
            seen["login_dialog_shown"] = visible_login_dialog() is not None
            await wait_until(lambda: pane.banner.text().startswith("stale"), timeout_s=10)
            seen["offline_banner"] = pane.banner.text()
            await asyncio.to_thread(server.start)
            await wait_until(lambda: (api_health(console) or _none).state is SourceState.OK, timeout_s=30)
            await wait_until(lambda: pane.banner.text() == "", timeout_s=5)  # the pane hears it a batch later
            seen["recovered_banner"] = pane.banner.text()
            assert console.auth is not None and console.auth.access_token, "signed in again silently"
        finally:
            console.request_quit()
        return await asyncio.wait_for(run, 15)

    assert qloop.run(first_run(), timeout_s=60) == 0
    server.kill()
    assert qloop.run(offline_run(), timeout_s=90) == 0
    assert seen["offline"] == seen["online"], "the cached picture appears at once"
    assert seen["login_dialog_shown"] is False
    assert seen["offline_banner"].startswith("stale")
    assert seen["recovered_banner"] == ""

"""Entry point: the QApplication with one asyncio loop inside it (qasync), the CLI, and the startup and
shutdown coroutines."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtWidgets import QApplication, QDialog

from nexus_console.domain.wall_playlist import PlaylistError
from nexus_console.launch_options import default_pane_types, settings_for_console
from nexus_console.services.api_client import NexusClient, PermissionDenied
from nexus_console.services.auth import AuthSession, Credentials, LoginFailed, ServerUnreachable
from nexus_console.services.cache import CACHE_FILE, LocalCache, cached_user
from nexus_console.services.demo_server import DEMO_EMAIL, DEMO_PASSWORD, DemoServer, DemoServerError
from nexus_console.services.heartbeat import Heartbeat
from nexus_console.services.http import build_estate_client, build_http_client
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import (
    Profile,
    ProfileError,
    ProfileStore,
    cache_dir,
)
from nexus_console.services.races import Interrupted, first_of, unless_set
from nexus_console.services.systemd_notify import SystemdNotifier, arm_freeze_switch, notify_watchdog
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.first_paint import FirstPaintLogger
from nexus_console.views.login_dialog import LoginDialog
from nexus_console.views.main_window import MainWindow
from nexus_console.views.pane import Pane
from nexus_console.views.pdf_export import write_pdf
from nexus_console.views.screenshot import screenshot_when_fresh
from nexus_console.views.wall.controller import WallController
from nexus_console.wall_launch import build_wall
from nexus_console.workers.loop_watchdog import LoopWatchdog
from nexus_console.workers.session import ConsoleSession, SessionSettings

log = logging.getLogger("nexus_console")

SCREENSHOT_DEADLINE_S = 45.0


class StartupError(Exception):
    """A problem the user must fix before the console can start; str() says what and how."""


class ConsoleApp:
    """One run of the console: profile, sign-in, sessions (a logout starts a new one), shutdown."""

    def __init__(
        self,
        args: argparse.Namespace,
        app: QApplication,
        *,
        pane_types: Sequence[type[Pane]] | None = None,
        session_settings: SessionSettings | None = None,
    ) -> None:
        self.args = args
        self.app = app
        self.pane_types = list(pane_types) if pane_types is not None else None
        self.session_settings = session_settings
        self.session: ConsoleSession | None = None
        self.window: MainWindow | None = None
        self.wall: WallController | None = None
        self.exit_code = 0
        self._quit = asyncio.Event()
        self._logout = asyncio.Event()
        self._closers: list[Callable[[], Any]] = []
        self.demo_server: DemoServer | None = None
        self.profile: Profile | None = None
        self.auth: AuthSession | None = None
        self.keychain: Keychain | None = None
        self._cache: LocalCache | None = None
        # The loop's heartbeat from start-up to exit (every session exposes it); Qt's own timer watches it.
        settings = session_settings or SessionSettings()
        self.heartbeat = Heartbeat(settings.heartbeat_interval_s)
        self.watchdog = LoopWatchdog(self.heartbeat)
        self.notifier = SystemdNotifier.from_environment()

    def request_quit(self, exit_code: int | None = None) -> None:
        if exit_code is not None:
            self.exit_code = exit_code
        self._quit.set()

    def on_quit_signal(self, sig: signal.Signals) -> None:
        """SIGINT / SIGTERM: the same shutdown as closing the window (exit code 0: a requested, clean stop).
        A second one while that shutdown runs ends the process at once."""
        if self._quit.is_set():
            log.warning("%s again during shutdown: exiting now", sig.name)
            os._exit(128 + sig.value)
        log.info("%s received: shutting down", sig.name)
        self.request_quit(0)

    def report_keychain_problem(self, problem: str) -> None:
        if self.window is not None and self.demo_server is None:  # the demo keeps no secret worth saying so
            self.window.status_bar.set_notice(f"Keychain unavailable: {problem}")

    def report_error(self, text: str) -> None:
        """Show an error to the user (status bar) as well as in the log."""
        if self.window is not None:
            self.window.show_error(text)

    async def run(self) -> int:
        # Closing the last window (the login dialog, say) must not stop the loop under running coroutines;
        # the console quits deliberately, after async cleanup.
        self.app.setQuitOnLastWindowClosed(False)
        beating = asyncio.ensure_future(self.heartbeat.run())
        self.watchdog.start()
        # Under systemd (Type=notify): READY=1 now, WATCHDOG=1 while the heartbeat beats, STOPPING=1 at exit.
        notifying = asyncio.ensure_future(notify_watchdog(self.notifier, self.heartbeat))
        arm_freeze_switch(asyncio.get_running_loop())  # NEXUS_CONSOLE_TEST_FREEZE_AFTER_S: watchdog tests
        try:
            await self._run()
        except StartupError as exc:
            log.error("%s", exc)
            print(f"nexus-console: {exc}", file=sys.stderr)
            self.exit_code = 2
        except Interrupted:
            log.info("quit before the console had started")
        finally:
            # STOPPING=1 first: systemd then allows TimeoutStopSec for the shutdown, not the watchdog's 30 s.
            notifying.cancel()
            await asyncio.gather(notifying, return_exceptions=True)
            self.notifier.close()
            await self._close_all()
            self.watchdog.stop()
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
            log.info("console stopped (exit code %d; loop: %s)", self.exit_code, self.heartbeat.describe())
        return self.exit_code

    async def _run(self) -> None:
        started = time.monotonic()
        # A quit (the window, SIGINT, SIGTERM) during start-up or sign-in cancels that step.
        self.profile = await unless_set(self._quit, self._choose_profile())
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="console-worker")
        self._closers.append(lambda: executor.shutdown(wait=False, cancel_futures=True))
        self.keychain = Keychain(self.profile.keychain_service)
        self.keychain.on_problem(self.report_keychain_problem)
        api_http = build_http_client(self.profile.tls)
        self._closers.append(api_http.aclose)
        estate_http = build_estate_client(self.profile.tls, timeout_s=5.0, max_connections=64, shards=16)
        self._closers.append(estate_http.aclose)
        self.auth = AuthSession(
            self.profile.api_base_url,
            api_http,
            self.keychain,
            email=self.profile.email,
            ask_credentials=self._ask_credentials,
        )
        api = NexusClient(self.profile.api_base_url, api_http, auth=self.auth)
        cache = LocalCache(cache_dir() / CACHE_FILE, namespace=self.profile.name)
        self._cache = cache
        self._closers.append(cache.aclose)
        log.info("console starting with profile %s (%.2f s)", self.profile.name, time.monotonic() - started)

        after_logout = False
        while not self._quit.is_set():
            if not await unless_set(self._quit, self._sign_in(after_logout)):
                return
            self._logout.clear()
            await self._run_session(api, estate_http, cache, executor)
            if self._logout.is_set() and not self._quit.is_set():
                await self.auth.logout()
                after_logout = True
                log.info("signed out")

    async def _choose_profile(self) -> Profile:
        if self.args.demo:
            try:  # on the real stack `make demo` started (NEXUS_DEMO_STACK), else on the embedded defaults
                self.demo_server = DemoServer.for_console(cache_dir() / "demo-server")
                self._closers.append(self.demo_server.stop)
                return await self.demo_server.start_profile()
            except DemoServerError as exc:
                raise StartupError(str(exc)) from None
        store = ProfileStore(self.args.config)
        try:
            book = store.load()
            if not book.profiles:
                raise StartupError(
                    f"no connection profile in {store.path}; add one (see docs) or start with --demo"
                )
            return book.pick(self.args.profile)
        except ProfileError as exc:
            raise StartupError(str(exc)) from None

    async def _sign_in(self, after_logout: bool) -> bool:
        """Demo: the demo admin. At start: the keychain, else the dialog. After a logout: the dialog."""
        assert self.auth is not None
        if after_logout:
            return await self.auth.sign_in_interactively("Signed out.")
        if self.demo_server is not None:
            try:
                await self.auth.login(Credentials(DEMO_EMAIL, DEMO_PASSWORD, remember=False))
                return True
            except LoginFailed as exc:
                raise StartupError(f"demo login failed: {exc}") from None
        reason = None
        try:
            if await self.auth.resume() is not None:
                return True
        except ServerUnreachable as exc:
            cached_me = await cached_user(self._cache) if self._cache is not None else None
            if cached_me is not None:
                # Start offline on the last known picture; the first 401 after the server returns
                # signs in again with the stored credentials.
                log.warning("starting offline as %s: %s", cached_me.email, exc)
                self.auth.me = cached_me
                return True
            reason = str(exc)
        if self.args.screenshot is not None or self.args.wall:
            what = "--screenshot" if self.args.screenshot is not None else "--wall"
            raise StartupError(
                f"{what} needs a remembered sign-in or --demo: start once without it and sign in with "
                "“Remember me” ticked"
            )
        return await self.auth.sign_in_interactively(reason)

    async def _ask_credentials(self, reason: str | None) -> Credentials | None:
        assert self.profile is not None and self.keychain is not None
        if self.wall is not None:  # a wall never shows a login dialog: it says so in a corner and retries
            self.wall.set_account_notice(
                f"Signed out: {reason or 'the server refused the stored sign-in'}. Retrying on every update."
            )
            return None
        dialog = LoginDialog(
            self.profile.api_base_url,
            email=self.auth.email if self.auth else self.profile.email,
            reason=reason,
            keychain_problem=self.keychain.problem,
            parent=self.window,
        )
        try:
            code = await execute_dialog(dialog)
            return dialog.credentials() if code == QDialog.DialogCode.Accepted else None
        finally:
            dialog.clear_password()
            dialog.deleteLater()

    async def _run_session(
        self,
        api: NexusClient,
        estate_http: Any,
        cache: LocalCache,
        executor: concurrent.futures.ThreadPoolExecutor,
    ) -> None:
        assert self.auth is not None and self.auth.me is not None and self.profile is not None
        session = self.session = ConsoleSession(
            profile=self.profile,
            api=api,
            estate_http=estate_http,
            cache=cache,
            me=self.auth.me,
            executor=executor,
            keychain=self.keychain,
            settings=self.session_settings,
            on_task_error=self._on_task_error,
            heartbeat=self.heartbeat,
        )
        if session.reports is not None:
            session.reports.render_pdf = lambda html, path: write_pdf(html, path, title=path.stem)
        try:
            pane_types = self.pane_types if self.pane_types is not None else default_pane_types()
            self.window = MainWindow(session, pane_types, settings_for_console())
            self.window.quit_requested.connect(self.request_quit)
            self.window.logout_requested.connect(self._logout.set)
            if self.args.pane:
                try:
                    self.window.show_pane(self.args.pane)
                    log.info("opened on pane %s", self.args.pane)
                except KeyError:
                    available = ", ".join(self.window.pane_titles())
                    raise StartupError(
                        f"no pane {self.args.pane!r} for this account; available: {available}"
                    ) from None
            self.window.wall_requested.connect(self.open_wall)
            session.start()
            FirstPaintLogger(self.window)
            if self.args.wall:
                self.open_wall()
            else:
                self.window.show()
            # What exists once the window is up lives as long as the session: moved out of the collector's
            # reach, a full collection under heavy allocation (a huge answer being parsed) no longer walks
            # it on the GUI thread; measured as the difference between 41-54 ms and ~30 ms stalls.
            gc.freeze()
            if self.keychain is not None and self.keychain.problem and self.demo_server is None:
                self.window.status_bar.set_notice(f"Keychain unavailable: {self.keychain.problem}")
            if self.demo_server is not None:
                self.window.status_bar.set_notice(self.demo_server.notice, warning=False)
            if self.args.screenshot is not None:
                session.tasks.run(
                    self._take_screenshot(self.window, session, self.args.screenshot), name="screenshot"
                )
            await first_of(self._quit.wait(), self._logout.wait())
        finally:
            self.close_wall(show_window=False)
            if self.window is not None:
                self.window.quit_requested.disconnect(self.request_quit)
                if self.window.isVisible():
                    self.window.close_for_logout()
                else:
                    self.window.shutdown()
            await session.aclose()
            if self.window is not None:
                self.window.deleteLater()
                self.window = None
            self.session = None

    def open_wall(self) -> None:
        """Every screen shows its playlist; the main window hides until the wall is left (Ctrl+Shift+W)."""
        if self.wall is not None or self.window is None or self.session is None:
            return
        pane_types = self.pane_types if self.pane_types is not None else default_pane_types()
        try:
            self.wall = build_wall(self.session, pane_types, self.args.wall_config, self.args.playlist)
        except PlaylistError as exc:
            if self.args.wall:
                raise StartupError(str(exc)) from None
            self.window.show_error(str(exc))  # from the menu: the console goes on without a wall
            return
        self.wall.quit_requested.connect(self.request_quit)
        self.wall.leave_requested.connect(self.close_wall)
        self.window.hide()
        self.wall.start()

    def close_wall(self, show_window: bool = True) -> None:
        if self.wall is None:
            return
        self.wall.close()
        self.wall.deleteLater()
        self.wall = None
        if show_window and self.window is not None:
            self.window.show()

    async def _take_screenshot(self, window: MainWindow, session: ConsoleSession, path: Path) -> None:
        saved = await screenshot_when_fresh(window, session, path, SCREENSHOT_DEADLINE_S)
        self.request_quit(0 if saved else 1)

    def _on_task_error(self, error: BaseException) -> None:
        if isinstance(error, PermissionDenied):
            self.report_error(str(error))
        else:
            self.report_error(f"Error: {error}")

    async def _close_all(self) -> None:
        for close in reversed(self._closers):
            try:
                result = close()
                if asyncio.iscoroutine(result):
                    await asyncio.wait_for(result, 10.0)
            except Exception:
                log.exception("error during shutdown")
        if self._closers:
            log.info("closed the HTTP clients, the local cache, the executor and the demo server if any")
        self._closers.clear()


if __name__ == "__main__":
    from nexus_console.cli import main

    raise SystemExit(main())

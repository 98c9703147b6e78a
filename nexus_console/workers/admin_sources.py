"""The admin services of one session: the replicas and lookups (reads), the outbox, its sender task and the
action service (writes through the API only), started together and stopped together.

`AdminRuntime.run()` is the session task: it opens the replicas and the outbox, runs the sender until
cancelled, then closes everything it opened (executor threads included). Panes wait for `ready` before
they read, and listen to `outbox_changed` / `results_arrived` to refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QObject, Signal
from sqlalchemy.engine import make_url

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.outbox_model import SendResult
from nexus_console.services.admin_actions import AdminActions
from nexus_console.services.http import build_http_client
from nexus_console.services.keychain import database_password_key
from nexus_console.services.lookups import Lookups
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_sender import OutboxSender
from nexus_console.services.profiles import data_dir
from nexus_console.services.replicas import ReplicaConfig, ReplicaSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdminSettings:
    outbox_path: Path | None = None  # default: outbox-<profile>.sqlite3 in the data dir
    sender_idle_poll_s: float = 5.0
    retry_max_s: float = 30.0  # longest wait before an action that met a 5xx or no answer is sent again
    offline_probe_max_s: float = 15.0  # longest wait between reachability probes while offline
    request_timeout_s: float = 10.0
    statement_timeout_ms: int = 5000


def outbox_path_for(profile_name: str) -> Path:
    """The outbox file of a profile: it outlives the session, so queued actions survive a restart."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in profile_name)
    return data_dir() / f"outbox-{safe}.sqlite3"


class AdminRuntime(QObject):
    """Reads (ReplicaSet, Lookups) and writes (AsyncOutbox, OutboxSender, AdminActions) for a session."""

    outbox_changed = Signal()
    results_arrived = Signal(object)  # list[SendResult]
    ready_changed = Signal()

    def __init__(
        self,
        ctx: Any,
        settings: AdminSettings | None = None,
        *,
        replicas: ReplicaSet | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = settings or AdminSettings()
        self._given_replicas = replicas
        self.replicas: ReplicaSet | None = None
        self.lookups: Lookups | None = None
        self.outbox: AsyncOutbox | None = None
        self.sender: OutboxSender | None = None
        self.actions: AdminActions | None = None
        self.problem: str | None = None  # why the runtime could not start (shown by the panes)
        self.ready = asyncio.Event()
        self.offline = False
        self._wake = asyncio.Event()
        self._http: httpx.AsyncClient | None = None
        self._handed_token: str | None = None
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.ctx.tasks.run(self.run(), name="admin-runtime")

    async def run(self) -> None:
        """Open everything, send queued actions until cancelled, then close what was opened."""
        try:
            try:
                path = self.settings.outbox_path or outbox_path_for(self.ctx.profile.name)
                path.parent.mkdir(parents=True, exist_ok=True)
                self.outbox = await AsyncOutbox.open(path)
            except Exception as exc:
                self.problem = f"the action queue is unavailable: {exc}"
                log.warning("%s", self.problem)
                self.ready.set()
                self.ready_changed.emit()
                await asyncio.Event().wait()  # stay "started" until the session ends
            try:
                self.replicas = self._given_replicas or await self._replicas_from_profile()
                self.lookups = Lookups(self.replicas)
            except Exception as exc:
                # The queue still drains what earlier sessions queued; only lookups are missing.
                self.problem = f"lookups unavailable: {exc}"
                log.warning("%s", self.problem)
            profile = self.ctx.profile
            self._http = build_http_client(
                profile.tls, timeout_s=self.settings.request_timeout_s, base_url=profile.api_base_url
            )
            self.sender = OutboxSender(
                self.outbox,
                self._http,
                self._access_token,
                request_timeout_s=self.settings.request_timeout_s,
                backoff=Backoff(0.5, self.settings.retry_max_s),
                on_results=self._on_results,
            )
            # No sender for AdminActions: queueing wakes this runtime's loop (notify_outbox_changed).
            if self.lookups is not None:
                self.actions = AdminActions(self.outbox, self.lookups)
            self.ready.set()
            self.ready_changed.emit()
            await self._send_loop()
        finally:
            await self._close()

    async def _send_loop(self) -> None:
        """Drain when woken, when a retry falls due, or every idle period.

        Nothing is claimed while the API is unreachable: a cheap probe runs before each drain, so actions
        queued offline stay unsent, and so editable and cancellable, until the API answers again.
        """
        assert self.sender is not None and self.outbox is not None
        await self.outbox.call(self.outbox.outbox.recover)
        probe_backoff = Backoff(0.5, self.settings.offline_probe_max_s)
        while True:
            self._wake.clear()
            due = await self.outbox.next_due_at()
            if due is not None and due <= time.time():
                # Probe first: an action claimed while the API is down counts as sent (it may have been)
                # and can no longer be edited or cancelled.
                if await self._api_reachable():
                    self._set_offline(False)
                    report = await self.sender.drain()
                    self._set_offline(report.offline)
                else:
                    self._set_offline(True)
            if self.offline:
                wait_s = probe_backoff.next_delay()
            else:
                probe_backoff.reset()
                due = await self.outbox.next_due_at()
                idle = self.settings.sender_idle_poll_s
                wait_s = idle if due is None else min(idle, max(0.0, due - time.time()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()

    async def _api_reachable(self) -> bool:
        assert self._http is not None
        try:
            await self._http.get("/auth/me", timeout=self.settings.request_timeout_s)
        except httpx.TransportError:
            return False
        return True

    def _set_offline(self, offline: bool) -> None:
        if offline != self.offline:
            self.offline = offline
            log.info("admin API %s", "unreachable: actions wait in the queue" if offline else "reachable")
            self.outbox_changed.emit()

    def wake(self) -> None:
        """Send now (something was queued, or the admin asked to retry)."""
        self._wake.set()

    async def _close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self.outbox is not None:
            await self.outbox.aclose()
        if self.replicas is not None:
            await self.replicas.aclose()

    async def _replicas_from_profile(self) -> ReplicaSet:
        """The profile's replica DSNs (no passwords in them) with passwords from the keychain."""
        configs = []
        for name, dsns in self.ctx.profile.replicas.items():
            urls = []
            for url in dsns:
                password = None
                if self.ctx.keychain is not None and not url.startswith("sqlite"):
                    password = await self.ctx.keychain.get(database_password_key(name))
                if password:
                    url = make_url(url).set(password=password).render_as_string(hide_password=False)
                urls.append(url)
            if urls:
                configs.append(
                    ReplicaConfig(name, tuple(urls), statement_timeout_ms=self.settings.statement_timeout_ms)
                )
        if not configs:
            raise RuntimeError(f"profile {self.ctx.profile.name!r} has no database replicas configured")
        return ReplicaSet(configs)

    # --- the sender's hooks ----------------------------------------------------------------------------

    async def _access_token(self) -> str:
        """The session's access token; asked again for the same token means it was refused: refresh."""
        auth = self.ctx.api.auth
        if auth is None:
            return ""
        token = auth.access_token
        if (token is None or token == self._handed_token) and await auth.recover(token):
            token = auth.access_token
        self._handed_token = token
        return token or ""

    def _on_results(self, results: list[SendResult]) -> None:
        if self.actions is not None:
            self.actions.on_results(results)
        self.results_arrived.emit(results)
        self.outbox_changed.emit()

    # --- helpers for the panes -------------------------------------------------------------------------

    def notify_outbox_changed(self) -> None:
        """The panes changed the outbox: refresh the views and let the sender look at it."""
        self.outbox_changed.emit()
        self.wake()

    async def verify_password(self, password: str) -> bool:
        """Step-up re-authentication: the signed-in user's password, checked by POST /auth/login.

        The tokens that login issues are revoked at once; the session keeps its own."""
        client = self.ctx.api.http
        base = self.ctx.api.base_url
        response = await client.post(
            f"{base}/auth/login", json={"email": self.ctx.me.email, "password": password}
        )
        if response.status_code != 200:
            return False
        refresh = response.json().get("refresh_token")
        if refresh:
            try:
                await client.post(f"{base}/auth/logout", json={"refresh_token": refresh})
            except httpx.HTTPError:
                log.warning("could not revoke the step-up login's refresh token")
        return True


_RUNTIMES: weakref.WeakKeyDictionary[Any, AdminRuntime] = weakref.WeakKeyDictionary()


ADMIN_ROLES = frozenset({"admin", "moderator"})


def register_admin_sources(ctx: Any, settings: AdminSettings | None = None) -> AdminRuntime | None:
    """For admins and moderators: create (once per session) the admin runtime and start it."""
    if not ctx.me.may_access(ADMIN_ROLES):
        return None
    return admin_runtime_for(ctx, settings)


def admin_runtime_for(ctx: Any, settings: AdminSettings | None = None) -> AdminRuntime:
    """The session's admin runtime, created and started on first use."""
    runtime = _RUNTIMES.get(ctx.registry)
    if runtime is None:
        runtime = _RUNTIMES[ctx.registry] = AdminRuntime(ctx, settings)
        runtime.start()
    return runtime


def install_admin_runtime(ctx: Any, runtime: AdminRuntime) -> AdminRuntime:
    """Use a runtime built elsewhere (tests: given replicas) for this session."""
    _RUNTIMES[ctx.registry] = runtime
    return runtime

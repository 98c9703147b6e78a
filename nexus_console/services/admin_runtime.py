"""The admin runtime of one session (admins and moderators): the replicas and lookups (reads), the outbox,
its sender task and the action service (writes through the API only), the workflow the Admin pane runs, the
read-your-writes watcher and the audit trail; started together and stopped together. Qt-free.

`AdminRuntime.run()` is the session task: it opens the replicas and the outbox, runs the sender until
cancelled, then closes everything it opened (executor threads included). Callers wait for `ready` before
they read. What changed is published on feeds:

* `changes`: a revision, bumped whenever the outbox changes (an action queued, edited, cancelled, applied
  again, discarded or retried; the sender claiming entries or recording answers), when the API becomes
  unreachable or reachable again, and when the runtime becomes ready;
* `results`: every batch of the sender's answers (`list[SendResult]`);
* `caught_up`: rows the replica now shows after a write the API applied (CatchUpWatcher).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from nexus_console.domain.admin_flow import CaughtUp, QueueSnapshot
from nexus_console.domain.backoff import Backoff
from nexus_console.domain.outbox_model import OutboxEntry, SendResult
from nexus_console.domain.replica_reads import ReplicaCatchUp
from nexus_console.services.admin_actions import AdminActions
from nexus_console.services.admin_workflow import AdminWorkflow, CatchUpWatcher, RefreshRows
from nexus_console.services.audit_trail import AuditTrail
from nexus_console.services.feeds import ChangeFeed, Feed
from nexus_console.services.http.client import WRITE_CONNECTIONS, build_write_client
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_pump import OutboxPump
from nexus_console.services.outbox_sender import OutboxSender
from nexus_console.services.profiles import data_dir
from nexus_console.services.tasks import TaskRunner

if TYPE_CHECKING:
    from nexus_console.services.lookups import Lookups
    from nexus_console.services.replicas import ReplicaSet

log = logging.getLogger(__name__)

QUEUE_PAGE = 500


@dataclass(frozen=True, slots=True)
class AdminSettings:
    outbox_path: Path | None = None  # default: outbox-<profile>.sqlite3 in the data dir
    sender_idle_poll_s: float = 5.0
    retry_max_s: float = 30.0  # longest wait before an action that met a 5xx or no answer is sent again
    offline_probe_max_s: float = 15.0  # longest wait between reachability probes while offline
    request_timeout_s: float = 10.0
    statement_timeout_ms: int = 5000
    # Twice the write client's connections: an answer that frees a connection finds the next request
    # already waiting for it, so a replay never leaves the server idle while the console records answers
    # and claims more (with as many in flight as connections, the server sat idle a fifth of the time).
    sender_concurrency: int = 2 * WRITE_CONNECTIONS
    sender_batch_size: int = 128  # actions claimed from the outbox at most in one transaction


def outbox_path_for(profile_name: str) -> Path:
    """The outbox file of a profile: it outlives the session, so queued actions survive a restart."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in profile_name)
    return data_dir() / f"outbox-{safe}.sqlite3"


class AdminRuntime:
    """Reads (ReplicaSet, Lookups) and writes (AsyncOutbox, OutboxSender, AdminActions) for a session.

    `session` is the ConsoleSession that builds it (its profile, API client, keychain, me, executor)."""

    def __init__(
        self,
        session: Any,
        settings: AdminSettings | None = None,
        *,
        replicas: ReplicaSet | None = None,
    ) -> None:
        self.session = session
        self.settings = settings or AdminSettings()
        self._given_replicas = replicas
        self.replicas: ReplicaSet | None = None
        self.lookups: Lookups | None = None
        self.outbox: AsyncOutbox | None = None
        self.sender: OutboxSender | None = None
        self.actions: AdminActions | None = None
        self.problem: str | None = None  # why the runtime (or its lookups) could not start
        self.ready = asyncio.Event()
        self.pump: OutboxPump | None = None
        self.changes: Feed[int] = Feed("admin.changes", 0)
        self.results: Feed[list[SendResult]] = ChangeFeed("admin.results")
        self.caught_up: Feed[CaughtUp] = ChangeFeed("admin.caught_up")
        self.catch_up = ReplicaCatchUp()
        self.watcher = CatchUpWatcher(self.catch_up, self.caught_up, self._refresh_rows)
        auth = session.api.auth
        self.workflow = AdminWorkflow(self, auth, session.me)
        self.audit = AuditTrail(session.api, session.executor)
        self._revision = 0
        self._http: httpx.AsyncClient | None = None
        self._auth = auth
        self._token = auth.token_getter() if auth is not None else _no_token
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self, tasks: TaskRunner) -> None:
        if not self._started:
            self._started = True
            tasks.run(self.run(), name="admin-runtime")
            self.watcher.start(tasks)

    async def run(self) -> None:
        """Open everything, send queued actions until cancelled, then close what was opened."""
        try:
            try:
                path = self.settings.outbox_path or outbox_path_for(self.session.profile.name)
                path.parent.mkdir(parents=True, exist_ok=True)
                self.outbox = await AsyncOutbox.open(path)
            except Exception as exc:
                self.problem = f"the action queue is unavailable: {exc}"
                log.warning("%s", self.problem)
                self._set_ready()
                await asyncio.Event().wait()  # stay "started" until the session ends
            try:
                # SQLAlchemy (a quarter of a second to import) loads here, on a worker thread after the
                # first frame, not on the GUI thread before it
                await asyncio.to_thread(importlib.import_module, "nexus_console.services.lookups")
                from nexus_console.services.lookups import Lookups

                self.replicas = self._given_replicas or await self._replicas_from_profile()
                self.lookups = Lookups(self.replicas)
            except Exception as exc:
                # The queue still drains what earlier sessions queued; only lookups are missing.
                self.problem = f"lookups unavailable: {exc}"
                log.warning("%s", self.problem)
            profile = self.session.profile
            self._http = build_write_client(
                profile.tls, timeout_s=self.settings.request_timeout_s, base_url=profile.api_base_url
            )
            self.sender = OutboxSender(
                self.outbox,
                self._http,
                self._token,
                batch_size=self.settings.sender_batch_size,
                concurrency=self.settings.sender_concurrency,
                request_timeout_s=self.settings.request_timeout_s,
                backoff=Backoff(0.5, self.settings.retry_max_s),
                on_results=self._on_results,
                on_claimed=self._on_claimed,
            )
            # Not the sender's own wake: this runtime's loop sends (it probes the API first).
            self.actions = AdminActions(
                self.outbox, self.lookups, catch_up=self.catch_up, on_change=self._outbox_changed
            )
            self.pump = OutboxPump(
                self.outbox,
                self.sender,
                self._api_reachable,
                idle_poll_s=self.settings.sender_idle_poll_s,
                offline_probe_max_s=self.settings.offline_probe_max_s,
                on_change=self._bump,
                name="admin actions",
            )
            self._set_ready()
            await self.pump.run()
        finally:
            await self._close()

    def _set_ready(self) -> None:
        self.ready.set()
        self._bump()

    async def _api_reachable(self) -> bool:
        if self._auth is not None:
            return await self._auth.server_reachable(self.settings.request_timeout_s)
        assert self._http is not None
        try:  # no session to ask (a sender without sign-in): any answer from the API will do
            await self._http.get("/", timeout=self.settings.request_timeout_s)
        except httpx.TransportError:
            return False
        return True

    @property
    def offline(self) -> bool:
        """Whether the API did not answer the last probe: queued actions wait."""
        return self.pump is not None and self.pump.offline

    def wake(self) -> None:
        """Send now (something was queued, or the admin asked to retry)."""
        if self.pump is not None:
            self.pump.wake()

    async def _close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self.outbox is not None:
            await self.outbox.aclose()
        if self.replicas is not None:
            await self.replicas.aclose()

    async def _replicas_from_profile(self) -> ReplicaSet:
        from nexus_console.services.replicas import replicas_from_profile

        return await replicas_from_profile(
            self.session.profile,
            self.session.keychain,
            statement_timeout_ms=self.settings.statement_timeout_ms,
        )

    # --- what changed ----------------------------------------------------------------------------------

    def _bump(self) -> None:
        self._revision += 1
        self.changes.publish(self._revision)

    def _outbox_changed(self) -> None:
        """AdminActions changed the outbox: tell the watchers and let the sender look at it."""
        self._bump()
        self.wake()

    def _on_claimed(self, _entries: list[OutboxEntry]) -> None:
        self._bump()  # entries moved to `sending`

    def _on_results(self, results: list[SendResult]) -> None:
        if self.actions is not None:
            self.actions.on_results(results)
        self.results.publish(results)
        self._bump()
        self.watcher.kick()

    def _refresh_rows(self) -> RefreshRows | None:
        if self.actions is None or self.lookups is None:
            return None
        return self.actions.refresh_rows

    # --- reads for the action queue --------------------------------------------------------------------

    async def queue_snapshot(self) -> QueueSnapshot | None:
        """Every outbox entry (read in keyset pages), the counts per state, and whether the API is
        unreachable; None while the outbox is not open."""
        outbox = self.outbox
        if outbox is None:
            return None
        entries: list[OutboxEntry] = []
        while True:
            after = entries[-1].id if entries else 0
            page = await outbox.entries(after_id=after, limit=QUEUE_PAGE)
            entries.extend(page)
            if len(page) < QUEUE_PAGE:
                break
        counts = await outbox.counts()
        return QueueSnapshot(entries, counts, self.offline)


async def _no_token() -> str:
    return ""

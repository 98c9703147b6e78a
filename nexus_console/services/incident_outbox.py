"""The durable queue of a responder's incident changes: status, severity, roles and timeline entries wait in
an outbox file of their own (the same SQLite outbox as admin actions) and are sent exactly once, in order
per incident, whether or not the API answers when they are made.

A change sends the incident version the responder saw as If-Match (or the version their own last applied
change produced, when that is newer: their own note is no conflict), or, when an earlier change of the same
incident is still waiting, the version that change produces; someone else's change meanwhile is a conflict
(412) that parks that incident's queue alone until the responder applies it again on the new version or
discards it. A timeline entry changes nothing anyone else wrote and is sent with the version read just
before, so it never conflicts. Qt-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nexus_console.domain.admin import INCIDENT_CHANGE, INCIDENT_ENTRY, ActionRequest, EntityRef, EntityType
from nexus_console.domain.backoff import Backoff
from nexus_console.domain.incident_flow import OPEN_OUTBOX_STATES, IncidentQueue
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState, SendOutcome, SendResult
from nexus_console.services.feeds import Feed
from nexus_console.services.http import build_http_client
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_pump import OutboxPump
from nexus_console.services.outbox_sender import OutboxSender
from nexus_console.services.profiles import Profile, data_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IncidentOutboxSettings:
    path: Path | None = None  # default: incident-outbox-<profile>.sqlite3 in the data dir
    idle_poll_s: float = 5.0
    retry_max_s: float = 30.0
    offline_probe_max_s: float = 15.0
    request_timeout_s: float = 10.0


def incident_outbox_path(profile_name: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in profile_name)
    return data_dir() / f"incident-outbox-{safe}.sqlite3"


class IncidentOutbox:
    """Opens the outbox, sends it while the API answers, and publishes `queue` and every `results` batch."""

    def __init__(
        self,
        profile: Profile,
        auth: Any,
        settings: IncidentOutboxSettings | None = None,
        *,
        on_applied: Callable[[], None] = lambda: None,
    ) -> None:
        self.profile = profile
        self.settings = settings or IncidentOutboxSettings()
        self._auth = auth
        self._on_applied = on_applied
        self.outbox: AsyncOutbox | None = None
        self.pump: OutboxPump | None = None
        self.problem: str | None = None
        self.ready = asyncio.Event()
        self.queue: Feed[IncidentQueue] = Feed("incidents.queue", IncidentQueue((), False))
        self.results: Feed[list[SendResult]] = Feed("incidents.results")
        self._refreshing: asyncio.Task[None] | None = None
        self._again = False

    # --- lifecycle -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """The session task: open, send until cancelled, close."""
        http: httpx.AsyncClient | None = None
        try:
            try:
                path = self.settings.path or incident_outbox_path(self.profile.name)
                path.parent.mkdir(parents=True, exist_ok=True)
                self.outbox = await AsyncOutbox.open(path)
            except Exception as exc:
                self.problem = f"Changes cannot be queued: the local queue file could not be opened ({exc})."
                log.warning("%s", self.problem)
                self.queue.publish(IncidentQueue((), False, self.problem))
                self.ready.set()
                await asyncio.Event().wait()
            http = build_http_client(
                self.profile.tls,
                timeout_s=self.settings.request_timeout_s,
                base_url=self.profile.api_base_url,
            )
            sender = OutboxSender(
                self.outbox,
                http,
                self._auth.token_getter() if self._auth is not None else _no_token,
                request_timeout_s=self.settings.request_timeout_s,
                backoff=Backoff(0.5, self.settings.retry_max_s),
                on_results=self._on_results,
                on_claimed=lambda _entries: self._changed(),
            )
            self.pump = OutboxPump(
                self.outbox,
                sender,
                functools.partial(self._reachable, http),
                idle_poll_s=self.settings.idle_poll_s,
                offline_probe_max_s=self.settings.offline_probe_max_s,
                on_change=self._changed,
                name="incident changes",
            )
            self.ready.set()
            await self.pump.run()
        finally:
            if self._refreshing is not None:
                self._refreshing.cancel()
                with contextlib.suppress(BaseException):
                    await self._refreshing
            if http is not None:
                await http.aclose()
            if self.outbox is not None:
                await self.outbox.aclose()

    # --- queueing --------------------------------------------------------------------------------------

    async def change(self, incident_id: int, seen_version: int, body: Mapping[str, Any]) -> OutboxEntry:
        """Queue a change of fields, made on `seen_version` of the incident."""
        outbox = await self._open_outbox()
        waiting = await outbox.latest_for(EntityType.INCIDENT.value, [str(incident_id)])
        earlier = waiting.get(str(incident_id))
        expected: int | None = seen_version
        if earlier is not None and earlier.state in OPEN_OUTBOX_STATES:
            expected = None  # the version the earlier change produces
        elif earlier is not None and earlier.state is OutboxState.APPLIED and earlier.applied_version:
            # The responder's own last note may be newer than the incident they see: it is no conflict.
            expected = max(seen_version, earlier.applied_version)
        request = ActionRequest(
            EntityRef(EntityType.INCIDENT, str(incident_id)), INCIDENT_CHANGE, None, dict(body), expected
        )
        return await self._enqueue(request)

    async def add_entry(self, incident_id: int, body: Mapping[str, Any]) -> OutboxEntry:
        """Queue a timeline entry (a note, an action taken, a custom event)."""
        entity = EntityRef(EntityType.INCIDENT, str(incident_id))
        return await self._enqueue(ActionRequest(entity, INCIDENT_ENTRY, None, dict(body)))

    async def apply_again(self, entry_id: int) -> OutboxEntry:
        """A conflicting change, sent again on the incident's current version (the responder saw it)."""
        outbox = await self._open_outbox()
        entry = await outbox.get(entry_id)
        version = entry.server_state.get("version") if entry.server_state else None
        again = await outbox.apply_again(entry_id, version if isinstance(version, int) else None)
        self._changed()
        self.wake()
        return again

    async def discard(self, entry_id: int) -> OutboxEntry:
        outbox = await self._open_outbox()
        discarded = await outbox.discard(entry_id)
        self._changed()
        self.wake()
        return discarded

    async def _reachable(self, http: httpx.AsyncClient) -> bool:
        if self._auth is not None:
            return bool(await self._auth.server_reachable(self.settings.request_timeout_s))
        try:  # no sign-in to ask (a test session): any answer from the API will do
            await http.get("/", timeout=self.settings.request_timeout_s)
        except httpx.TransportError:
            return False
        return True

    def wake(self) -> None:
        if self.pump is not None:
            self.pump.wake()

    async def _enqueue(self, request: ActionRequest) -> OutboxEntry:
        outbox = await self._open_outbox()
        entry = await outbox.enqueue(request)
        self._changed()
        self.wake()
        return entry

    async def _open_outbox(self) -> AsyncOutbox:
        await self.ready.wait()
        if self.outbox is None:
            raise RuntimeError(self.problem or "the incident change queue is not open")
        return self.outbox

    # --- what changed ------------------------------------------------------------------------------------

    def _on_results(self, results: list[SendResult]) -> None:
        self.results.publish(results)
        self._changed()
        if any(result.outcome is SendOutcome.APPLIED for result in results):
            self._on_applied()

    def _changed(self) -> None:
        """Publish the open entries again (one read at a time; a change meanwhile reads once more)."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._publish_queue())
        else:
            self._again = True

    async def _publish_queue(self) -> None:
        while True:
            self._again = False
            if self.outbox is None:
                return
            try:
                entries = await self.outbox.entries(OPEN_OUTBOX_STATES)
            except Exception as exc:  # the file went away under us: say so, keep running
                log.warning("incident queue unreadable: %s", exc)
                return
            offline = self.pump is not None and self.pump.offline
            self.queue.publish(IncidentQueue(tuple(entries), offline, self.problem))
            if not self._again:
                return


async def _no_token() -> str:
    return ""

"""The incident runtime of one session (admins and analysts): the incident list and the followed incident's
assembled timeline as two pollers, and every incident change a responder makes. Qt-free.

Sources: `incidents` (GET /incidents, the last 30 days, every 5 s) and `incident_timeline` (the incident the
Incidents pane follows: the incident, its server timeline, the linked alerts' transitions from the local alert
history, and the audit log's admin actions in the incident window, assembled into one ordered list on the
session's executor). Both poll the API's host, so they are woken with its other sources when it returns.

Status, severity and role changes and timeline notes wait in the durable outbox (`incident_outbox`): sent
exactly once, in order per incident, when the API answers. Declaring, pinning, hiding, linking alerts and
saving the post-mortem go straight to the API with an Idempotency-Key and an If-Match: a 412 reloads the
incident and raises `IncidentChanged` with a sentence; every other failure raises `IncidentWriteError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nexus_console.domain.alerts import Transition, format_rfc3339
from nexus_console.domain.auth import Me
from nexus_console.domain.incident_flow import (
    AUDIT_READERS,
    CONFLICT_TEXT,
    INCIDENT_WRITERS,
    IncidentDetail,
    IncidentDraft,
    IncidentList,
)
from nexus_console.domain.incident_timeline import (
    IncidentWindow,
    TimelineEntry,
    assemble_timeline,
    linked_alert_key,
)
from nexus_console.domain.incidents import Incident, IncidentStatus
from nexus_console.domain.outbox_model import OutboxEntry
from nexus_console.domain.postmortem import PostMortem
from nexus_console.domain.quick_entry import QuickEntry
from nexus_console.services.api_client import ApiError, NexusClient
from nexus_console.services.http import describe_error
from nexus_console.services.incident_outbox import IncidentOutbox, IncidentOutboxSettings
from nexus_console.services.outbox_sender import parse_etag_version
from nexus_console.services.polling import CacheCodec, Poller, PollerRegistry
from nexus_console.services.profiles import Profile
from nexus_console.services.tasks import TaskRunner

T = TypeVar("T")

INCIDENTS = "incidents"
INCIDENT_TIMELINE = "incident_timeline"
LIST_PAGE = 100
LIST_DAYS = 30
MAX_LIST_PAGES = 20
AUDIT_PAGE = 200
MAX_AUDIT_PAGES = 10

LIST_CODEC: CacheCodec[IncidentList] = CacheCodec(
    encode=lambda listing: listing.to_json(), decode=IncidentList.from_items
)


@dataclass(frozen=True, slots=True)
class IncidentSettings:
    list_interval_s: float = 5.0
    timeline_interval_s: float = 5.0
    timeout_s: float = 15.0
    history_limit: int = 20_000  # alert transitions read for one timeline
    outbox: IncidentOutboxSettings = field(default_factory=IncidentOutboxSettings)


class IncidentWriteError(Exception):
    """A change the API did not make; str() is the sentence to show."""


class IncidentChanged(IncidentWriteError):
    """The incident changed since the responder saw it (HTTP 412); it has been reloaded."""


class IncidentRuntime:
    """The incident pollers and the changes a responder makes (see the module docstring)."""

    def __init__(
        self,
        *,
        api: NexusClient,
        registry: PollerRegistry,
        me: Me,
        api_host: str,
        # (since, until, limit, services, alert keys) -> the incident's alert changes, oldest first
        transitions_between: Callable[
            [float, float, int, Collection[str], Collection[str]], Awaitable[list[Transition]]
        ],
        executor: concurrent.futures.Executor | None = None,
        settings: IncidentSettings | None = None,
        profile: Profile | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings = settings or IncidentSettings()
        self.api = api
        self.me = me
        self._transitions_between = transitions_between
        self._executor = executor
        self._clock = clock
        self._followed: int | None = None
        self.list: Poller[IncidentList] = registry.add(
            Poller(
                INCIDENTS,
                self._fetch_list,
                settings.list_interval_s,
                timeout_s=settings.timeout_s,
                cache_codec=LIST_CODEC,
                host=api_host,
            )
        )
        self.timeline: Poller[IncidentDetail | None] = registry.add(
            Poller(
                INCIDENT_TIMELINE,
                self._fetch_detail,
                settings.timeline_interval_s,
                timeout_s=settings.timeout_s,
                host=api_host,
            )
        )

        # Responders' changes and notes wait in a durable queue; a viewer (a wall display) changes nothing.
        self.outbox: IncidentOutbox | None = None
        if profile is not None and me.may_access(INCIDENT_WRITERS):
            self.outbox = IncidentOutbox(profile, api.auth, settings.outbox, on_applied=self.refresh)

    def start(self, tasks: TaskRunner) -> None:
        if self.outbox is not None:
            tasks.run(self.outbox.run(), name="incident-outbox")

    @property
    def followed(self) -> int | None:
        return self._followed

    def follow(self, incident_id: int | None) -> None:
        """Assemble this incident's timeline from now on (None: none), starting at once."""
        if incident_id != self._followed:
            self._followed = incident_id
            self.timeline.poke()

    def refresh(self) -> None:
        self.list.poke()
        self.timeline.poke()

    # --- reads ---------------------------------------------------------------------------------------

    async def _fetch_list(self) -> IncidentList:
        """Every incident of the last 30 days and every one still open, newest first (keyset pages)."""
        since = self._clock() - LIST_DAYS * 86400
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            params: dict[str, Any] = {"limit": LIST_PAGE}
            if cursor:
                params["cursor"] = cursor
            body, _headers = await self.api.get_json("/incidents", params)
            page = list(body.get("items", [])) if isinstance(body, dict) else []
            items.extend(page)
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            if not cursor or not page or _created_before(page[-1], since):
                break
        listing = IncidentList.from_items(items)
        if self._followed is None and listing.active:
            # Until a responder picks one, the newest open incident is followed: its events mark the
            # Health charts on a wall display that never opens the Incidents pane.
            self.follow(listing.active[0].id)
        return listing

    async def _fetch_detail(self) -> IncidentDetail | None:
        incident_id = self._followed
        if incident_id is None:
            return None
        return await self.assemble(incident_id)

    async def assemble(self, incident_id: int) -> IncidentDetail:
        """One incident's timeline from every source (the followed one is polled; exports call this)."""
        body, _headers = await self.api.get_json(f"/incidents/{incident_id}")
        incident = Incident.from_json(body)
        timeline, _headers = await self.api.get_json(
            f"/incidents/{incident_id}/timeline", {"include_hidden": "true"}
        )
        entries = [TimelineEntry.from_json(item) for item in timeline.get("items", [])]
        window = IncidentWindow.of(incident)
        end = window.end if window.end is not None else self._clock()
        notices: list[str] = []
        linked = {linked_alert_key(alert_id) for alert_id in incident.alert_ids}
        transitions = await self._transitions_between(
            window.start, end, self.settings.history_limit, incident.services, linked
        )
        if len(transitions) >= self.settings.history_limit:
            notices.append(
                f"Only the first {self.settings.history_limit:,} alert changes of the incident window "
                "are shown."
            )
        audit: list[Any] = []
        if self.me.may_access(AUDIT_READERS):
            audit = await self._audit_entries(window.start, end, notices)
        else:
            notices.append("Admin actions are not shown: reading the audit log needs the admin role.")
        assemble = functools.partial(assemble_timeline, incident, entries, transitions, audit, window=window)
        events = await asyncio.get_running_loop().run_in_executor(self._executor, assemble)
        return IncidentDetail(incident, tuple(events), tuple(notices))

    async def _audit_entries(self, since: float, until: float, notices: list[str]) -> list[Any]:
        entries: list[Any] = []
        cursor: str | None = None
        params: dict[str, Any] = {
            "since": format_rfc3339(since),
            "until": format_rfc3339(until),
            "limit": AUDIT_PAGE,
        }
        for _ in range(MAX_AUDIT_PAGES):
            if cursor:
                params["cursor"] = cursor
            body, _headers = await self.api.get_json("/audit", params)
            entries.extend(body.get("items", []))
            cursor = body.get("next_cursor")
            if not cursor:
                return entries
        notices.append(f"Only the first {len(entries):,} audit entries of the incident window are shown.")
        return entries

    async def postmortem(self, incident_id: int) -> PostMortem:
        body, _headers = await self.api.get_json(f"/incidents/{incident_id}/postmortem")
        return PostMortem.from_json(body)

    # --- writes --------------------------------------------------------------------------------------

    async def declare(self, draft: IncidentDraft) -> Incident:
        """Open the incident; alerts without a Nexus id are noted on its timeline."""
        body, version = await self._write("POST", "/incidents", draft.body())
        incident = Incident.from_json(body)
        for alert in draft.unlinked_alerts:
            note = {"kind": "custom", "text": f"Declared from the alert {alert}"}
            _entry, version = await self._write(
                "POST", f"/incidents/{incident.id}/timeline", note, incident.id, version=version
            )
        self.follow(incident.id)
        return incident

    async def change(self, incident: Incident, **fields: Any) -> OutboxEntry:
        """Queue a change of fields (status, severity, commander, responders, services, title, summary,
        milestones) made on the version of `incident` the responder saw; sent when the API answers."""
        body = {name: _wire(value) for name, value in fields.items()}
        return await self._writer().change(incident.id, incident.version, body)

    async def add_entry(self, incident: Incident, entry: QuickEntry, *, kind: str = "note") -> OutboxEntry:
        """Queue a note (or custom event or action) at the time the responder gave."""
        body = {"kind": kind, "text": entry.text, "at": format_rfc3339(entry.at)}
        return await self._writer().add_entry(incident.id, body)

    def _writer(self) -> IncidentOutbox:
        if self.outbox is None:
            raise IncidentWriteError("Changing incidents needs the analyst or admin role.")
        return self.outbox

    async def flag_entry(
        self, incident: Incident, entry_id: int, *, pinned: bool | None = None, hidden: bool | None = None
    ) -> None:
        body = {name: value for name, value in (("pinned", pinned), ("hidden", hidden)) if value is not None}
        await self._write("PATCH", f"/incidents/{incident.id}/timeline/{entry_id}", body, incident.id)

    async def edit_entry(self, incident: Incident, entry_id: int, entry: QuickEntry) -> None:
        """Correct a note's (or action's, or custom event's) time and text."""
        body = {"text": entry.text, "at": format_rfc3339(entry.at)}
        await self._write("PATCH", f"/incidents/{incident.id}/timeline/{entry_id}", body, incident.id)

    async def link_alerts(self, incident: Incident, alert_ids: list[int]) -> None:
        version = None  # each link answers with the version the next one sends
        for alert_id in alert_ids:
            if alert_id not in incident.alert_ids:
                body = {"alert_id": alert_id}
                _answer, version = await self._write(
                    "POST", f"/incidents/{incident.id}/alerts", body, incident.id, version=version
                )

    async def save_postmortem(self, incident_id: int, document: PostMortem) -> PostMortem:
        try:
            body, _headers = await self.api.write_json(
                "PUT",
                f"/incidents/{incident_id}/postmortem",
                document.to_json(),
                if_match=f'"v{document.version}"',
            )
        except ApiError as exc:
            if exc.status == 412:
                raise IncidentChanged(
                    "Someone else saved this post-mortem since you opened it. Reload it to see their "
                    "version; copy your text first."
                ) from None
            raise IncidentWriteError(_failure_text(exc)) from None
        except Exception as exc:
            raise IncidentWriteError(_failure_text(exc)) from None
        return PostMortem.from_json(body)

    async def _write(
        self, method: str, path: str, body: Any, incident_id: int | None = None, *, version: int | None = None
    ) -> tuple[Any, int | None]:
        """One write straight to the API; returns the answer and the incident's new version (its ETag).

        A write on an incident sends `version` as If-Match, else the version read just before: these
        writes (a pin, a corrected note, a linked alert) change nothing anyone else wrote."""
        try:
            if_match = None
            if incident_id is not None:
                if_match = f'"v{version or await self._current_version(incident_id)}"'
            answer, headers = await self.api.write_json(method, path, body, if_match=if_match)
        except ApiError as exc:
            if exc.status == 412:
                self.refresh()
                raise IncidentChanged(CONFLICT_TEXT) from None
            raise IncidentWriteError(_failure_text(exc)) from None
        except (IncidentWriteError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise IncidentWriteError(_failure_text(exc)) from None
        self.refresh()
        return answer, parse_etag_version(headers.get("ETag"))

    async def _current_version(self, incident_id: int) -> int:
        body, _headers = await self.api.get_json(f"/incidents/{incident_id}")
        return int(body["version"])


def _created_before(item: Any, since: float) -> bool:
    try:
        return Incident.from_json(item).created_at < since
    except Exception:
        return False


def _wire(value: Any) -> Any:
    if isinstance(value, IncidentStatus):
        return value.value
    if isinstance(value, float):
        return format_rfc3339(value)
    return value


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        if exc.status == 403:
            return str(exc)
        if exc.status in (409, 422):
            return f"The server refused the change: {exc.detail or exc.title or exc}"
    return f"The change was not made: {describe_error(exc)}. Try again when the Nexus API answers."

"""The Incidents pane: the dashboard (active incidents and the last 30 days with MTTA and MTTR against the
targets) beside the followed incident's header, controls, timeline and post-mortem.

It watches the session's incident runtime (`session.incidents`): the `incidents` list and the followed
incident's `incident_timeline`. Every change goes through one runtime method; the pane shows the sentence
it answers. Keys: Ctrl+Shift+I declares, Ctrl+L writes a timeline entry, Ctrl+S saves the post-mortem; in the
timeline p pins, h hides, Enter opens an event's source.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.alerts import Severity
from nexus_console.domain.freshness import SourceStatus
from nexus_console.domain.incident_flow import (
    INCIDENT_WRITERS,
    IncidentDetail,
    IncidentDraft,
    IncidentList,
    IncidentQueue,
)
from nexus_console.domain.incident_stats import IncidentStats, format_duration
from nexus_console.domain.incident_timeline import TimelineEvent
from nexus_console.domain.incidents import Incident, IncidentStatus
from nexus_console.domain.outbox_model import SendOutcome, SendResult
from nexus_console.domain.quick_entry import QuickEntry, QuickEntryError, parse_quick_entry
from nexus_console.domain.wall_playlist import PaneView
from nexus_console.models.incident_tables import INCIDENT_ROLE, IncidentTableModel
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.incidents.declare_dialog import DeclareDialog
from nexus_console.views.incidents.detail import IncidentDetailView
from nexus_console.views.incidents.edit_dialog import EditIncidentDialog
from nexus_console.views.incidents.postmortem_flow import PostmortemFlow
from nexus_console.views.incidents.queue_strip import QueueStrip
from nexus_console.views.local_time import local_now
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.views.table_view import row_table
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)
TICK_MS = 1000


class IncidentsPane(Pane):
    title = "Incidents"
    icon_name = "incidents"
    required_roles = INCIDENT_WRITERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("incidentsPane")
        runtime = session.incidents
        assert runtime is not None, "the incidents pane needs a session with the incident runtime"
        self.runtime = runtime
        self.listing: IncidentList | None = None
        self.detail_data: IncidentDetail | None = None

        self.stats_label = QLabel("Incidents: loading…", self)
        self.stats_label.setObjectName("incidentStats")
        self.stats_label.setWordWrap(True)
        self.declare_button = QPushButton("Declare incident…", self)
        self.declare_button.setObjectName("declareIncident")
        self.declare_button.setToolTip("Ctrl+Shift+I")
        top = QHBoxLayout()
        top.addWidget(self.stats_label, 1)
        top.addWidget(self.declare_button)
        self.banner = StaleBanner(self)
        self.queue_strip = QueueStrip(self)
        self.model = IncidentTableModel(self)
        self.table = row_table(self.model, "incidentTable", self, stretch_column=3)
        for column, width in ((0, 44), (1, 66), (2, 96), (4, 150), (5, 80), (6, 230)):
            self.table.setColumnWidth(column, width)
        self.detail = IncidentDetailView(self)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("incidentSplitter")
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.queue_strip)
        layout.addWidget(splitter, 1)

        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.declare_button.clicked.connect(self.declare)
        self.detail.status_requested.connect(self.move_to)
        self.detail.command_requested.connect(self.take_command)
        self.detail.edit_requested.connect(self.edit)
        timeline = self.detail.timeline
        timeline.entry_submitted.connect(self.add_entry)
        timeline.entry_edited.connect(self.edit_entry)
        timeline.flag_requested.connect(self.flag)
        timeline.open_requested.connect(self.open_source)
        self.postmortems = PostmortemFlow(self)
        QShortcut(QKeySequence("Ctrl+Shift+I"), self, self.declare)
        QShortcut(QKeySequence("Ctrl+E"), self, self.edit)

        self._sent_messages: dict[int, str] = {}  # outbox entry id -> what to say once it is applied
        # Before the first watch: a pane built while the feeds already hold values hears of them at once.
        self._event_to_select: str | None = None
        self.watch(runtime.list, self._on_list)
        self.watch(runtime.timeline, self._on_timeline)
        if runtime.outbox is not None:
            self.watch(runtime.outbox.queue, self._on_queue, while_hidden=True)
            self.watch(runtime.outbox.results, self._on_results, batch_ms=None, while_hidden=True)
            self.queue_strip.apply_again_requested.connect(
                lambda entry_id: self.run_task(runtime.outbox.apply_again(entry_id), "apply again")
            )
            self.queue_strip.discard_requested.connect(
                lambda entry_id: self.run_task(runtime.outbox.discard(entry_id), "discard change")
            )
        self.every(TICK_MS, self.tick, name="incidentsTick")

    # ---- palette -----------------------------------------------------------------------------------

    def actions(self) -> list[QAction]:  # type: ignore[override]
        actions = []
        commands: list[tuple[str, Any]] = [
            ("Incidents: declare an incident", self.declare),
            ("Incidents: write on the timeline", self.detail.timeline.focus_entry),
            ("Incidents: take command", self.take_command),
            ("Incidents: edit title, severity, roles, services and times", self.edit),
            ("Incidents: export the post-mortem as PDF", lambda: self.postmortems.export("pdf")),
        ]
        for status in IncidentStatus:
            commands.append((f"Incidents: move to {status.label}", lambda s=status: self.move_to(s)))
        for text, slot in commands:
            action = QAction(text, self)
            action.triggered.connect(slot)
            actions.append(action)
        return actions

    # ---- feeds -------------------------------------------------------------------------------------

    def _on_list(self, status: SourceStatus[IncidentList]) -> None:
        now = time.time()
        self.banner.set_status(status, now)
        stale = status.last_good is not None and status.is_stale(now)
        apply_stale_look(self.table, stale)
        if status.last_good is None:
            if status.error:
                self.stats_label.setText(f"Incidents could not be loaded: {status.error}")
            return
        self.listing = listing = status.last_good.value
        self.model.set_incidents(listing.incidents)
        self.stats_label.setText(stats_text(IncidentStats.over(listing.incidents, now=now), listing))
        followed = self.runtime.followed
        if followed is None and listing.incidents:
            first = listing.active[0] if listing.active else listing.incidents[0]
            self.follow(first.id)
        elif followed is not None:
            self._select_row_of(followed)
            incident = listing.by_id(followed)
            if incident is not None and (
                self.detail_data is None or self.detail_data.incident.id != followed
            ):
                self.detail.show_incident(incident, now)

    def _on_timeline(self, status: SourceStatus[IncidentDetail | None]) -> None:
        now = time.time()
        self.detail.banner.set_status(status, now)
        apply_stale_look(self.detail.timeline.table, status.last_good is not None and status.is_stale(now))
        detail = status.last_good.value if status.last_good is not None else None
        if detail is None or detail.incident.id != self.runtime.followed:
            return
        self.detail_data = detail
        self.detail.show_incident(detail.incident, now)
        self.detail.timeline.set_events(detail.events)
        if self._event_to_select is not None and self.detail.timeline.select_key(self._event_to_select):
            self._event_to_select = None
        self.detail.notices.setText(" ".join(detail.notices))
        self.detail.notices.setVisible(bool(detail.notices))

    def _on_queue(self, queue: IncidentQueue) -> None:
        self.queue_strip.show_queue(len(queue.waiting), queue.offline, list(queue.stuck), queue.problem)

    def tick(self) -> None:
        self.model.tick()
        if self.detail.incident is not None:
            self.detail.show_incident(self.detail.incident, time.time())

    # ---- following an incident -----------------------------------------------------------------------

    def show_view(self, view: PaneView) -> None:
        """Wall items: `incident` (the wall holds on it), else the newest open incident."""
        super().show_view(view)
        target = view.incident
        if target is None and self.listing is not None and self.listing.active:
            target = self.listing.active[0].id
        if target is not None:
            self.follow(target)

    def follow(self, incident_id: int) -> None:
        if incident_id == self.runtime.followed:
            return
        self.runtime.follow(incident_id)
        self.detail_data = None
        self.detail.timeline.set_events([])
        self.detail.show_message("")
        incident = self.listing.by_id(incident_id) if self.listing is not None else None
        self.detail.show_incident(incident, time.time())
        self._select_row_of(incident_id)
        self.postmortems.load_if_shown()

    def open_event(self, incident_id: int, event_key: str | None = None) -> None:
        """Show this incident, and this event of its timeline selected once it is assembled (a mark on a
        Health chart opens here)."""
        self.follow(incident_id)
        self.detail.tabs.setCurrentWidget(self.detail.timeline)
        if event_key is not None and not self.detail.timeline.select_key(event_key):
            self._event_to_select = event_key

    def _select_row_of(self, incident_id: int) -> None:
        row = self.model.row_of(incident_id)
        if row is not None and self.table.currentIndex().row() != row:
            self.table.selectRow(row)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        incident = self.model.data(current, INCIDENT_ROLE) if current.isValid() else None
        if incident is not None:
            self.follow(incident.id)

    # ---- changes: one runtime call each, the answer shown as a sentence ---------------------------

    def declare(self) -> None:
        draft = IncidentDraft(title="", severity=Severity.HIGH, commander=self.session.me.email)
        self.run_task(self.declare_from(draft), "declare incident")

    async def declare_from(self, draft: IncidentDraft) -> None:
        open_incidents = self.listing.active if self.listing is not None and draft.alert_ids else ()
        dialog = DeclareDialog(draft, open_incidents=open_incidents, parent=self)
        try:
            if await execute_dialog(dialog) != QDialog.DialogCode.Accepted:
                return
            chosen, draft = dialog.chosen_incident(), dialog.draft()
        finally:
            dialog.deleteLater()
        if chosen is not None and self.listing is not None:
            target = self.listing.by_id(chosen)
            if target is not None:
                await self.runtime.link_alerts(target, list(draft.alert_ids))
                self.follow(chosen)
                self.detail.show_message(f"Alerts added to incident #{chosen}.")
            return
        incident = await self.runtime.declare(draft)
        self.follow(incident.id)
        self.detail.show_message(f"Incident #{incident.id} declared.")

    def move_to(self, status: IncidentStatus) -> None:
        incident = self.detail.incident
        if incident is not None and status is not incident.status:
            change = self._change(f"Moving to {status.label}…", f"Moved to {status.label}.", status=status)
            self.run_task(change, "incident status")

    def take_command(self) -> None:
        if self.detail.incident is not None:
            me = self.session.me.email
            change = self._change("Taking command…", f"{me} is the commander.", commander=me)
            self.run_task(change, "incident command")

    def edit(self) -> None:
        if self.detail.incident is not None:
            self.run_task(self._edit(self.detail.incident), "edit incident")

    async def _edit(self, incident: Incident) -> None:
        dialog = EditIncidentDialog(incident, now=local_now(), parent=self)
        try:
            if await execute_dialog(dialog) != QDialog.DialogCode.Accepted or not dialog.changes:
                return
            changes = dialog.changes
        finally:
            dialog.deleteLater()
        await self._change("Saving your edit…", "Edit saved.", **changes)

    async def _change(self, doing: str, done: str, **fields: Any) -> None:
        assert self.detail.incident is not None
        entry = await self.runtime.change(self.detail.incident, **fields)
        self._sent_messages[entry.id] = done
        self.detail.show_message(doing)

    def add_entry(self, line: str, kind: str) -> None:
        read = self._read_line(line)
        if read is not None:
            incident, entry = read
            self.run_task(self._add_entry(incident, entry, kind), "incident entry")

    async def _add_entry(self, incident: Incident, entry: QuickEntry, kind: str) -> None:
        queued = await self.runtime.add_entry(incident, entry, kind=kind)
        self.detail.timeline.entry_done(None)
        when = datetime.fromtimestamp(entry.at).strftime("%d %b %H:%M:%S")
        self._sent_messages[queued.id] = f"Added at {when}."
        self.detail.show_message("Adding…")

    def edit_entry(self, entry_id: int, line: str) -> None:
        read = self._read_line(line)
        if read is not None:
            incident, entry = read
            self.run_task(self._edit_entry(incident, entry_id, entry), "correct entry")

    def _read_line(self, line: str) -> tuple[Incident, QuickEntry] | None:
        """The shown incident and the quick-entry line read in the user's zone; a line that does not read
        stays where it is, with the reason under it."""
        incident = self.detail.incident
        if incident is None:
            return None
        try:
            return incident, parse_quick_entry(line, now=local_now())
        except QuickEntryError as exc:
            self.detail.timeline.entry_done(str(exc))
            return None

    async def _edit_entry(self, incident: Incident, entry_id: int, entry: QuickEntry) -> None:
        await self.runtime.edit_entry(incident, entry_id, entry)
        self.detail.timeline.end_edit()
        self.detail.timeline.entry_done(None)
        self.detail.show_message("Entry corrected.")

    def _on_results(self, results: list[SendResult] | None) -> None:
        """A queued change reached the server: say so (a refusal is said by the queue strip)."""
        for result in results or ():
            done = self._sent_messages.pop(result.entry_id, None)
            if done is not None and result.outcome is SendOutcome.APPLIED:
                self.detail.show_message(done)

    def flag(self, event: TimelineEvent, command: str) -> None:
        incident = self.detail.incident
        if incident is None or event.entry_id is None:
            return
        if command == "pin":
            change = self.runtime.flag_entry(incident, event.entry_id, pinned=not event.pinned)
        else:
            change = self.runtime.flag_entry(incident, event.entry_id, hidden=not event.hidden)
        self.run_task(change, f"incident {command}")

    def open_source(self, event: TimelineEvent) -> None:
        """Alerts open in the Alerts pane; service charts on Health; the rest is already shown here."""
        link, window = event.link, self.window()
        if link is None or not hasattr(window, "show_pane"):
            return
        try:
            if link.kind == "alert":
                alerts = window.show_pane("Alerts")
                if not alerts.queue_view.select_key(link.target):
                    alerts.tabs.setCurrentWidget(alerts.history_view)
            elif link.kind == "service_chart":
                window.show_pane("Health").show_service_at(link.target, link.at)
            elif link.kind == "audit":
                window.show_pane("Audit")
        except KeyError:
            self.detail.show_message(
                f"Your roles do not include the pane that shows this {link.kind}.", error=True
            )

    def show_task_error(self, error: BaseException) -> None:
        log.warning("incidents pane: %s", error)
        if not self._shut_down:
            self.detail.show_message(str(error), error=True)


def stats_text(stats: IncidentStats, listing: IncidentList) -> str:
    def against(value: float | None, target: float, met: bool | None) -> str:
        verdict = "" if met is None else (" ✓" if met else " — over target")
        return f"{format_duration(value)} (target {format_duration(target)}){verdict}"

    text = (
        f"Open now: {stats.open_count} · last 30 days: {stats.count} incident(s) · "
        f"MTTA {against(stats.mtta_s, stats.mtta_target_s, stats.mtta_met)} · "
        f"MTTR {against(stats.mttr_s, stats.mttr_target_s, stats.mttr_met)}"
    )
    if listing.skipped:
        text += f" · {listing.skipped} unreadable incident(s) left out: {listing.first_problem}"
    return text

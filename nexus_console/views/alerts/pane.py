"""The Alerts pane: the merged alert queue (Nexus, Alertmanager, Prometheus, local rules), triaged from the
keyboard.

Keys in the queue: j / k move, Enter opens the details, a acknowledges, r resolves, s silences (with a
duration picker), m marks for a bulk action (a / r / s then act on every marked alert), i declares an
incident from the marked (or selected) alerts or adds them to an open one, / focuses the filter, g changes
the grouping, Esc in the filter returns to the queue.

The pane works on the session's alert runtime (`session.alerts`): the table model and the notifier watch
the queue's changes (the notifier also while the pane is hidden, so the badge and the tray keep working;
it hears them after the model, whose links make alerts of several sources about one problem count and
sound once), the triage actions go through `runtime.triage`, and the settings (`alerts.toml`) are the ones
the runtime read. A one-second clock (ages, countdowns, staleness) runs while the pane is shown, and once at
each show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from nexus_console.domain.alert_filter import AlertFilter
from nexus_console.domain.alerts import StoreChange
from nexus_console.domain.auth import ALERT_READERS
from nexus_console.domain.incident_flow import INCIDENT_WRITERS, draft_from_alerts
from nexus_console.domain.wall_playlist import PaneView
from nexus_console.views.alerts.filter_bar import FilterBar, ask_filter_name
from nexus_console.views.alerts.queue_view import AlertQueueView
from nexus_console.views.alerts.side_views import HistoryView, RulesView
from nexus_console.views.alerts.triage_keys import TriageKeys
from nexus_console.views.notifications import AlertNotifier, CommandSoundPlayer, SoundPlayer
from nexus_console.views.pane import Pane, StaleBanner
from nexus_console.views.theme import ALERTS_PANE_STYLE
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)

TICK_MS = 1000
FLASH_MS = 10_000


class AlertsPane(Pane):
    title = "Alerts"
    required_roles = ALERT_READERS
    icon_name = "alerts"

    def __init__(
        self,
        session: ConsoleSession,
        parent: QWidget | None = None,
        *,
        player: SoundPlayer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(session, parent)
        self.setObjectName("alertsPane")
        self.setStyleSheet(ALERTS_PANE_STYLE)
        self.clock = clock
        self.runtime = runtime = session.alerts
        self.queue = runtime.queue
        self.triage = runtime.triage
        self.triage_keys = TriageKeys(self)
        self.settings = settings = runtime.pane_settings
        self.saved_filters: dict[str, str] = {}

        # ---- filter bar, messages ----
        self.filter_bar = FilterBar(self)
        self.filter_bar.text_changed.connect(lambda _text: self.apply_filter())
        self.filter_bar.save_requested.connect(self._save_filter_clicked)
        self.filter_bar.group_chosen.connect(self.set_group_by)
        self.filter_bar.edit.installEventFilter(self)
        self.filter_edit = self.filter_bar.edit
        self.filter_error = self.filter_bar.error
        self.saved_combo = self.filter_bar.saved
        self.save_button = self.filter_bar.save_button
        self.counts = self.filter_bar.counts
        self.banner = StaleBanner(self)
        self.message = QLabel(runtime.settings_problem or "", self)
        self.message.setObjectName("alertMessage")
        self.message.setWordWrap(True)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self.message.clear)

        # ---- the queue, rules and history ----
        self.queue_view = view = AlertQueueView(
            self.queue.store,
            self.queue.changes,
            runbook_base=settings.runbook_base,
            clock=clock,
            list_font=self.filter_bar.error.font(),
            parent=self,
        )
        view.command.connect(self._command)
        view.group_chosen.connect(self.apply_filter)
        view.marks_changed.connect(self._refresh_counts)
        view.history_wanted.connect(self._load_transitions)
        view.proxy.rows_updated.connect(self._refresh_counts)
        self.model, self.proxy, self.table, self.detail = view.model, view.proxy, view.table, view.detail
        self.rules_view = RulesView(runtime.rule_problems, self)
        self.history_view = HistoryView(self._search_history, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("alertTabs")
        self.tabs.addTab(view, "Queue")
        self.tabs.addTab(self.rules_view, "Rules")
        self.tabs.addTab(self.history_view, "Resolved / history")
        self.tabs.currentChanged.connect(self._tab_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)

        # ---- notifications: they follow the queue while the pane is hidden too ----
        notes = settings.notifications
        self.notifier = AlertNotifier(
            notes,
            player if player is not None else CommandSoundPlayer(notes.sound_files, runtime.sounds_dir),
            alerts=lambda: self.model.links.problems(self.queue.store),
            clock=clock,
            tray=AlertNotifier.system_tray(self),
            parent=self,
        )
        self.notifier.badge_changed.connect(self.badge_changed)
        if self.notifier.tray is not None:
            self.notifier.tray.messageClicked.connect(self.bring_forward)
            self.notifier.tray.activated.connect(lambda _reason: self.bring_forward())
        self.watch(self.queue.changes, self._notify, batch_ms=None, while_hidden=True)

        self.apply_filter()
        self.tick_timer = self.every(TICK_MS, self.tick, name="alertsTick")
        for poller in runtime.source_pollers().values():
            self.watch(poller, lambda _status: self._update_banner(self.clock()), while_hidden=True)
        self._actions = self._build_actions()
        self._run(self._load_saved_filters(), "load saved filters")
        self.notifier.update_badge()
        self._refresh_counts()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shut_down:
            self.tick()  # what the clock would have shown while the pane was hidden, at once

    # ---- actions for the palette, keys -----------------------------------------------------------

    def actions(self) -> list[QAction]:  # type: ignore[override]
        return list(self._actions)

    def _build_actions(self) -> list[QAction]:
        actions = []
        for text, slot in (
            ("Alerts: focus the filter", self.focus_filter),
            ("Alerts: change grouping", self.cycle_grouping),
            ("Alerts: acknowledge selected or marked (a)", self.acknowledge_selected),
            ("Alerts: resolve selected or marked (r)", self.resolve_selected),
            ("Alerts: silence selected or marked (s)", self.silence_selected),
            ("Alerts: declare an incident from selected or marked (i)", self.declare_incident),
            ("Alerts: mark or unmark the current alert (m)", self.queue_view.toggle_mark),
            ("Alerts: clear marks", self.queue_view.clear_marks),
        ):
            action = QAction(text, self)
            action.triggered.connect(slot)
            actions.append(action)
        return actions

    def _command(self, command: str) -> None:
        """A pane key pressed in the queue (see queue_view.PANE_KEYS)."""
        handlers = {
            "acknowledge": self.acknowledge_selected,
            "resolve": self.resolve_selected,
            "silence": self.silence_selected,
            "filter": self.focus_filter,
            "grouping": self.cycle_grouping,
            "incident": self.declare_incident,
        }
        handlers[command]()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.filter_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Down)
        ):
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return super().eventFilter(watched, event)

    def focus_filter(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def cycle_grouping(self) -> None:
        self.filter_bar.cycle_grouping()

    # ---- triage: the workflow is runtime.triage; the pane picks the targets and shows the outcome ----

    def acknowledge_selected(self) -> None:
        self.triage_keys.acknowledge(self.queue_view.targets())

    def resolve_selected(self) -> None:
        self.triage_keys.resolve(self.queue_view.targets())

    def silence_selected(self) -> None:
        self.triage_keys.silence(self.queue_view.targets())

    def declare_incident(self) -> None:
        """Declare an incident from the marked alerts (or the selected one), or add them to an open one:
        the Incidents pane opens with the draft."""
        targets = self.queue_view.targets()
        if not self.session.me.may_access(INCIDENT_WRITERS):
            self.flash("Declaring an incident needs the analyst or admin role.")
            return
        if not targets:
            self.flash("Select an alert, or mark several with m, then press i to declare an incident.")
            return
        try:
            incidents = self.window().show_pane("Incidents")  # type: ignore[attr-defined]
        except (AttributeError, KeyError):
            self.flash("The Incidents pane is not open in this window.")
            return
        draft = draft_from_alerts(targets, commander=self.session.me.email)
        self.queue_view.clear_marks()
        incidents.run_task(incidents.declare_from(draft), "declare incident")

    def flash(self, text: str) -> None:
        """Say what an action did; the sentence goes after FLASH_MS (a newer one restarts the clock)."""
        self.message.setText(text)
        self._flash_timer.start(FLASH_MS)

    def _run(
        self,
        coro: Coroutine[Any, Any, Any],
        what: str,
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run `coro` as a session task: its result to `on_done`, a failure to `on_error` (default: the
        pane's message). Nothing runs once the pane is shut down or the session's tasks have closed."""
        if self._shut_down:
            coro.close()
            return

        def failed(error: BaseException) -> None:
            if self._shut_down:
                return
            if on_error is not None:
                on_error(error)
            else:
                self.flash(f"{what} failed: {error}")

        def done(result: Any) -> None:
            if on_done is not None and not self._shut_down:
                on_done(result)

        try:
            self.session.tasks.run(coro, on_done=done, on_error=failed, name=f"alerts-{what}")
        except RuntimeError:
            coro.close()
            log.debug("alerts: %s not run (no loop, or the session is closing)", what)

    # ---- filter, saved filters, groups -----------------------------------------------------------

    def show_view(self, view: PaneView) -> None:
        """Wall items: `filter` (the filter language), `alert` (a key to select: the wall holds on it)."""
        super().show_view(view)
        if view.filter and self.filter_bar.edit.text() != view.filter:
            self.filter_bar.edit.setText(view.filter)
            self.apply_filter()
        if view.alert:
            self.tabs.setCurrentIndex(0)
            self.queue_view.select_key(view.alert)

    def apply_filter(self) -> AlertFilter | None:
        """Apply the filter bar (plus the chosen group); returns the filter applied. An unreadable filter
        shows its error and the last good filter stays applied."""
        alert_filter = self.filter_bar.parse()
        return self.queue_view.set_filter(alert_filter) if alert_filter is not None else None

    async def _load_saved_filters(self) -> None:
        self.saved_filters = await self.runtime.history.saved_filters()
        self.filter_bar.set_saved_filters(self.saved_filters)

    def _save_filter_clicked(self, text: str) -> None:
        if not text:
            self.flash("Type a filter first")
            return

        async def ask_and_save() -> None:
            name = await ask_filter_name(self, text)
            if name:
                await self.save_filter(name, text)

        self._run(ask_and_save(), "save filter")

    async def save_filter(self, name: str, text: str) -> None:
        """Save a filter under a name (an unreadable filter raises FilterError and is not saved)."""
        await self.runtime.history.save_filter(name, text, at=self.clock())
        self.saved_filters = await self.runtime.history.saved_filters()
        self.filter_bar.set_saved_filters(self.saved_filters)
        self.flash(f"Saved filter {name!r}")

    def set_group_by(self, field: str) -> None:
        self.queue_view.set_group_by(field)
        self.apply_filter()
        self.queue_view.refresh_groups()

    # ---- updates ---------------------------------------------------------------------------------

    def _refresh_counts(self) -> None:
        self.counts.setText(self.queue_view.counts_text())

    def _load_transitions(self, key: str) -> None:
        self._run(
            self.runtime.transitions_of(key),
            "load history",
            on_done=lambda transitions: self.detail.set_transitions(key, transitions, self.clock()),
        )

    def _search_history(self, text: str, resolved_only: bool) -> None:
        self._run(
            self.runtime.search_history(text, resolved_only=resolved_only),
            "history-search",
            on_done=self.history_view.show_results,
            on_error=lambda error: self.history_view.show_error(str(error)),
        )

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.history_view:
            self.history_view.run_search()
        elif self.tabs.widget(index) is self.rules_view:
            self._refresh_rules()

    def _refresh_rules(self) -> None:
        local = [a for a in self.queue.store if a.source == "local"]
        self.rules_view.update_rules(self.runtime.rules, local, self.runtime.local.latest_at)

    def tick(self) -> None:
        """Once a second while shown, and at each show: ages and countdowns, time-based filters, groups,
        the detail's chart, staleness."""
        now = self.clock()
        self.queue_view.tick(now, self.session.health.metrics.status)
        self._refresh_counts()
        if self.tabs.currentWidget() is self.rules_view:
            self._refresh_rules()
        self._update_banner(now)

    def _update_banner(self, now: float) -> None:
        """Say which sources are failing, and grey their rows: they show the last known picture."""
        problems, stale = self.runtime.failing_sources(now)
        self.banner.set_text(" · ".join(problems) if problems else None)
        self.model.set_stale_sources(stale)

    def bring_forward(self) -> None:
        """A click on the tray message or icon: this pane in front, the most urgent alert selected."""
        window = self.window()
        show_pane = getattr(window, "show_pane", None)
        if callable(show_pane):
            show_pane(self.title)
        window.showNormal()
        window.raise_()
        window.activateWindow()
        self.tabs.setCurrentIndex(0)
        if self.proxy.rowCount():
            self.queue_view.select_row(0)
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _notify(self, change: StoreChange) -> None:
        """The notifier hears a change without the firing of alerts whose problem a linked alert of another
        source already raised (the model, subscribed first, has linked this change's alerts)."""
        alarms = self.model.links.first_alarms(change.transitions)
        self.notifier.on_change(
            change if len(alarms) == len(change.transitions) else replace(change, transitions=alarms)
        )

    def badge_text(self) -> str:
        return str(self.notifier.badge) if self.notifier.badge else ""

    def shutdown(self) -> None:
        if self._shut_down:
            return
        self.queue_view.shutdown()
        self.notifier.shutdown()
        super().shutdown()

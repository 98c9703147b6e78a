"""The Alerts pane: the merged alert queue (Nexus, Alertmanager, Prometheus, local rules), triaged from the
keyboard.

Keys in the queue: j / k move, Enter opens the details, a acknowledges, r resolves, s silences (with a
duration picker), m marks for a bulk action (a / r / s then act on every marked alert), / focuses the
filter, g changes the grouping, Esc in the filter returns to the queue.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.alert_filter import AlertFilter, parse_filter
from nexus_console.domain.alert_grouping import group_alerts
from nexus_console.domain.alerts import Alert, AlertState, Transition
from nexus_console.domain.freshness import SourceState, stale_text
from nexus_console.models.alert_proxy import AlertFilterProxy
from nexus_console.models.alert_table import COLUMNS, SEVERITY_COLOURS, AlertTableModel
from nexus_console.views.alerts.detail import AlertDetail
from nexus_console.views.alerts.filter_bar import FilterBar
from nexus_console.views.alerts.settings import AlertPaneSettings, AlertSettingsError, load_alert_settings
from nexus_console.views.alerts.side_views import HistoryView, RulesView, SilenceDialog
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.notifications import AlertNotifier, CommandSoundPlayer, SoundPlayer
from nexus_console.views.pane import Pane, StaleBanner
from nexus_console.workers.alert_sources import (
    ALERTMANAGER_POLLER,
    PROMETHEUS_POLLER,
    ActionNotSupported,
    AlertRuntime,
    alert_runtime_for,
)
from nexus_console.workers.context import ConsoleContext

log = logging.getLogger(__name__)

TICK_MS = 1000
PANE_STYLE = (
    "QTableView#alertTable { background: #16191e; color: #e6e6e6; gridline-color: #262a30;"
    " selection-background-color: #2f6fb3; font-size: 9pt; }"
    "QTableView#alertTable QHeaderView::section { background: #23272e; color: #c8ccd2; border: 0;"
    " padding: 2px 4px; }"
    "QListWidget#alertGroups { background: #1b1e23; color: #e6e6e6; font-size: 9pt; }"
    "QLabel#filterError { color: #ff6b5e; }"
    "QLabel#alertCounts { color: #9aa0a6; }"
)
COLUMN_WIDTHS = (72, 190, 60, 220, 420, 110, 140)
TIME_FILTER_FIELDS = ("@age", "@ack_age")
HIDE_RESOLVED = "@state!=resolved"
LARGE_QUEUE = 20_000  # above this many shown alerts, group counts refresh every few seconds, not every tick
LARGE_QUEUE_GROUPS_S = 5.0


class AlertsPane(Pane):
    title = "Alerts"
    icon_name = "alerts"

    def __init__(
        self,
        ctx: ConsoleContext,
        parent: QWidget | None = None,
        *,
        runtime: AlertRuntime | None = None,
        settings: AlertPaneSettings | None = None,
        player: SoundPlayer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("alertsPane")
        self.setStyleSheet(PANE_STYLE)
        self.clock = clock
        self.runtime = runtime or alert_runtime_for(ctx)
        self.queue = self.runtime.queue
        settings_problem = None
        if settings is None:
            try:
                settings = load_alert_settings()
            except AlertSettingsError as exc:
                settings_problem = str(exc)
                settings = AlertPaneSettings()
        self.settings = settings
        self.group_by = "service"
        self._group_filter = ""
        self._groups_dirty = True
        self._groups_at = 0.0
        self._shut_down = False
        self._unsubscribers: list[Callable[[], None]] = []
        self.saved_filters: dict[str, str] = {}

        # ---- models ----
        self.model = AlertTableModel(self.queue, clock=clock, parent=self)
        self.proxy = AlertFilterProxy(clock=clock, parent=self)
        self.proxy.setSourceModel(self.model)
        self.proxy.rows_updated.connect(self._on_rows_updated)

        # ---- filter bar ----
        self.filter_bar = FilterBar(self)
        self.filter_bar.text_changed.connect(self._filter_text_changed)
        self.filter_bar.save_requested.connect(self._save_filter_clicked)
        self.filter_bar.group_chosen.connect(self.set_group_by)
        self.filter_bar.edit.installEventFilter(self)
        self.filter_edit = self.filter_bar.edit
        self.filter_error = self.filter_bar.error
        self.saved_combo = self.filter_bar.saved
        self.save_button = self.filter_bar.save_button
        self.counts = self.filter_bar.counts

        self.banner = StaleBanner(self)
        self.message = QLabel("", self)
        self.message.setObjectName("alertMessage")
        self.message.setWordWrap(True)
        if settings_problem:
            self.message.setText(settings_problem)

        # ---- queue ----
        self.groups = QListWidget(self)
        self.groups.setObjectName("alertGroups")
        self.groups.setMinimumWidth(120)
        self.groups.setMaximumWidth(320)
        self.groups.setFont(self.filter_bar.error.font())  # monospace: the counts line up
        self.groups.itemActivated.connect(self._group_activated)
        self.groups.itemClicked.connect(self._group_activated)
        self.table = QTableView(self)
        self.table.setObjectName("alertTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(False)
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(self.proxy.sort_column, self.proxy.sort_order)
        header.sortIndicatorChanged.connect(self.proxy.sort)
        header.setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS[: len(COLUMNS)]):
            self.table.setColumnWidth(column, width)
        self.table.installEventFilter(self)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.detail = AlertDetail(settings.runbook_base, self)

        queue_split = QSplitter(Qt.Orientation.Horizontal, self)
        queue_split.addWidget(self.groups)
        queue_split.addWidget(self.table)
        queue_split.addWidget(self.detail)
        queue_split.setStretchFactor(0, 0)
        queue_split.setStretchFactor(1, 1)
        queue_split.setStretchFactor(2, 0)
        queue_split.setChildrenCollapsible(False)
        self.queue_split = queue_split
        self._sized = False

        self.rules_view = RulesView(self.runtime.rule_problems, self)
        self.history_view = HistoryView(self._search_history, self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("alertTabs")
        self.tabs.addTab(queue_split, "Queue")
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

        # ---- notifications ----
        notes = settings.notifications
        if player is None:
            from nexus_console.services.profiles import cache_dir

            player = CommandSoundPlayer(notes.sound_files, cache_dir() / "sounds")
        self.notifier = AlertNotifier(
            notes,
            player,
            alerts=lambda: self.queue.store,
            clock=clock,
            tray=AlertNotifier.system_tray(self),
            parent=self,
        )
        self.notifier.badge_changed.connect(self.badge_changed)
        if self.notifier.tray is not None:
            self.notifier.tray.messageClicked.connect(self.bring_forward)
            self.notifier.tray.activated.connect(lambda _reason: self.bring_forward())
        self._unsubscribers.append(self.queue.subscribe(self.notifier.on_change))
        self._unsubscribers.append(self.queue.subscribe(lambda _change: self._mark_groups_dirty()))

        self.apply_filter()
        self.tick_timer = QTimer(self)
        self.tick_timer.setObjectName("alertsTick")
        self.tick_timer.setInterval(TICK_MS)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        ctx.hub.status_changed.connect(self._status_changed)
        self._actions = self._build_actions()
        self.runtime.start()
        self._run(self._load_saved_filters(), "load saved filters")
        self.notifier.update_badge()
        self._refresh_counts()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._sized:
            QTimer.singleShot(0, self._size_queue_split)  # once the layout has given the splitter its width

    def _size_queue_split(self) -> None:
        """The queue gets the width; groups and details what they need. Once, at the first real width;
        after that the user's splitter positions stand."""
        width = self.queue_split.width()
        if self._sized or self._shut_down or not self.isVisible() or width < 600:
            return
        self._sized = True
        detail = min(560, int(width * 0.38))
        self.queue_split.setSizes([240, width - 240 - detail, detail])

    # ---- actions for the palette -----------------------------------------------------------------

    def actions(self) -> list[QAction]:  # type: ignore[override]
        return list(self._actions)

    def _build_actions(self) -> list[QAction]:
        actions = []
        for text, slot in (
            ("Alerts: focus the filter", self.focus_filter),
            ("Alerts: change grouping", self.cycle_grouping),
            ("Alerts: acknowledge selected or marked", self.acknowledge_selected),
            ("Alerts: clear marks", self.model.clear_marks),
        ):
            action = QAction(text, self)
            action.triggered.connect(slot)
            actions.append(action)
        return actions

    # ---- the keyboard ----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if watched is self.table:
                return self._table_key(event)
            if watched is self.filter_edit and event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Down):
                self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
                return True
        return super().eventFilter(watched, event)

    def _table_key(self, event: QKeyEvent) -> bool:
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        key, text = event.key(), event.text()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_details()
        elif text == "j":
            self.move_selection(1)
        elif text == "k":
            self.move_selection(-1)
        elif text == "a":
            self.acknowledge_selected()
        elif text == "r":
            self.resolve_selected()
        elif text == "s":
            self.silence_selected()
        elif text == "m":
            self.toggle_mark()
        elif text == "/":
            self.focus_filter()
        elif text == "g":
            self.cycle_grouping()
        else:
            return False
        return True

    def move_selection(self, step: int) -> None:
        rows = self.proxy.rowCount()
        if not rows:
            return
        current = self.table.currentIndex()
        row = current.row() + step if current.isValid() else 0
        self.select_row(max(0, min(rows - 1, row)))

    def select_row(self, row: int) -> None:
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def select_key(self, key: str) -> bool:
        row = self.proxy.row_of_key(key)
        if row is None:
            return False
        self.select_row(row)
        return True

    def current_alert(self) -> Alert | None:
        index = self.table.currentIndex()
        return self.proxy.alert_at(index.row()) if index.isValid() else None

    def targets(self) -> list[Alert]:
        """The marked alerts, else the selected one."""
        marked = self.model.marked_alerts()
        if marked:
            return marked
        current = self.current_alert()
        return [current] if current is not None else []

    def open_details(self) -> None:
        alert = self.current_alert()
        if alert is None:
            return
        self.detail.tabs.setCurrentWidget(self.detail.info)
        self._show_detail(alert)
        self.detail.info.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def toggle_mark(self) -> None:
        alert = self.current_alert()
        if alert is not None:
            self.model.toggle_mark(alert.key)
            self.move_selection(1)
            self._refresh_counts()

    def focus_filter(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def cycle_grouping(self) -> None:
        self.filter_bar.cycle_grouping()

    # ---- triage ----------------------------------------------------------------------------------

    def acknowledge_selected(self) -> None:
        alerts = [a for a in self.targets() if a.state in (AlertState.FIRING, AlertState.PENDING)]
        skipped = len(self.targets()) - len(alerts)
        if not alerts:
            self.flash("Nothing to acknowledge: select or mark firing alerts")
            return

        async def work() -> str:
            failures = []
            for alert in alerts:
                try:
                    await self.runtime.acknowledge(alert)
                    self.runtime.refresh_after_action(alert)
                except Exception as exc:
                    failures.append(f"{alert.name}: {exc}")
            done = len(alerts) - len(failures)
            text = f"Acknowledged {done} alert{'s' if done != 1 else ''} as {self.runtime.owner}"
            if skipped:
                text += f"; {skipped} already handled"
            return text + ("; failed: " + "; ".join(failures) if failures else "")

        self.model.clear_marks()
        self._run(work(), "acknowledge", on_done=self.flash)

    def resolve_selected(self) -> None:
        alerts = [a for a in self.targets() if a.state is not AlertState.RESOLVED]
        if not alerts:
            self.flash("Nothing to resolve")
            return

        async def work() -> str:
            resolved, problems = 0, []
            for alert in alerts:
                try:
                    await self.runtime.resolve(alert)
                    resolved += 1
                except ActionNotSupported as exc:
                    problems.append(str(exc))
                except Exception as exc:
                    problems.append(f"{alert.name}: {exc}")
            text = f"Resolved {resolved} alert{'s' if resolved != 1 else ''}"
            return text + ("; " + "; ".join(dict.fromkeys(problems)) if problems else "")

        self.model.clear_marks()
        self._run(work(), "resolve", on_done=self.flash)

    def silence_selected(self) -> None:
        alerts = [a for a in self.targets() if a.state is not AlertState.RESOLVED]
        if not alerts:
            self.flash("Nothing to silence")
            return

        async def work() -> str:
            dialog = SilenceDialog(len(alerts), self)
            try:
                if await execute_dialog(dialog) != SilenceDialog.DialogCode.Accepted:
                    return "Silence cancelled"
                duration_s, comment = dialog.duration_s(), dialog.comment.text().strip()
                duration_text = dialog.duration.currentText().strip()
            finally:
                dialog.deleteLater()
            failures = []
            for alert in alerts:
                try:
                    await self.runtime.silence(alert, duration_s=duration_s, comment=comment)
                except Exception as exc:
                    failures.append(f"{alert.name}: {exc}")
            done = len(alerts) - len(failures)
            text = f"Silenced {done} alert{'s' if done != 1 else ''} for {duration_text}"
            return text + ("; failed: " + "; ".join(failures) if failures else "")

        self.model.clear_marks()
        self._run(work(), "silence", on_done=self.flash)

    def flash(self, text: str) -> None:
        self.message.setText(text)

    def _run(
        self,
        coro: Coroutine[Any, Any, Any],
        what: str,
        *,
        on_done: Callable[[Any], None] | None = None,
    ) -> None:
        def failed(error: BaseException) -> None:
            if not self._shut_down:
                self.flash(f"{what} failed: {error}")

        def done(result: Any) -> None:
            if on_done is not None and not self._shut_down:
                on_done(result)

        self.ctx.tasks.run(coro, on_done=done, on_error=failed, name=f"alerts-{what}")

    # ---- filter, saved filters, groups -----------------------------------------------------------

    def _filter_text_changed(self, _text: str = "") -> None:
        self.apply_filter()

    def apply_filter(self) -> AlertFilter | None:
        """Apply the filter bar (plus the chosen group). An unreadable filter shows its error and the last
        good filter stays applied."""
        alert_filter = self.filter_bar.parse()
        if alert_filter is None:
            return None
        extra = [self._group_filter] if self._group_filter else []
        if not any(term.field.lower() == "@state" for term in alert_filter.terms):
            extra.append(HIDE_RESOLVED)  # the queue is for what still needs someone; history keeps the rest
        if extra:
            alert_filter = parse_filter(" ".join([alert_filter.text, *extra]))
        self.proxy.set_filter(alert_filter)
        return alert_filter

    async def _load_saved_filters(self) -> None:
        history = self.runtime.history
        self.saved_filters = await history.saved_filters()
        self._fill_saved_combo()

    def _fill_saved_combo(self) -> None:
        self.filter_bar.set_saved_filters(self.saved_filters)

    def _save_filter_clicked(self, text: str) -> None:
        if not text:
            self.flash("Type a filter first")
            return

        async def ask_and_save() -> None:
            dialog = QInputDialog(self)
            dialog.setObjectName("saveFilterDialog")
            dialog.setWindowTitle("Save filter")
            dialog.setLabelText(f"Name for: {text}")
            dialog.setTextValue(text[:40])
            try:
                accepted = await execute_dialog(dialog) == QInputDialog.DialogCode.Accepted
                name = dialog.textValue().strip()
            finally:
                dialog.deleteLater()
            if accepted and name:
                await self.save_filter(name, text)

        self._run(ask_and_save(), "save filter")

    async def save_filter(self, name: str, text: str) -> None:
        """Save a filter under a name (an unreadable filter raises FilterError and is not saved)."""
        await self.runtime.history.save_filter(name, text, at=self.clock())
        self.saved_filters = await self.runtime.history.saved_filters()
        self._fill_saved_combo()
        self.flash(f"Saved filter {name!r}")

    def set_group_by(self, field: str) -> None:
        self.group_by = field
        self._group_filter = ""
        self.apply_filter()
        self._groups_dirty = True
        self.refresh_groups()

    def _mark_groups_dirty(self) -> None:
        self._groups_dirty = True

    def refresh_groups(self) -> None:
        """The group list: one entry per value of the grouping field, with counts, most urgent first."""
        self._groups_dirty = False
        self._groups_at = self.clock()
        groups = group_alerts(self.proxy.visible_alerts(), self.group_by)
        self.groups.clear()
        all_item = QListWidgetItem(f"{self.proxy.rowCount():>5}  all (by {self.group_by})")
        all_item.setData(Qt.ItemDataRole.UserRole, None)
        self.groups.addItem(all_item)
        for group in groups[:500]:
            label = f"{group.count:>5}  {group.value}"
            if group.unhandled:
                label += f"  ({group.unhandled} firing)"
            item_tip = f"{group.value}: {group.count} alerts, {group.unhandled} firing unhandled"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, group.value)
            item.setToolTip(item_tip)
            item.setForeground(QBrush(QColor(SEVERITY_COLOURS[group.worst])))
            self.groups.addItem(item)

    def group_counts(self) -> dict[str, int]:
        """{group value: count} as the group list shows it."""
        return {
            group.value: group.count for group in group_alerts(self.proxy.visible_alerts(), self.group_by)
        }

    def _group_activated(self, item: QListWidgetItem) -> None:
        value = item.data(Qt.ItemDataRole.UserRole)
        if value is None:
            self._group_filter = ""
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            self._group_filter = "" if value == "(none)" else f'{self.group_by}="{escaped}"'
        self.apply_filter()

    # ---- updates ---------------------------------------------------------------------------------

    def _on_rows_updated(self) -> None:
        self._groups_dirty = True
        self._refresh_counts()
        current, shown = self.current_alert(), self.detail.alert
        if current is not None and current is not shown:
            # A new state is a new transition: read the history again.
            self._show_detail(current, load_history=shown is None or shown.state is not current.state)

    def _refresh_counts(self) -> None:
        total, shown = len(self.queue.store), self.proxy.rowCount()
        text = f"{shown:,} shown" if shown == total else f"{shown:,} of {total:,} shown"
        if self.model.marked:
            text += f" · {len(self.model.marked)} marked"
        self.counts.setText(text)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        alert = self.proxy.alert_at(current.row()) if current.isValid() else None
        self._show_detail(alert)

    def _show_detail(self, alert: Alert | None, *, load_history: bool = True) -> None:
        previous = self.detail.alert
        self.detail.show_alert(alert, self.clock())
        if alert is not None and (load_history or previous is None or previous.key != alert.key):
            self._run(self._load_transitions(alert.key), "load history")

    async def _load_transitions(self, key: str) -> None:
        await self.queue.flush_history()
        transitions = await self.runtime.history.transitions_of(key)
        if not self._shut_down:
            self.detail.set_transitions(key, transitions, self.clock())

    def _search_history(self, text: str, resolved_only: bool) -> None:
        async def work() -> list[Transition]:
            await self.queue.flush_history()
            states = [AlertState.RESOLVED] if resolved_only else []
            return await self.runtime.history.search(text, states=states, limit=500)

        self.ctx.tasks.run(
            work(),
            on_done=lambda found: None if self._shut_down else self.history_view.show_results(found),
            on_error=lambda error: None if self._shut_down else self.history_view.show_error(str(error)),
            name="alerts-history-search",
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
        """Once a second: ages and countdowns, time-based filters, groups, the chart, staleness."""
        now = self.clock()
        self.model.refresh_ages()
        alert_filter = self.proxy.alert_filter
        if alert_filter is not None and any(
            t.field.lower() in TIME_FILTER_FIELDS for t in alert_filter.terms
        ):
            self.proxy.refilter()
        large = self.proxy.rowCount() > LARGE_QUEUE
        if self._groups_dirty and (not large or now - self._groups_at >= LARGE_QUEUE_GROUPS_S):
            self.refresh_groups()
        self._refresh_counts()
        if self.detail.alert is not None:
            current = self.queue.store.get(self.detail.alert.key)
            if current is not None:
                self.detail.refresh(current, now)
        metrics = self.ctx.hub.status("metrics")
        history = None
        metrics_stale = None
        if metrics is not None and metrics.last_good is not None:
            history = getattr(metrics.last_good.value, "history", None)
            metrics_stale = stale_text(metrics, now)
        self.detail.redraw_chart(history, now, metrics_stale)
        if self.tabs.currentWidget() is self.rules_view:
            self._refresh_rules()
        self._update_banner(now)

    def _status_changed(self, name: str, _status: object) -> None:
        if name in (ALERTMANAGER_POLLER, PROMETHEUS_POLLER):
            self._update_banner(self.clock())

    def _update_banner(self, now: float) -> None:
        """Say which sources are failing, and grey their rows: they show the last known picture."""
        problems, stale = [], set()
        nexus = self.runtime.nexus
        if nexus.last_error and nexus.mode.value != "streaming":
            problems.append(f"Nexus alerts: {nexus.mode.value} — {nexus.last_error}")
            stale.add(nexus.name)
        for name, source in ((ALERTMANAGER_POLLER, "alertmanager"), (PROMETHEUS_POLLER, "prometheus")):
            status = self.ctx.hub.status(name)
            if status is not None and status.state is SourceState.ERROR:
                problems.append(f"{name}: {stale_text(status, now) or status.error}")
                stale.add(source)
        self.banner.set_text(" · ".join(problems) if problems else None)
        self.model.set_stale_sources(frozenset(stale))

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
            self.select_row(0)
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def badge_text(self) -> str:
        return str(self.notifier.badge) if self.notifier.badge else ""

    def shutdown(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        self.tick_timer.stop()
        self.model.shutdown()
        self.notifier.shutdown()
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()
        with contextlib.suppress(RuntimeError, TypeError):
            self.ctx.hub.status_changed.disconnect(self._status_changed)

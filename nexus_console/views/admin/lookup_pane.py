"""The Admin pane: search users, vendors and products on the replicas, see one in detail, and queue
actions on it (or on the marked rows, after a dry run). Writes go through the outbox and the API only.

The pane asks and shows; the admin workflow (session.admin.workflow) does the rest: lookups through the
entity descriptors, the permission rule, step-up, re-checks and queueing. The results table with its
paging is `ResultsView`, the actions are `ActionBar`. The admin runtime's feeds keep the pane current: the
outbox's changes (badges), the sender's answers (rows waiting for the replica) and the rows that caught up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin import ActionSpec, EntityType
from nexus_console.domain.admin_flow import ADMIN_ROLES, CaughtUp
from nexus_console.domain.lookups import ProductQueue
from nexus_console.domain.replica_reads import ReplicaResult
from nexus_console.views.admin.action_bar import ActionBar
from nexus_console.views.admin.detail import render_detail
from nexus_console.views.admin.results_view import PAGE_SIZE, ResultsView
from nexus_console.views.pane import Pane
from nexus_console.workers.session import ConsoleSession

log = logging.getLogger(__name__)

TICK_MS = 1000
BADGES_BATCH_MS = 100  # the outbox's changes within this window: one badge refresh
STATUSES = {
    EntityType.USER: ("active", "suspended", "banned", "merged"),
    EntityType.VENDOR: ("pending", "approved", "rejected", "suspended", "banned"),
    EntityType.PRODUCT: ("pending", "approved", "rejected", "removed"),
    EntityType.CONTENT: ("published", "hidden", "removed"),
    EntityType.SUBJECT_LINK: ("pending", "verified", "rejected", "removed"),
}
ENTITY_LABELS = {
    EntityType.USER: "Users",
    EntityType.VENDOR: "Vendors",
    EntityType.PRODUCT: "Products",
    EntityType.CONTENT: "Content",
    EntityType.SUBJECT_LINK: "Subject links",
}
# the review queues an entity type has (the queue combo), besides "all"
QUEUES = {
    EntityType.PRODUCT: (
        ("All products", None),
        ("Flagged queue", ProductQueue.FLAGGED),
        ("Pending queue", ProductQueue.PENDING),
    ),
    EntityType.CONTENT: (("All content", None), ("Flagged queue", ProductQueue.FLAGGED)),
}
SEARCH_HINTS = {
    EntityType.USER: "id, email prefix or name",
    EntityType.VENDOR: "id, name or email",
    EntityType.PRODUCT: "id or title",
    EntityType.CONTENT: "id or title",
    EntityType.SUBJECT_LINK: "id or subject",
}
PANE_STYLE = (
    "QLabel#lagLabel { color: #9aa0a6; } QLabel#adminError { color: #ff6b5e; }"
    " QLabel#countLabel { color: #9aa0a6; }"
)


class AdminPane(Pane):
    title = "Admin"
    icon_name = "admin"
    required_roles = ADMIN_ROLES

    def __init__(
        self,
        session: ConsoleSession,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(session, parent)
        self.setObjectName("adminPane")
        self.setStyleSheet(PANE_STYLE)
        self.clock = clock
        runtime = session.admin
        assert runtime is not None, "the admin panes need an admin or moderator session"
        self.runtime = runtime
        self.workflow = runtime.workflow
        self.detail_stamp: ReplicaResult[Any] | None = None
        self.detail_id: str | None = None
        self._shut_down = False

        # ---- search bar ----
        self.entity_combo = QComboBox(self)
        for entity_type, label in ENTITY_LABELS.items():
            self.entity_combo.addItem(label, entity_type)
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("adminSearch")
        self.status_combo = QComboBox(self)
        self.queue_combo = QComboBox(self)
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        bar = QHBoxLayout()
        bar.addWidget(self.entity_combo)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.status_combo)
        bar.addWidget(self.queue_combo)
        bar.addWidget(self.search_button)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("adminError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        # ---- results, detail and actions ----
        self.results = ResultsView(self.workflow, run_task=self.run_task, clock=clock, parent=self)
        self.model = self.results.model
        self.table = self.results.table
        self.count_label = self.results.count_label
        self.lag_label = self.results.lag_label
        self.stale_banner = self.results.stale_banner
        self.detail = QTextBrowser(self)
        self.detail.setObjectName("adminDetail")
        self.detail.setOpenLinks(False)
        self.action_bar = ActionBar(
            self.workflow,
            self.results,
            email=session.me.email,
            run_task=self.run_task,
            show_error=self.show_task_error,
            clear_error=self._clear_error,
            parent=self,
        )
        self.action_buttons = self.action_bar.buttons
        self.bulk_combo = self.action_bar.bulk_combo
        self.bulk_button = self.action_bar.bulk_button
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.action_bar)
        right_layout.addWidget(self.detail, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.results)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([900, 560])  # the results table gets the larger share

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.error_label)
        layout.addWidget(splitter, 1)

        # ---- wiring ----
        self.entity_combo.currentIndexChanged.connect(self._entity_changed)
        self.search_edit.returnPressed.connect(self.start_search)
        self.search_button.clicked.connect(self.start_search)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.every(TICK_MS, self.results.update_lag_label, name="adminPaneTick")
        self.watch(runtime.changes, lambda _revision: self._refresh_badges_soon(), batch_ms=BADGES_BATCH_MS)
        self.watch(runtime.results, self.results.on_results, batch_ms=None)
        self.watch(runtime.caught_up, self._on_caught_up, batch_ms=None)
        self._entity_changed()

    # ---- plumbing ----------------------------------------------------------------------------------

    @property
    def entity_type(self) -> EntityType:
        return EntityType(self.entity_combo.currentData())

    @property
    def active_dialog(self) -> QDialog | None:
        return self.action_bar.active_dialog

    @property
    def last_stamp(self) -> ReplicaResult[Any] | None:
        return self.results.last_stamp

    def may_write(self, entity_type: EntityType | None = None) -> bool:
        return self.workflow.may_write(entity_type or self.entity_type)

    def show_task_error(self, error: BaseException) -> None:
        text = str(error) or type(error).__name__
        log.warning("admin pane: %s", text)
        if not self._shut_down:
            self.error_label.setText(text)
            self.error_label.show()

    def _clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def selected_id(self) -> str | None:
        return self.results.selected_id()

    def select_id(self, entity_id: str) -> None:
        self.results.select_id(entity_id)

    def actions(self) -> list[QAction]:  # type: ignore[override]
        search = QAction("Admin: search", self)
        search.setObjectName("adminSearchAction")
        search.triggered.connect(lambda: self.search_edit.setFocus())
        return [search]

    def shutdown(self) -> None:
        self._shut_down = True
        self.results.closed = True
        self.action_bar.reject_dialog()
        super().shutdown()

    # ---- search ------------------------------------------------------------------------------------

    def _entity_changed(self) -> None:
        entity_type = self.entity_type
        self.status_combo.clear()
        self.status_combo.addItem("Any status", None)
        for status in STATUSES[entity_type]:
            self.status_combo.addItem(status, status)
        self.queue_combo.clear()
        for label, queue in QUEUES.get(entity_type, ()):
            self.queue_combo.addItem(label, queue)
        self.queue_combo.setVisible(entity_type in QUEUES)
        self.search_edit.setPlaceholderText(
            f"Search {ENTITY_LABELS[entity_type].lower()}: {SEARCH_HINTS[entity_type]}"
        )
        self.action_bar.rebuild(entity_type)
        self.results.clear(entity_type)
        self.detail.clear()
        self.detail_id = None

    def start_search(self) -> asyncio.Task[Any] | None:
        self._clear_error()
        return self.run_task(self.results.reading(self.search()), "admin-search")

    async def search(self) -> None:
        """Run the current search on the replica: first page, estimated count, lag stamp."""
        generation = self.results.begin_search()
        result = await self.workflow.search(
            self.entity_type,
            self.search_edit.text(),
            self.status_combo.currentData(),
            self.queue_combo.currentData(),
            limit=PAGE_SIZE,
        )
        if not self.results.is_current(generation):
            return  # a newer search has started
        self.results.show_search(result)
        self.detail.clear()
        self.detail_id = None
        await self.results.refresh_badges()

    # ---- detail ------------------------------------------------------------------------------------

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        entity_id = self.selected_id()
        self.action_bar.update_enabled()
        if entity_id is not None:
            self.run_task(self.load_detail(self.model.entity_type, entity_id), "admin-detail")

    async def load_detail(self, entity_type: EntityType, entity_id: str) -> None:
        loaded = await self.workflow.detail(entity_type, entity_id)
        if self._shut_down or self.selected_id() != entity_id:
            return
        self.detail_id = entity_id
        self.detail_stamp = loaded.stamp
        self.detail.setHtml(render_detail(loaded, self.clock()))
        if loaded.stamp.value is not None:
            self.model.put_rows({entity_id: loaded.stamp.value})
        self.action_bar.update_enabled()

    # ---- actions -----------------------------------------------------------------------------------

    def start_action(self, spec: ActionSpec) -> asyncio.Task[Any] | None:
        return self.action_bar.start_action(spec)

    async def act(self, spec: ActionSpec) -> bool:
        return await self.action_bar.act(spec)

    async def bulk(self, action: str) -> int:
        return await self.action_bar.bulk(action)

    # ---- what the admin runtime publishes ----------------------------------------------------------

    def _refresh_badges_soon(self) -> None:
        self.run_task(self.results.refresh_badges(), "admin-badges")

    def _on_caught_up(self, caught: CaughtUp) -> None:
        """Rows the replica caught up with: refreshed; the detail too when it shows one of them."""
        entity_type = self.model.entity_type
        refreshed = self.results.on_caught_up(caught)
        selected = self.selected_id()
        if selected is not None and selected in refreshed:
            self.run_task(self.load_detail(entity_type, selected), "admin-detail")

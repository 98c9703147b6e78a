"""The Admin pane's results: the lazy table of one search (ids + a bounded row cache), its paging and cache
misses, the estimated count and the replica-lag stamp, the stale look when the replica cannot be read, and
what the console knows beyond the replica (queued actions, rows waiting for the replica to catch up)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin import EntityType
from nexus_console.domain.admin_flow import CaughtUp, SearchResult
from nexus_console.domain.outbox_model import SendOutcome, SendResult
from nexus_console.domain.replica_reads import ReplicaResult, RowFreshness
from nexus_console.models.admin_table import EntityTableModel
from nexus_console.views.admin.detail import stamp_text
from nexus_console.views.pane import StaleBanner, apply_stale_look
from nexus_console.views.table_view import row_table

log = logging.getLogger(__name__)

PAGE_SIZE = 100
COLUMN_WIDTHS = {
    "id": 64,
    "email": 230,
    "name": 150,
    "title": 230,
    "status": 80,
    "email_verified": 60,
    "last_active_at": 125,
    "version": 36,
    "commission_pct": 95,
    "warnings": 70,
    "vendor_id": 60,
    "flagged": 60,
    "flag_reason": 120,
}
RunTask = Callable[[Coroutine[Any, Any, Any], str], Any]


class ResultsView(QWidget):
    """Shows what `show_search` is given and loads more pages and evicted rows through the workflow."""

    def __init__(
        self,
        workflow: Any,  # services.admin_workflow.AdminWorkflow, reached through session.admin
        *,
        run_task: RunTask,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.workflow = workflow
        self._run_task = run_task
        self.clock = clock
        self.last_stamp: ReplicaResult[Any] | None = None
        self.generation = 0  # bumped by every search: answers for an older one are dropped
        self.closed = False
        self._search: Any = None
        self._next_after: tuple[Any, ...] | None = None
        self._stale_since: float | None = None

        self.count_label = QLabel("", self)
        self.count_label.setObjectName("countLabel")
        self.lag_label = QLabel("", self)
        self.lag_label.setObjectName("lagLabel")
        self.lag_label.setWordWrap(
            True
        )  # the replica's lag and failover, long: it wraps, never widens the pane
        self.stale_banner = StaleBanner(self)
        self.model = EntityTableModel(parent=self)
        self.table = row_table(self.model, "adminTable", self)
        self.table.setAlternatingRowColors(True)
        self.table.installEventFilter(self)

        info = QHBoxLayout()
        info.addWidget(self.count_label)
        info.addWidget(self.lag_label, 1)
        self.lag_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(info)
        layout.addWidget(self.stale_banner)
        layout.addWidget(self.table, 1)

        self.model.modelReset.connect(self._apply_column_widths)
        self.model.rows_wanted.connect(self._load_rows)
        self.model.more_wanted.connect(self._load_more)

    # ---- selection and marks -----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """In the results: m or Space marks or unmarks the current row for a bulk action."""
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_M, Qt.Key.Key_Space)
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            entity_id = self.selected_id()
            if entity_id is not None:
                self.model.set_marked(entity_id, entity_id not in self.model.marked_ids())
                return True
        return super().eventFilter(watched, event)

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.id_at(rows[0].row()) if rows else None

    def select_id(self, entity_id: str) -> None:
        row = self.model.row_of(entity_id)
        if row is not None:
            self.table.selectRow(row)

    def _apply_column_widths(self) -> None:
        for column, (key, _title) in enumerate(self.model.columns):
            self.table.setColumnWidth(column, COLUMN_WIDTHS.get(key, 100))

    # ---- searches and pages ------------------------------------------------------------------------

    def clear(self, entity_type: EntityType) -> None:
        self.model.reset(entity_type, [], has_more=False)
        self.count_label.clear()

    def begin_search(self) -> int:
        self.generation += 1
        return self.generation

    def is_current(self, generation: int) -> bool:
        return generation == self.generation and not self.closed

    def show_search(self, result: SearchResult) -> None:
        """A new search's first page, count and stamp."""
        page = result.page.value
        self._search = result.search
        self._next_after = page.next_after
        self.model.reset(result.entity_type, page.rows, has_more=page.next_after is not None)
        self.last_stamp = result.page
        self.count_label.setText(f"{result.count.value.describe()} matching {result.entity_type.value}s")
        self.update_lag_label()
        self._observe_freshness(page.rows)

    async def reading(self, lookup: Coroutine[Any, Any, None]) -> None:
        """Run a replica read; when it fails, keep what is shown, grey it, and say since when and why."""
        try:
            await lookup
        except (RuntimeError, TimeoutError, OSError) as exc:
            if self.closed:
                return
            if self._stale_since is None:
                self._stale_since = self.clock()
            since = time.strftime("%H:%M:%S", time.localtime(self._stale_since))
            self.stale_banner.set_text(f"stale since {since} — {exc}")
            apply_stale_look(self.table, True)
            return
        if self._stale_since is not None and not self.closed:
            self._stale_since = None
            self.stale_banner.set_text(None)
            apply_stale_look(self.table, False)

    def _load_more(self) -> None:
        self._run_task(self.reading(self._next_page(self.generation)), "admin-next-page")

    async def _next_page(self, generation: int) -> None:
        if self._next_after is None:
            return
        entity_type = self.model.entity_type
        page = await self.workflow.next_page(entity_type, self._search, self._next_after, limit=PAGE_SIZE)
        if not self.is_current(generation):
            return
        self._next_after = page.value.next_after
        self.last_stamp = page
        self.model.append(page.value.rows, has_more=page.value.next_after is not None)
        self._observe_freshness(page.value.rows)
        self.update_lag_label()
        await self.refresh_badges()

    def _load_rows(self, ids: list[str]) -> None:
        coro = self._fetch_rows(self.model.entity_type, ids, self.generation)
        self._run_task(self.reading(coro), "admin-rows")

    async def _fetch_rows(self, entity_type: EntityType, ids: list[str], generation: int) -> None:
        found = await self.workflow.rows(entity_type, ids)
        if self.is_current(generation):
            self.model.put_rows({entity_id: found.value.get(entity_id) for entity_id in ids})
            self.last_stamp = found
            self.update_lag_label()

    def update_lag_label(self) -> None:
        if self.last_stamp is not None:
            self.lag_label.setText(stamp_text(self.last_stamp, self.clock()))

    # ---- beyond the replica: queued actions and read-your-writes -----------------------------------

    def _observe_freshness(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for entity_id, freshness in self.workflow.freshness(self.model.entity_type, rows).items():
            self.model.set_freshness(entity_id, freshness)

    async def refresh_badges(self) -> None:
        entity_type, ids = self.model.entity_type, self.model.ids()
        latest = await self.workflow.badges(entity_type, ids)
        if not self.closed and entity_type is self.model.entity_type and ids:
            self.model.set_badges(latest)

    def on_results(self, results: list[SendResult]) -> None:
        """Writes the API applied to shown rows: they wait for the replica (the runtime's watcher follows)."""
        for result in results:
            entity = result.entity
            if (
                result.outcome is SendOutcome.APPLIED
                and entity is not None
                and entity.type is self.model.entity_type
                and self.model.row_of(entity.id) is not None
            ):
                self.model.set_freshness(entity.id, RowFreshness.WAITING_FOR_REPLICA)

    def on_caught_up(self, caught: CaughtUp) -> list[str]:
        """Shown rows the replica now has at the applied version: refreshed and current. Returns their ids."""
        entity_type = self.model.entity_type
        shown = {
            entity.id: row
            for entity, row in caught.rows.items()
            if entity.type is entity_type and self.model.row_of(entity.id) is not None
        }
        self.model.put_rows(shown)
        for entity_id in shown:
            self.model.set_freshness(entity_id, RowFreshness.CURRENT)
        return list(shown)

"""The Admin pane: search users, vendors and products on the replicas, see one in detail, and queue
actions on it (or on the marked rows, after a dry run). Writes go through the outbox and the API only.

RBAC: admins act on everything; moderators read users and vendors and act on products only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any

from PySide6.QtCore import QEvent, QItemSelection, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.admin import (
    ActionError,
    ActionRequest,
    ActionSpec,
    EntityRef,
    EntityType,
    ReplicaResult,
    RowFreshness,
    actions_for,
)
from nexus_console.domain.lookups import ProductQueue, ProductSearch, UserSearch, VendorSearch
from nexus_console.domain.outbox_model import OutboxState, SendOutcome, SendResult
from nexus_console.models.admin_table import EntityTableModel
from nexus_console.views.admin.detail import render_product, render_user, render_vendor, stamp_text
from nexus_console.views.admin.dialogs import DryRunDialog, StepUpDialog, action_dialog
from nexus_console.views.async_dialog import execute_dialog
from nexus_console.views.pane import Pane, StaleBanner, apply_stale_look
from nexus_console.workers.admin_sources import AdminRuntime, admin_runtime_for
from nexus_console.workers.context import ConsoleContext

log = logging.getLogger(__name__)

PAGE_SIZE = 100
TICK_MS = 1000
CATCH_UP_POLL_S = 0.25
STEP_UP_TRIES = 3
STATUSES = {
    EntityType.USER: ("active", "suspended", "banned"),
    EntityType.VENDOR: ("pending", "approved", "rejected", "suspended", "banned"),
    EntityType.PRODUCT: ("pending", "approved", "rejected", "removed"),
}
ENTITY_LABELS = {EntityType.USER: "Users", EntityType.VENDOR: "Vendors", EntityType.PRODUCT: "Products"}
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
PANE_STYLE = (
    "QLabel#lagLabel { color: #9aa0a6; } QLabel#adminError { color: #ff6b5e; }"
    " QLabel#countLabel { color: #9aa0a6; }"
)


def may_write(roles: frozenset[str], entity_type: EntityType) -> bool:
    """Admins act on every entity; moderators only on products."""
    return "admin" in roles or ("moderator" in roles and entity_type is EntityType.PRODUCT)


class AdminPane(Pane):
    title = "Admin"
    icon_name = "admin"
    required_roles = frozenset({"admin", "moderator"})

    def __init__(
        self,
        ctx: ConsoleContext,
        parent: QWidget | None = None,
        *,
        runtime: AdminRuntime | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("adminPane")
        self.setStyleSheet(PANE_STYLE)
        self.clock = clock
        self.runtime = runtime or admin_runtime_for(ctx)
        self.active_dialog: QDialog | None = None
        self.last_stamp: ReplicaResult[Any] | None = None
        self.detail_stamp: ReplicaResult[Any] | None = None
        self.detail_id: str | None = None
        self._search_generation = 0
        self._next_after: tuple[Any, ...] | None = None
        self._current_search: Any = None
        self._watching = False
        self._shut_down = False

        # ---- search bar ----
        self.entity_combo = QComboBox(self)
        for entity_type, label in ENTITY_LABELS.items():
            self.entity_combo.addItem(label, entity_type)
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("adminSearch")
        self.search_edit.setPlaceholderText(
            "id, email prefix or name (users); id or name (vendors, products)"
        )
        self.status_combo = QComboBox(self)
        self.queue_combo = QComboBox(self)
        self.queue_combo.addItem("All products", None)
        self.queue_combo.addItem("Flagged queue", ProductQueue.FLAGGED)
        self.queue_combo.addItem("Pending queue", ProductQueue.PENDING)
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        bar = QHBoxLayout()
        bar.addWidget(self.entity_combo)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.status_combo)
        bar.addWidget(self.queue_combo)
        bar.addWidget(self.search_button)

        self.lag_label = QLabel("", self)
        self.lag_label.setObjectName("lagLabel")
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("countLabel")
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("adminError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.stale_banner = StaleBanner(self)
        self._stale_since: float | None = None
        info = QHBoxLayout()
        info.addWidget(self.count_label)
        info.addStretch(1)
        info.addWidget(self.lag_label)

        # ---- results ----
        self.model = EntityTableModel(parent=self)
        self.table = QTableView(self)
        self.table.setObjectName("adminTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setAlternatingRowColors(True)
        self.table.installEventFilter(self)

        # ---- detail and actions ----
        self.detail = QTextBrowser(self)
        self.detail.setObjectName("adminDetail")
        self.detail.setOpenLinks(False)
        self.action_bar = QHBoxLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        self.bulk_combo = QComboBox(self)
        self.bulk_button = QPushButton("Bulk on marked…", self)
        self.bulk_button.setObjectName("bulkButton")
        actions_box = QWidget(self)
        actions_layout = QVBoxLayout(actions_box)
        actions_layout.setContentsMargins(0, 0, 0, 0)
        actions_layout.addLayout(self.action_bar)
        bulk_row = QHBoxLayout()
        bulk_row.addWidget(QLabel("Marked rows:", self))
        bulk_row.addWidget(self.bulk_combo, 1)
        bulk_row.addWidget(self.bulk_button)
        actions_layout.addLayout(bulk_row)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(actions_box)
        right_layout.addWidget(self.detail, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([900, 560])  # the results table gets the larger share

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(info)
        layout.addWidget(self.error_label)
        layout.addWidget(self.stale_banner)
        layout.addWidget(splitter, 1)

        # ---- wiring ----
        self.entity_combo.currentIndexChanged.connect(self._entity_changed)
        self.search_edit.returnPressed.connect(self.start_search)
        self.search_button.clicked.connect(self.start_search)
        self.bulk_button.clicked.connect(self._bulk_clicked)
        self.model.modelReset.connect(self._apply_column_widths)
        self.model.rows_wanted.connect(self._load_rows)
        self.model.more_wanted.connect(self._load_more)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.runtime.results_arrived.connect(self._on_results)
        self.runtime.outbox_changed.connect(self._refresh_badges_soon)
        self.timer = QTimer(self)
        self.timer.setObjectName("adminPaneTick")
        self.timer.timeout.connect(self._tick)
        self.timer.start(TICK_MS)
        self._entity_changed()

    # ---- helpers -----------------------------------------------------------------------------------

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

    @property
    def entity_type(self) -> EntityType:
        return EntityType(self.entity_combo.currentData())

    def may_write(self, entity_type: EntityType | None = None) -> bool:
        return may_write(self.ctx.me.roles, entity_type or self.entity_type)

    def show_task_error(self, error: BaseException) -> None:
        text = str(error) or type(error).__name__
        log.warning("admin pane: %s", text)
        if not self._shut_down:
            self.error_label.setText(text)
            self.error_label.show()

    def _clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    async def _ready(self) -> None:
        await self.runtime.ready.wait()
        if self.runtime.lookups is None or self.runtime.actions is None:
            raise RuntimeError(self.runtime.problem or "the admin services are not running")

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.id_at(rows[0].row()) if rows else None

    def select_id(self, entity_id: str) -> None:
        row = self.model.row_of(entity_id)
        if row is not None:
            self.table.selectRow(row)

    def actions(self) -> list[QAction]:  # type: ignore[override]
        search = QAction("Admin: search", self)
        search.setObjectName("adminSearchAction")
        search.triggered.connect(lambda: self.search_edit.setFocus())
        return [search]

    def shutdown(self) -> None:
        self._shut_down = True
        self.timer.stop()
        try:
            self.runtime.results_arrived.disconnect(self._on_results)
            self.runtime.outbox_changed.disconnect(self._refresh_badges_soon)
        except (RuntimeError, TypeError):
            pass
        if self.active_dialog is not None:
            self.active_dialog.reject()

    # ---- search ------------------------------------------------------------------------------------

    def _entity_changed(self) -> None:
        entity_type = self.entity_type
        self.status_combo.clear()
        self.status_combo.addItem("Any status", None)
        for status in STATUSES[entity_type]:
            self.status_combo.addItem(status, status)
        self.queue_combo.setVisible(entity_type is EntityType.PRODUCT)
        self._build_action_buttons()
        self.model.reset(entity_type, [], has_more=False)
        self.detail.clear()
        self.detail_id = None
        self.count_label.clear()

    def _apply_column_widths(self) -> None:
        for column, (key, _title) in enumerate(self.model.columns):
            self.table.setColumnWidth(column, COLUMN_WIDTHS.get(key, 100))

    def _build_action_buttons(self) -> None:
        for button in self.action_buttons.values():
            self.action_bar.removeWidget(button)
            button.deleteLater()
        self.action_buttons.clear()
        self.bulk_combo.clear()
        writable = self.may_write()
        for spec in actions_for(self.entity_type) if writable else []:
            button = QPushButton(spec.label, self)
            button.setObjectName(f"action_{spec.name}")
            button.setEnabled(False)
            button.clicked.connect(lambda _checked=False, s=spec: self.start_action(s))
            self.action_bar.addWidget(button)
            self.action_buttons[spec.name] = button
            if spec.name != "set_commission":
                self.bulk_combo.addItem(spec.label, spec.name)
        self.bulk_combo.setEnabled(writable)
        self.bulk_button.setEnabled(writable)
        if not writable:
            note = QPushButton("read only for your role", self)
            note.setObjectName("readOnlyNote")
            note.setEnabled(False)
            note.setFlat(True)
            self.action_bar.addWidget(note)
            self.action_buttons["_read_only"] = note

    def build_search(self) -> Any:
        text = self.search_edit.text()
        status = self.status_combo.currentData()
        if self.entity_type is EntityType.USER:
            return UserSearch(text, status)
        if self.entity_type is EntityType.VENDOR:
            return VendorSearch(text, status)
        return ProductSearch(text, self.queue_combo.currentData(), status)

    def start_search(self) -> asyncio.Task[Any] | None:
        self._clear_error()
        return self.run_task(self._reading(self.search()), "admin-search")

    async def _reading(self, lookup: Coroutine[Any, Any, None]) -> None:
        """Run a replica read; when it fails, keep what is shown, grey it, and say since when and why."""
        try:
            await lookup
        except (RuntimeError, TimeoutError, OSError) as exc:
            if self._shut_down:
                return
            if self._stale_since is None:
                self._stale_since = self.clock()
            since = time.strftime("%H:%M:%S", time.localtime(self._stale_since))
            self.stale_banner.set_text(f"stale since {since} — {exc}")
            apply_stale_look(self.table, True)
            return
        if self._stale_since is not None and not self._shut_down:
            self._stale_since = None
            self.stale_banner.set_text(None)
            apply_stale_look(self.table, False)

    async def search(self) -> None:
        """Run the current search on the replica: first page, estimated count, lag stamp."""
        await self._ready()
        self._search_generation += 1
        generation = self._search_generation
        entity_type = self.entity_type
        search = self.build_search()
        lookups = self.runtime.lookups
        assert lookups is not None
        if entity_type is EntityType.USER:
            page, count = (
                await lookups.search_users(search, limit=PAGE_SIZE),
                await lookups.count_users(search),
            )
        elif entity_type is EntityType.VENDOR:
            page, count = (
                await lookups.search_vendors(search, limit=PAGE_SIZE),
                await lookups.count_vendors(search),
            )
        else:
            page, count = (
                await lookups.search_products(search, limit=PAGE_SIZE),
                await lookups.count_products(search),
            )
        if generation != self._search_generation or self._shut_down:
            return  # a newer search has started
        self._current_search = search
        self._next_after = page.value.next_after
        self.model.reset(entity_type, page.value.rows, has_more=page.value.next_after is not None)
        self.last_stamp = page
        self.count_label.setText(f"{count.value.describe()} matching {entity_type.value}s")
        self._update_lag_label()
        self.detail.clear()
        self.detail_id = None
        self._observe_catch_up(page.value.rows)
        await self.refresh_badges()

    def _observe_catch_up(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows read from a replica that has not replayed a write this console applied: "waiting"."""
        actions = self.runtime.actions
        if actions is None:
            return
        waiting = False
        for row in rows:
            entity = EntityRef(self.model.entity_type, str(row["id"]))
            freshness = actions.catch_up.observe(entity, row.get("version"))
            self.model.set_freshness(entity.id, freshness)
            waiting |= freshness is RowFreshness.WAITING_FOR_REPLICA
        if waiting and not self._watching:
            self._watching = True
            self.run_task(self._watch_replica(), "admin-read-your-writes")

    def _load_more(self) -> None:
        self.run_task(self._reading(self._next_page(self._search_generation)), "admin-next-page")

    async def _next_page(self, generation: int) -> None:
        lookups = self.runtime.lookups
        if lookups is None or self._next_after is None:
            return
        search, entity_type = self._current_search, self.model.entity_type
        if entity_type is EntityType.USER:
            page = await lookups.search_users(search, after=self._next_after, limit=PAGE_SIZE)
        elif entity_type is EntityType.VENDOR:
            page = await lookups.search_vendors(search, after=self._next_after, limit=PAGE_SIZE)
        else:
            page = await lookups.search_products(search, after=self._next_after, limit=PAGE_SIZE)
        if generation != self._search_generation or self._shut_down:
            return
        self._next_after = page.value.next_after
        self.last_stamp = page
        self.model.append(page.value.rows, has_more=page.value.next_after is not None)
        self._observe_catch_up(page.value.rows)
        self._update_lag_label()
        await self.refresh_badges()

    def _load_rows(self, ids: list[str]) -> None:
        self.run_task(
            self._reading(self._fetch_rows(self.model.entity_type, ids, self._search_generation)),
            "admin-rows",
        )

    async def _fetch_rows(self, entity_type: EntityType, ids: list[str], generation: int) -> None:
        lookups = self.runtime.lookups
        if lookups is None:
            return
        found = await lookups.rows_by_id(entity_type, ids)
        if generation == self._search_generation and not self._shut_down:
            self.model.put_rows({entity_id: found.value.get(entity_id) for entity_id in ids})
            self.last_stamp = found
            self._update_lag_label()

    def _update_lag_label(self) -> None:
        if self.last_stamp is not None:
            self.lag_label.setText(stamp_text(self.last_stamp, self.clock()))

    def _tick(self) -> None:
        self._update_lag_label()

    # ---- detail ------------------------------------------------------------------------------------

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        entity_id = self.selected_id()
        self._update_action_buttons()
        if entity_id is not None:
            self.run_task(self.load_detail(self.model.entity_type, entity_id), "admin-detail")

    async def load_detail(self, entity_type: EntityType, entity_id: str) -> None:
        lookups = self.runtime.lookups
        if lookups is None:
            return
        now = self.clock()
        if entity_type is EntityType.USER:
            user = await lookups.user_detail(int(entity_id))
            html, stamp = render_user(user, now), user.profile
        elif entity_type is EntityType.VENDOR:
            vendor = await lookups.vendor_detail(int(entity_id))
            html, stamp = render_vendor(vendor, now), vendor.profile
        else:
            product = await lookups.product_detail(int(entity_id))
            html, stamp = render_product(product, now), product.product
        if self._shut_down or self.selected_id() != entity_id:
            return
        self.detail_id = entity_id
        self.detail_stamp = stamp
        self.detail.setHtml(html)
        if stamp.value is not None:
            self.model.put_rows({entity_id: stamp.value})
        self._update_action_buttons()

    def _update_action_buttons(self) -> None:
        entity_id = self.selected_id()
        row = None if entity_id is None else self.model.cached_row(entity_id)
        for name, button in self.action_buttons.items():
            if name.startswith("_"):
                continue
            spec = next(s for s in actions_for(self.model.entity_type) if s.name == name)
            button.setEnabled(row is not None and spec.applies_to(row))

    # ---- actions -----------------------------------------------------------------------------------

    def start_action(self, spec: ActionSpec) -> asyncio.Task[Any] | None:
        self._clear_error()
        return self.run_task(self.act(spec), f"admin-{spec.name}")

    async def _dialog(self, dialog: QDialog) -> bool:
        self.active_dialog = dialog
        try:
            return await execute_dialog(dialog) == QDialog.DialogCode.Accepted
        finally:
            self.active_dialog = None
            dialog.deleteLater()

    async def act(self, spec: ActionSpec) -> bool:
        """Ask for the reason (and confirmation), step up for a ban, queue the action. True when queued."""
        entity_type = self.model.entity_type
        if not may_write(self.ctx.me.roles, entity_type):
            raise ActionError(f"your role may not change {entity_type.value}s")
        entity_id = self.selected_id()
        if entity_id is None:
            return False
        row = self.model.cached_row(entity_id) or {}
        subject = f"{entity_type.value} {entity_id}"
        if row.get("email") or row.get("name") or row.get("title"):
            subject += f" ({row.get('email') or row.get('name') or row.get('title')})"
        dialog = action_dialog(spec, subject, commission=row.get("commission_pct") or 0.0, parent=self)
        if not await self._dialog(dialog):
            return False
        reason, commission = dialog.reason_text(), dialog.commission_value()
        if spec.name == "ban" and not await self.step_up(f"{spec.label} of {subject}"):
            return False
        params = {"commission_pct": commission} if spec.name == "set_commission" else {}
        await self._ready()
        assert self.runtime.actions is not None
        version = await self._version_to_send(spec, entity_type, entity_id, row)
        request = ActionRequest(EntityRef(entity_type, entity_id), spec.name, reason, params, version)
        await self.runtime.actions.queue(request)
        self.runtime.notify_outbox_changed()
        return True

    async def _version_to_send(
        self, spec: ActionSpec, entity_type: EntityType, entity_id: str, row: Mapping[str, Any]
    ) -> int | None:
        """The If-Match version for a new action, after re-checking the entity's current state.

        Behind an open queued action of the same entity: None (the outbox hands on the version that one
        produces). Otherwise the replica's current row, re-read now: an action that no longer applies
        is refused here rather than at the server. When the replica cannot be read (working offline),
        the version the admin saw; the API's If-Match still guards the write.
        """
        assert self.runtime.outbox is not None and self.runtime.lookups is not None
        latest = (await self.runtime.outbox.latest_for(entity_type.value, [entity_id])).get(entity_id)
        if latest is not None and latest.state not in (OutboxState.APPLIED, OutboxState.CANCELLED):
            return None
        try:
            current = (await self.runtime.lookups.rows_by_id(entity_type, [entity_id])).value.get(entity_id)
        except Exception as exc:  # replica unreachable: queue on what the admin saw
            log.warning(
                "could not re-check %s %s before %s: %s", entity_type.value, entity_id, spec.name, exc
            )
            current = dict(row) if row else None
        if current is None:
            raise ActionError(f"{entity_type.value} {entity_id} no longer exists")
        self.model.put_rows({entity_id: current})
        if not spec.applies_to(current):
            raise ActionError(
                f"{spec.label} no longer applies to {entity_type.value} {entity_id}: "
                f"it is {current.get('status')} now"
            )
        version = current.get("version")
        return int(version) if version is not None else None

    async def step_up(self, what: str) -> bool:
        """Re-authenticate with the password; three tries."""
        error = None
        for _ in range(STEP_UP_TRIES):
            dialog = StepUpDialog(self.ctx.me.email, what, error=error, parent=self)
            self.active_dialog = dialog
            try:
                accepted = await execute_dialog(dialog) == QDialog.DialogCode.Accepted
                password = dialog.take_password()
            finally:
                self.active_dialog = None
                dialog.deleteLater()
            if not accepted:
                return False
            if await self.runtime.verify_password(password):
                return True
            error = "Wrong password."
        self.show_task_error("step-up re-authentication failed")
        return False

    def _bulk_clicked(self) -> None:
        self._clear_error()
        name = self.bulk_combo.currentData()
        if name:
            self.run_task(self.bulk(str(name)), "admin-bulk")

    async def bulk(self, action: str) -> int:
        """Reason and confirmation, a dry run on the replica, step-up, then queue; returns how many queued."""
        entity_type = self.model.entity_type
        if not may_write(self.ctx.me.roles, entity_type):
            raise ActionError(f"your role may not change {entity_type.value}s")
        ids = self.model.marked_ids()
        if not ids:
            raise ActionError("mark rows first (the check box in the first column)")
        spec = next(s for s in actions_for(entity_type) if s.name == action)
        subject = f"{len(ids)} marked {entity_type.value}{'s' if len(ids) != 1 else ''}"
        dialog = action_dialog(spec, subject, parent=self)
        if not await self._dialog(dialog):
            return 0
        await self._ready()
        assert self.runtime.actions is not None
        summary = await self.runtime.actions.dry_run(entity_type, ids, action, dialog.reason_text())
        if not await self._dialog(DryRunDialog(summary, parent=self)):
            return 0
        if not await self.step_up(f"Bulk {spec.label.lower()} of {subject}"):
            return 0
        entries = await self.runtime.actions.queue_bulk(summary)
        self.runtime.notify_outbox_changed()
        return len(entries)

    # ---- the outbox and read-your-writes -----------------------------------------------------------

    def _refresh_badges_soon(self) -> None:
        self.run_task(self.refresh_badges(), "admin-badges")

    async def refresh_badges(self) -> None:
        outbox = self.runtime.outbox
        ids = self.model.ids()
        if outbox is None or not ids:
            return
        latest = await outbox.latest_for(self.model.entity_type.value, ids)
        if not self._shut_down:
            self.model.set_badges(latest)

    def _on_results(self, results: list[SendResult]) -> None:
        applied = [
            r.entity
            for r in results
            if r.outcome is SendOutcome.APPLIED
            and r.entity is not None
            and r.entity.type is self.model.entity_type
        ]
        shown = [entity for entity in applied if self.model.row_of(entity.id) is not None]
        for entity in shown:
            self.model.set_freshness(entity.id, RowFreshness.WAITING_FOR_REPLICA)
        if shown and not self._watching:
            self._watching = True
            self.run_task(self._watch_replica(), "admin-read-your-writes")

    async def _watch_replica(self) -> None:
        """Re-read rows that wait for the replica until it shows the applied version; then refresh them."""
        try:
            actions = self.runtime.actions
            while actions is not None and not self._shut_down:
                entity_type = self.model.entity_type
                waiting = [
                    entity_id
                    for entity_id in self.model.ids()
                    if actions.catch_up.label(EntityRef(entity_type, entity_id)) is not None
                ]
                if not waiting:
                    return
                fresh = await actions.refresh_rows(entity_type, waiting)
                if self._shut_down or entity_type is not self.model.entity_type:
                    continue
                for entity_id, (row, freshness) in fresh.items():
                    if freshness is RowFreshness.CURRENT and row is not None:
                        self.model.put_rows({entity_id: row})
                        if entity_id == self.selected_id():
                            self.run_task(self.load_detail(entity_type, entity_id), "admin-detail")
                    self.model.set_freshness(entity_id, freshness)
                await asyncio.sleep(CATCH_UP_POLL_S)
        finally:
            self._watching = False

"""The lookup results table: ids plus a bounded row cache, as in Anki's browser.

The model owns the ordered list of ids a search returned; rows live in an LRU cache. A row that has
been evicted (or never loaded) shows "…" and is asked for once, in a batch, through `rows_wanted`;
the pane loads those ids from the replica and hands them back with `put_rows`. More pages come through
`canFetchMore` / `fetchMore` (`more_wanted`), so a million matches never become a million rows in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush

from nexus_console.domain.admin import EntityType
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from nexus_console.domain.replica_reads import RowFreshness
from nexus_console.models.row_tints import PROBLEM_TINT, QUEUED_TINT, WAITING_TINT
from nexus_console.models.table_base import TableModel
from nexus_console.workers.bridge import Coalescer

Row = dict[str, Any]
Index = QModelIndex | QPersistentModelIndex

COLUMNS: dict[EntityType, tuple[tuple[str, str], ...]] = {
    EntityType.USER: (
        ("id", "ID"),
        ("email", "Email"),
        ("name", "Name"),
        ("status", "Status"),
        ("email_verified", "Verified"),
        ("last_active_at", "Last active"),
        ("version", "Ver"),
    ),
    EntityType.VENDOR: (
        ("id", "ID"),
        ("name", "Name"),
        ("email", "Email"),
        ("status", "Status"),
        ("commission_pct", "Commission %"),
        ("warnings", "Warnings"),
        ("version", "Ver"),
    ),
    EntityType.PRODUCT: (
        ("id", "ID"),
        ("title", "Title"),
        ("vendor_id", "Vendor"),
        ("status", "Status"),
        ("flagged", "Flagged"),
        ("flag_reason", "Flag reason"),
        ("version", "Ver"),
    ),
    EntityType.CONTENT: (
        ("id", "ID"),
        ("title", "Title"),
        ("genre", "Genre"),
        ("status", "Status"),
        ("flagged", "Flagged"),
        ("flag_reason", "Flag reason"),
        ("version", "Ver"),
    ),
    EntityType.SUBJECT_LINK: (
        ("id", "ID"),
        ("subject", "Subject"),
        ("product_id", "Product"),
        ("content_id", "Content"),
        ("status", "Status"),
        ("created_at", "Linked"),
        ("version", "Ver"),
    ),
}
CONSOLE_COLUMN_TITLE = "Console"
LOADING_TEXT = "…"
WAITING_TEXT = "applied — waiting for replica"

WAITING_COLOUR = WAITING_TINT
PROBLEM_COLOUR = PROBLEM_TINT
QUEUED_COLOUR = QUEUED_TINT


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def badge_text(freshness: RowFreshness | None, entry: OutboxEntry | None) -> str:
    """What the console knows about a row beyond the replica: a queued action or a pending write."""
    if entry is not None and entry.state not in (OutboxState.APPLIED, OutboxState.CANCELLED):
        return f"{entry.action}: {entry.state.value}"
    if freshness is RowFreshness.WAITING_FOR_REPLICA:
        return WAITING_TEXT
    return ""


class EntityTableModel(TableModel):
    rows_wanted = Signal(object)  # list[str]: ids shown but not in the cache
    more_wanted = Signal()  # the view scrolled to the end and the search has more pages

    def __init__(
        self, entity_type: EntityType = EntityType.USER, *, cache_size: int = 2000, parent: Any = None
    ):
        super().__init__(parent)
        self._set_entity_type(entity_type)
        self.cache_size = max(1, cache_size)
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._cache: OrderedDict[str, Row] = OrderedDict()
        self._freshness: dict[str, RowFreshness] = {}
        self._badges: dict[str, OutboxEntry] = {}
        self._marked: set[str] = set()
        self._wanted: set[str] = set()
        self._asked: set[str] = set()  # asked for and not answered yet: not asked again
        self._flush = Coalescer(self._flush_wanted, 0, self)  # the misses of one paint: one batch
        self._has_more = False
        self._fetching = False

    # --- filling -------------------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        return COLUMNS[self.entity_type]

    def _set_entity_type(self, entity_type: EntityType) -> None:
        self.entity_type = entity_type
        self.headers = (*(title for _key, title in COLUMNS[entity_type]), CONSOLE_COLUMN_TITLE)

    def reset(self, entity_type: EntityType, rows: Iterable[Row], *, has_more: bool) -> None:
        """A new search: its first page."""
        with self.resetting():
            self._set_entity_type(entity_type)
            self._ids, self._row_of = [], {}
            self._cache.clear()
            self._freshness.clear()
            self._badges.clear()
            self._marked.clear()
            self._wanted.clear()
            self._asked.clear()
            self._add(rows)
            self._has_more = has_more
            self._fetching = False

    def append(self, rows: Iterable[Row], *, has_more: bool) -> None:
        """The next page of the current search."""
        new = [row for row in rows if str(row["id"]) not in self._row_of]
        self._fetching = False
        self._has_more = has_more
        if not new:
            return
        with self.inserting(len(self._ids), len(new)):
            self._add(new)

    def _add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            entity_id = str(row["id"])
            self._row_of[entity_id] = len(self._ids)
            self._ids.append(entity_id)
            self._store(entity_id, row)

    def _store(self, entity_id: str, row: Row) -> None:
        self._cache[entity_id] = row
        self._cache.move_to_end(entity_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def put_rows(self, rows: Mapping[str, Row | None]) -> None:
        """Rows loaded for `rows_wanted` (or refreshed after a write); None: the entity is gone."""
        for entity_id, row in rows.items():
            self._asked.discard(entity_id)
            if row is not None:
                self._store(entity_id, row)
            self._changed(entity_id)

    def set_freshness(self, entity_id: str, freshness: RowFreshness) -> None:
        if self._freshness.get(entity_id) is freshness:
            return
        if freshness is RowFreshness.CURRENT:
            self._freshness.pop(entity_id, None)
        else:
            self._freshness[entity_id] = freshness
        self._changed(entity_id)

    def set_badges(self, entries: Mapping[str, OutboxEntry]) -> None:
        """The outbox's latest entry per shown id (see AsyncOutbox.latest_for)."""
        changed = set(self._badges) | set(entries)
        self._badges = dict(entries)
        for entity_id in changed:
            self._changed(entity_id)

    def evict(self, ids: Iterable[str]) -> None:
        """Drop rows from the cache (they are reloaded when shown)."""
        for entity_id in ids:
            self._cache.pop(entity_id, None)
            self._changed(entity_id)

    def _changed(self, entity_id: str) -> None:
        row = self._row_of.get(entity_id)
        if row is not None:
            self.announce_span(row, row)

    # --- reading -------------------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return list(self._ids)

    def id_at(self, row: int) -> str:
        return self._ids[row]

    def row_of(self, entity_id: str) -> int | None:
        return self._row_of.get(entity_id)

    def cached_row(self, entity_id: str) -> Row | None:
        return self._cache.get(entity_id)

    def cached_count(self) -> int:
        return len(self._cache)

    def freshness(self, entity_id: str) -> RowFreshness:
        return self._freshness.get(entity_id, RowFreshness.CURRENT)

    def badge(self, entity_id: str) -> str:
        return badge_text(self._freshness.get(entity_id), self._badges.get(entity_id))

    def marked_ids(self) -> list[str]:
        return [entity_id for entity_id in self._ids if entity_id in self._marked]

    def set_marked(self, entity_id: str, marked: bool) -> None:
        if marked:
            self._marked.add(entity_id)
        else:
            self._marked.discard(entity_id)
        self._changed(entity_id)

    @property
    def has_more(self) -> bool:
        return self._has_more

    # --- Qt ------------------------------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self._ids)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        entity_id = self._ids[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if entity_id in self._marked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.UserRole:
            return entity_id
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(entity_id)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if column == len(self.columns):
            return self.badge(entity_id)
        if column > len(self.columns):
            return None
        row = self._cache.get(entity_id)
        if row is None:
            self._want(entity_id)
            return entity_id if column == 0 else LOADING_TEXT
        self._cache.move_to_end(entity_id)
        return cell_text(row.get(self.columns[column][0]))

    def _background(self, entity_id: str) -> QBrush | None:
        entry = self._badges.get(entity_id)
        if entry is not None and entry.state in (OutboxState.CONFLICT, OutboxState.FAILED):
            return QBrush(PROBLEM_COLOUR)
        if entry is not None and entry.state in (OutboxState.QUEUED, OutboxState.SENDING):
            return QBrush(QUEUED_COLOUR)
        if self._freshness.get(entity_id) is RowFreshness.WAITING_FOR_REPLICA:
            return QBrush(WAITING_COLOUR)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != 0 or role != Qt.ItemDataRole.CheckStateRole:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
        self.set_marked(self._ids[index.row()], checked)
        return True

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._has_more and not self._fetching

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._fetching = True
            self.more_wanted.emit()

    # --- batching cache misses -----------------------------------------------------------------------

    def _want(self, entity_id: str) -> None:
        if entity_id in self._asked:
            return
        self._wanted.add(entity_id)
        self._flush.request()

    def _flush_wanted(self) -> None:
        wanted = [entity_id for entity_id in self._ids if entity_id in self._wanted]
        self._wanted.clear()
        if wanted:
            self._asked.update(wanted)
            self.rows_wanted.emit(wanted)

"""The base of every table model: fixed columns, and changes announced in batches (row spans with explicit
roles, removed ranges highest first, one insert per run), never a reset but for a new result set.

`TableModel` is for models that keep their own row storage (the alert queue mirror, the health matrix, the
lazy admin results); `ListTableModel` adds a plain list of items with in-place replacement, for the small
tables (records, audit entries, queued actions).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

E = TypeVar("E")
Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()


def row_spans(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted rows as inclusive (first, last) runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    spans: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if spans and row == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    return spans


class TableModel(QAbstractTableModel):
    """Columns by title; subclasses give `row_count()` and `data()`."""

    headers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: QObject | None = None, *, headers: Sequence[str] | None = None) -> None:
        super().__init__(parent)
        if headers is not None:
            self.headers = tuple(headers)  # type: ignore[misc]

    def row_count(self) -> int:
        raise NotImplementedError

    # ---- Qt's table interface ---------------------------------------------------------------------

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.headers):
            return self.headers[section]
        return None

    # ---- announcing changes -----------------------------------------------------------------------

    def announce_rows(
        self,
        rows: Iterable[int],
        *,
        first_column: int = 0,
        last_column: int | None = None,
        roles: Sequence[int] = (),
    ) -> None:
        """One dataChanged per run of consecutive rows (all roles when `roles` is empty)."""
        last = len(self.headers) - 1 if last_column is None else last_column
        for start, end in row_spans(rows):
            self.dataChanged.emit(self.index(start, first_column), self.index(end, last), list(roles))

    def announce_span(
        self,
        first_row: int,
        last_row: int,
        *,
        first_column: int = 0,
        last_column: int | None = None,
        roles: Sequence[int] = (),
    ) -> None:
        """One dataChanged over rows first_row..last_row (nothing when the span is empty)."""
        if last_row >= first_row >= 0:
            last = len(self.headers) - 1 if last_column is None else last_column
            self.dataChanged.emit(
                self.index(first_row, first_column), self.index(last_row, last), list(roles)
            )

    def announce_all(
        self, *, first_column: int = 0, last_column: int | None = None, roles: Sequence[int] = ()
    ) -> None:
        self.announce_span(
            0, self.row_count() - 1, first_column=first_column, last_column=last_column, roles=roles
        )

    @contextmanager
    def inserting(self, first: int, count: int) -> Iterator[None]:
        """Wrap the storage change that inserts `count` rows at `first`."""
        if count <= 0:
            yield
            return
        self.beginInsertRows(ROOT, first, first + count - 1)
        try:
            yield
        finally:
            self.endInsertRows()

    @contextmanager
    def removing(self, first: int, last: int) -> Iterator[None]:
        """Wrap the storage change that removes rows first..last (remove ranges highest first)."""
        self.beginRemoveRows(ROOT, first, last)
        try:
            yield
        finally:
            self.endRemoveRows()

    @contextmanager
    def resetting(self) -> Iterator[None]:
        """A new result set (another search, another service list): views drop selection and scroll."""
        self.beginResetModel()
        try:
            yield
        finally:
            self.endResetModel()


class ListTableModel(TableModel, Generic[E]):
    """A table over a list of items."""

    def __init__(self, parent: QObject | None = None, *, headers: Sequence[str] | None = None) -> None:
        super().__init__(parent, headers=headers)
        self._items: list[E] = []

    def row_count(self) -> int:
        return len(self._items)

    def items(self) -> list[E]:
        return list(self._items)

    def item_at(self, row: int) -> E:
        return self._items[row]

    def replace_items(
        self, items: Sequence[E], *, changed_all: bool = False, key: Callable[[E], Hashable] | None = None
    ) -> None:
        """Make the list `items`, in place: the rows past the new length are removed, the kept rows that
        differ get one dataChanged (every kept row when `changed_all`), the rows past the old length are
        inserted. With `key`, a list whose keys differ position by position is a new result set (a reset)."""
        old, new = len(self._items), len(items)
        kept = min(old, new)
        if key is not None and [key(i) for i in self._items[:kept]] != [key(i) for i in items[:kept]]:
            with self.resetting():
                self._items = list(items)
            return
        if new < old:
            with self.removing(new, old - 1):
                del self._items[new:]
        changed = (
            range(kept) if changed_all else [row for row in range(kept) if self._items[row] != items[row]]
        )
        self._items[:kept] = list(items[:kept])
        self.announce_span(min(changed, default=0), max(changed, default=-1))
        with self.inserting(old, new - old):
            self._items.extend(items[old:])

    def append_items(self, items: Sequence[E]) -> None:
        with self.inserting(len(self._items), len(items)):
            self._items.extend(items)

    def reset_items(self, items: Sequence[E]) -> None:
        with self.resetting():
            self._items = list(items)

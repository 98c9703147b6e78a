"""A flat table of entries with fixed columns: the audit and action-queue models."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from nexus_console.models.table_base import Index, ListTableModel

E = TypeVar("E")
__all__ = ["EntryTableModel", "Index"]


class EntryTableModel(ListTableModel[E]):
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, headers=self.columns)

    def entries(self) -> list[E]:
        return self.items()

    def entry_at(self, row: int) -> E:
        return self.item_at(row)

"""The table-model base: every change announced as ranges with the right signals, never a reset unless the
result set itself changed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from nexus_console.models.table_base import ListTableModel, row_spans


class Letters(ListTableModel[str]):
    headers = ("letter", "upper")

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        letter = self.item_at(index.row())
        return letter if index.column() == 0 else letter.upper()


class Recorder:
    def __init__(self, model: Letters) -> None:
        self.events: list[tuple[str, int, int]] = []
        model.rowsInserted.connect(lambda _p, first, last: self.events.append(("inserted", first, last)))
        model.rowsRemoved.connect(lambda _p, first, last: self.events.append(("removed", first, last)))
        model.dataChanged.connect(
            lambda top, bottom, _roles: self.events.append(("changed", top.row(), bottom.row()))
        )
        model.modelReset.connect(lambda: self.events.append(("reset", 0, 0)))


def test_row_spans_join_consecutive_rows() -> None:
    assert row_spans([7, 1, 2, 3, 3]) == [(1, 3), (7, 7)]
    assert row_spans([]) == []


def test_replacing_items_announces_the_changed_rows_and_the_difference_in_length(qtmodeltester: Any) -> None:
    model = Letters()
    qtmodeltester.check(model)
    events = Recorder(model).events
    model.replace_items(["a", "b", "c"])
    assert events == [("inserted", 0, 2)]
    events.clear()
    model.replace_items(["a", "x", "c", "d"])
    assert events == [("changed", 1, 1), ("inserted", 3, 3)]
    events.clear()
    model.replace_items(["a"])
    assert events == [("removed", 1, 3)]
    assert model.items() == ["a"] and model.rowCount() == 1 and model.columnCount() == 2
    assert model.rowCount(model.index(0, 0)) == 0, "a table has no children"
    assert model.headerData(1, Qt.Orientation.Horizontal) == "upper"
    qtmodeltester.check(model)


def test_a_list_with_other_keys_is_a_new_result_set(qtmodeltester: Any) -> None:
    model = Letters()
    model.replace_items(["a", "b"], key=str)
    events = Recorder(model).events
    model.replace_items(["a", "b"], key=str, changed_all=True)
    assert events == [("changed", 0, 1)], "same keys: selection survives"
    events.clear()
    model.replace_items(["b", "a"], key=str)
    assert events == [("reset", 0, 0)]
    qtmodeltester.check(model)


def test_appending_inserts_one_range_and_nothing_for_nothing() -> None:
    model = Letters()
    events = Recorder(model).events
    model.append_items([])
    model.append_items(["p", "q"])
    assert events == [("inserted", 0, 1)]
    assert model.index(1, 1).data() == "Q"
    assert model.rowCount(QModelIndex()) == 2

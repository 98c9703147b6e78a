"""One way to make a table view: rows selected whole, no row numbers, a fixed row height, and the dark
compact style of the wall panes when asked for."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget


def compact_table_style(font_pt: int) -> str:
    return (
        "QTableView { background: #1b1e23; color: #e6e6e6; gridline-color: #2c3036;"
        f" font-size: {font_pt}pt; }}"
        "QHeaderView::section { background: #23272e; color: #c8ccd2; border: 0; padding: 1px 4px;"
        f" font-size: {font_pt}pt; }}"
    )


def row_table(
    model: QAbstractItemModel,
    name: str,
    parent: QWidget | None = None,
    *,
    row_height: int = 22,
    compact: bool = False,
    font_pt: int = 8,
    resize_mode: QHeaderView.ResizeMode = QHeaderView.ResizeMode.Interactive,
    stretch_column: int | None = None,
) -> QTableView:
    """A table that selects one whole row; the last column (or `stretch_column`) takes the spare width.
    `compact`: the dark wall style at `font_pt`."""
    table = QTableView(parent)
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    vertical = table.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(row_height)
    header = table.horizontalHeader()
    header.setSectionResizeMode(resize_mode)
    if stretch_column is None:
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    if compact:
        table.setStyleSheet(compact_table_style(font_pt))
    return table

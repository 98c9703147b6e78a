"""The post-mortem of one incident, edited in the app: owner, summary, impact, root cause, what went well
and badly, and the action items (owner, due date, done). The timeline section is filled from the curated
events when the document is exported. Ctrl+S saves; the export buttons ask where to write."""

from __future__ import annotations

import dataclasses
from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.postmortem import ActionItem, PostMortem

TEXT_FIELDS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_cause", "Root cause"),
    ("went_well", "What went well"),
    ("went_badly", "What went badly"),
)
ITEM_COLUMNS = ("Done", "Action", "Owner", "Due (YYYY-MM-DD)")


class PostmortemEditor(QWidget):
    save_requested = Signal()
    export_requested = Signal(str)  # "md" | "pdf"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("postmortemEditor")
        self._document: PostMortem | None = None
        self.owner = QLineEdit(self)
        self.owner.setObjectName("postmortemOwner")
        self.owner.setPlaceholderText("who writes it (one owner)")
        self.texts: dict[str, QPlainTextEdit] = {}
        form = QFormLayout()
        form.addRow("Owner", self.owner)
        for name, label in TEXT_FIELDS:
            edit = QPlainTextEdit(self)
            edit.setObjectName(f"postmortem_{name}")
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(56)
            self.texts[name] = edit
            form.addRow(label, edit)
        self.items = QTableWidget(0, len(ITEM_COLUMNS), self)
        self.items.setObjectName("actionItems")
        self.items.setHorizontalHeaderLabels(ITEM_COLUMNS)
        self.items.verticalHeader().setVisible(False)
        self.items.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.items.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 48), (2, 190), (3, 150)):
            self.items.setColumnWidth(column, width)
        self.items.setMinimumHeight(110)
        add, remove = QPushButton("Add action item", self), QPushButton("Remove", self)
        add.clicked.connect(lambda: self.add_item(ActionItem("", None, None, False)))
        remove.clicked.connect(self._remove_selected)
        item_buttons = QHBoxLayout()
        item_buttons.addWidget(add)
        item_buttons.addWidget(remove)
        item_buttons.addStretch(1)
        form.addRow("Action items", self.items)
        form.addRow("", _layout_widget(item_buttons, self))

        body = QWidget(self)
        body.setLayout(form)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)

        self.status = QLabel("", self)
        self.status.setObjectName("postmortemStatus")
        self.status.setWordWrap(True)
        self.save_button = QPushButton("Save  (Ctrl+S)", self)
        self.save_button.setObjectName("postmortemSave")
        self.md_button = QPushButton("Export Markdown…", self)
        self.pdf_button = QPushButton("Export PDF…", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for button in (self.save_button, self.md_button, self.pdf_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.save_button.clicked.connect(self.save_requested)
        self.md_button.clicked.connect(lambda: self.export_requested.emit("md"))
        self.pdf_button.clicked.connect(lambda: self.export_requested.emit("pdf"))
        QShortcut(QKeySequence.StandardKey.Save, self, self.save_requested.emit)
        self.setEnabled(False)

    def set_document(self, document: PostMortem) -> None:
        self._document = document
        self.owner.setText(document.owner or "")
        for name, edit in self.texts.items():
            edit.setPlainText(getattr(document, name))
        self.items.setRowCount(0)
        for item in document.action_items:
            self.add_item(item)
        saved = f"version {document.version}" if document.version else "not saved yet"
        self.status.setText(f"Post-mortem {saved}.")
        self.setEnabled(True)

    def document(self) -> PostMortem:
        """The document as edited (the version is the one it was loaded at: the save sends it as If-Match)."""
        assert self._document is not None
        items = []
        for row in range(self.items.rowCount()):
            text = self._cell(row, 1)
            if not text:
                continue
            due_text = self._cell(row, 3)
            done = self.items.item(row, 0)
            items.append(
                ActionItem(
                    text,
                    self._cell(row, 2) or None,
                    _parse_date(due_text),
                    done is not None and done.checkState() == Qt.CheckState.Checked,
                )
            )
        values = {name: edit.toPlainText().strip() for name, edit in self.texts.items()}
        return dataclasses.replace(
            self._document, **values, owner=self.owner.text().strip() or None, action_items=tuple(items)
        )

    def add_item(self, item: ActionItem) -> None:
        row = self.items.rowCount()
        self.items.insertRow(row)
        done = QTableWidgetItem()
        done.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
        done.setCheckState(Qt.CheckState.Checked if item.done else Qt.CheckState.Unchecked)
        self.items.setItem(row, 0, done)
        self.items.setItem(row, 1, QTableWidgetItem(item.text))
        self.items.setItem(row, 2, QTableWidgetItem(item.owner or ""))
        self.items.setItem(row, 3, QTableWidgetItem(item.due.isoformat() if item.due else ""))

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def _cell(self, row: int, column: int) -> str:
        item = self.items.item(row, column)
        return item.text().strip() if item is not None else ""

    def _remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.items.selectedIndexes()}, reverse=True)
        for row in rows:
            self.items.removeRow(row)


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ValueError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


def _layout_widget(layout: QHBoxLayout, parent: QWidget) -> QWidget:
    widget = QWidget(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget

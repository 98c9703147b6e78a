"""The Alerts pane's filter bar: the filter line (with its error pointing at the offending token), saved
filters, the grouping choice and the counts."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.alert_filter import AlertFilter, FilterError, parse_filter
from nexus_console.domain.alert_grouping import GROUP_FIELDS
from nexus_console.views.async_dialog import execute_dialog

PLACEHOLDER = "filter:  severity>=high  service=~order  @state=firing  @age>10m  @ack=olive  free text   (/)"
SAVED_PROMPT = "saved filters…"
INVALID_STYLE = "QLineEdit { border: 1px solid #d0453b; }"


class FilterBar(QWidget):
    text_changed = Signal(str)
    save_requested = Signal(str)  # the filter text to save under a name
    group_chosen = Signal(str)  # one of GROUP_FIELDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("alertFilter")
        self.edit.setPlaceholderText(PLACEHOLDER)
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self.text_changed)
        self.error = QLabel("", self)
        self.error.setObjectName("filterError")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.error.setFont(mono)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        self.saved = QComboBox(self)
        self.saved.setObjectName("savedFilters")
        self.saved.setMinimumWidth(160)
        self.saved.addItem(SAVED_PROMPT)
        self.saved.activated.connect(self._saved_chosen)
        self.save_button = QPushButton("Save filter", self)
        self.save_button.setObjectName("saveFilter")
        self.save_button.clicked.connect(lambda: self.save_requested.emit(self.edit.text().strip()))
        self.grouping = QComboBox(self)
        self.grouping.setObjectName("groupBy")
        self.grouping.addItems([f"group: {name}" for name in GROUP_FIELDS])
        self.grouping.currentIndexChanged.connect(lambda index: self.group_chosen.emit(GROUP_FIELDS[index]))
        self.counts = QLabel("", self)
        self.counts.setObjectName("alertCounts")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.saved)
        row.addWidget(self.save_button)
        row.addWidget(self.grouping)
        row.addWidget(self.counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.error)

    def parse(self) -> AlertFilter | None:
        """The typed filter; None (and the error shown under it, caret under the token) when unreadable."""
        text = self.edit.text()
        try:
            alert_filter = parse_filter(text)
        except FilterError as exc:
            self.error.setText(f"{exc.pointer()}\n{exc.message}")
            self.error.show()
            self.edit.setStyleSheet(INVALID_STYLE)
            return None
        self.error.hide()
        self.error.clear()
        self.edit.setStyleSheet("")
        return alert_filter

    def set_saved_filters(self, filters: Mapping[str, str]) -> None:
        self.saved.blockSignals(True)
        self.saved.clear()
        self.saved.addItem(SAVED_PROMPT)
        for name, text in sorted(filters.items()):
            self.saved.addItem(name, text)
            self.saved.setItemData(self.saved.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.saved.blockSignals(False)

    def cycle_grouping(self) -> None:
        self.grouping.setCurrentIndex((self.grouping.currentIndex() + 1) % self.grouping.count())

    def _saved_chosen(self, index: int) -> None:
        if index > 0:
            self.edit.setText(str(self.saved.itemData(index)))
            self.saved.setCurrentIndex(0)


async def ask_filter_name(parent: QWidget, text: str) -> str:
    """The name to save the filter `text` under, asked in a dialog; "" when cancelled."""
    dialog = QInputDialog(parent)
    dialog.setObjectName("saveFilterDialog")
    dialog.setWindowTitle("Save filter")
    dialog.setLabelText(f"Name for: {text}")
    dialog.setTextValue(text[:40])
    try:
        accepted = await execute_dialog(dialog) == QInputDialog.DialogCode.Accepted
        return dialog.textValue().strip() if accepted else ""
    finally:
        dialog.deleteLater()

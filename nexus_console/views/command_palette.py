"""The command palette (Ctrl+K): every action by name, filtered as you type, Enter runs it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget


def action_label(action: QAction) -> str:
    return action.text().replace("&", "")


class CommandPalette(QDialog):
    def __init__(self, actions: Callable[[], list[QAction]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Commands")
        self.setObjectName("commandPalette")
        self._actions = actions
        self.filter = QLineEdit()
        self.filter.setObjectName("filter")
        self.filter.setPlaceholderText("Type a command…")
        self.list = QListWidget()
        self.list.setObjectName("commands")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self.filter.textChanged.connect(self._refill)
        self.filter.returnPressed.connect(self.run_selected)
        self.list.itemActivated.connect(lambda _item: self.run_selected())
        self.resize(460, 360)

    def open_palette(self) -> None:
        self.filter.clear()
        self._refill("")
        self.open()
        self.filter.setFocus()

    def visible_labels(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def run_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        action: QAction = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        action.trigger()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.list.count():
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
            self.list.setCurrentRow(row)
            return
        super().keyPressEvent(event)

    def _refill(self, text: str) -> None:
        words = text.lower().split()
        self.list.clear()
        for action in self._actions():
            if not action.isEnabled() or not action.isVisible():
                continue
            label = action_label(action)
            if all(word in label.lower() for word in words):
                shortcut = action.shortcut().toString()
                item = QListWidgetItem(f"{label}    {shortcut}" if shortcut else label)
                item.setData(Qt.ItemDataRole.UserRole, action)
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

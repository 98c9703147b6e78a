"""The main window's navigation: one entry per pane with its icon and its count (unhandled alerts, open
incidents, ...), collapsible to icons only (Ctrl+B) so a laptop gives the width to the panes."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

ICON_SIZE = QSize(18, 18)
EXPANDED_MIN_WIDTH = 110
COLLAPSED_WIDTH = 40


def pane_icon(name: str) -> QIcon:
    """An icon from the package's resources (`icons/<name>.svg`: a pane's, the app's), or no icon."""
    if not name:
        return QIcon()
    # one part per joinpath: on Python 3.11 the resources namespace package takes only one
    path = resources.files("nexus_console.resources").joinpath("icons").joinpath(f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


class Navigation(QListWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("navigation")
        self.setIconSize(ICON_SIZE)
        self.setMinimumWidth(EXPANDED_MIN_WIDTH)
        # Sized to its longest entry, count included: a wider list leaves a dead strip beside the panes.
        self.setSizeAdjustPolicy(QListWidget.SizeAdjustPolicy.AdjustToContents)
        self._titles: list[str] = []
        self._counts: list[int] = []
        self.collapsed = False

    def add_pane(self, title: str, icon_name: str) -> None:
        item = QListWidgetItem(pane_icon(icon_name), title)
        item.setToolTip(title)
        self.addItem(item)
        self._titles.append(title)
        self._counts.append(0)

    def set_count(self, row: int, count: int) -> None:
        self._counts[row] = count
        self._relabel(row)

    def set_collapsed(self, collapsed: bool) -> None:
        """Icons only (the title and count in the tooltip), or icons with their titles."""
        self.collapsed = collapsed
        for row in range(self.count()):
            self._relabel(row)
        if collapsed:
            self.setMinimumWidth(COLLAPSED_WIDTH)
            self.setMaximumWidth(COLLAPSED_WIDTH)
        else:
            self.setMaximumWidth(16_777_215)
            self.setMinimumWidth(EXPANDED_MIN_WIDTH)
        self.updateGeometry()

    def _relabel(self, row: int) -> None:
        title, count = self._titles[row], self._counts[row]
        label = f"{title} ({count})" if count else title
        item = self.item(row)
        item.setText("" if self.collapsed else label)
        item.setToolTip(label)

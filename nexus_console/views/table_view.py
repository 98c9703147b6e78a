"""One way to make a table view: rows selected whole, no row numbers, a fixed row height, column titles
never cut, and the dark compact style of the wall panes when asked for."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget
from shiboken6 import Shiboken

# Sections whose width is set by code or by a drag; Stretch and ResizeToContents sections size themselves.
_SIZED_BY_HAND = (QHeaderView.ResizeMode.Interactive, QHeaderView.ResizeMode.Fixed)
# What changes the width a title needs: the font, the style (a style sheet's padding) and the first show.
_RECHECK_ON = (QEvent.Type.Show, QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.Polish)


class TitleKeeper(QObject):
    """Keeps every hand-sized section of `header` at least as wide as its title needs: the style's size for
    the text, its padding and the sort indicator (`sectionSizeFromContents`). A width a pane sets in code,
    a new column, a new title, a larger font and a user's drag are all widened to it, so a column never
    shows "sever…" for "severity". The stretching section is left to the space it is given."""

    def __init__(self, header: QHeaderView) -> None:
        super().__init__(header)
        self.header = header
        # Bound methods taking *args: PySide 6.11 cannot hand a Qt.Orientation to a lambda of three
        # parameters (headerDataChanged), nor is the order of a sort indicator needed here.
        header.sectionResized.connect(self._section_resized)
        header.sectionCountChanged.connect(self.widen_all)
        header.sortIndicatorChanged.connect(self.widen_all)
        model = header.model()
        if model is not None:  # new titles; a reset may bring other columns under the same count
            model.headerDataChanged.connect(self.widen_all)
            model.modelReset.connect(self.widen_all)
        header.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.header and event.type() in _RECHECK_ON:
            self.widen_all()
        return False

    def _section_resized(self, logical: int, *_sizes: int) -> None:
        # a header being destroyed with its window still reports its sections collapsing
        if Shiboken.isValid(self.header):
            self.widen(logical)

    def widen_all(self, *_signal_args: object) -> None:
        for logical in range(self.header.count()):
            self.widen(logical)

    def widen(self, logical: int) -> None:
        header = self.header
        if not 0 <= logical < header.count() or header.isSectionHidden(logical):
            return
        if header.sectionResizeMode(logical) not in _SIZED_BY_HAND or self._stretches(logical):
            return
        needed = header.sectionSizeFromContents(logical).width()
        if header.sectionSize(logical) < needed:
            header.resizeSection(logical, needed)

    def _stretches(self, logical: int) -> bool:
        if not self.header.stretchLastSection():
            return False
        visible = [i for i in range(self.header.count()) if not self.header.isSectionHidden(i)]
        return bool(visible) and logical == max(visible, key=self.header.visualIndex)


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
    """A table that selects one whole row; the last column (or `stretch_column`) takes the spare width, and
    no column is narrower than its title (`TitleKeeper`). `compact`: the dark wall style at `font_pt`."""
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
    TitleKeeper(header)
    return table


def show_model(view: QTableView, model: QAbstractItemModel) -> None:
    """Show `model` in `view` (a new result set, with columns of its own) and dispose of the one it showed."""
    old = view.model()
    view.setModel(model)
    if old is not None and old is not model:
        old.deleteLater()


def fit_columns(view: QTableView, stretch: int) -> None:
    """Every column as wide as its contents, and column `stretch` (a name) takes the spare width."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)

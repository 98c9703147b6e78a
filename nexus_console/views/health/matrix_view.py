"""The dense service × probe table: coloured cells with text, hatched when their data is stale."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from nexus_console.models.health_cells import GROUP_ROLE, HEADERS, LOOK_ROLE, PROBE_COLUMNS, CellLook
from nexus_console.models.health_matrix import HealthMatrixModel

ROW_HEIGHT = 19
PROBE_COLUMN_NUMBERS = frozenset(PROBE_COLUMNS.values())
_HATCH = QBrush(QColor(20, 20, 20, 150), Qt.BrushStyle.BDiagPattern)
_STALE_VEIL = QColor(30, 32, 36, 140)
_SELECTED = QColor("#2f6fb3")
_SELECTED_TEXT = QColor("#ffffff")
_SELECTED_FRAME = QPen(QColor("#8fc1ff"), 1)
_TEXT_MARGIN = 4


class MatrixCellDelegate(QStyledItemDelegate):
    """Paints a cell from its `CellLook` (one model call) with plain fills and text: the style-sheet item
    drawing of QStyledItemDelegate asks the model for a dozen roles per cell and repainted the whole matrix
    in tens of milliseconds each second. Stale cells are veiled and hatched, never blanked."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        look = index.data(LOOK_ROLE)
        if not isinstance(look, CellLook):
            super().paint(painter, option, index)
            return
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        probe_cell = index.column() in PROBE_COLUMN_NUMBERS
        painter.save()
        if selected and not probe_cell:
            painter.fillRect(rect, _SELECTED)
        elif look.background is not None:
            painter.fillRect(rect, look.background)
        if look.bold:
            painter.setFont(self._bold_font(option))
        else:
            painter.setFont(option.font)
        pen = look.foreground.color() if look.foreground is not None else option.palette.text().color()
        painter.setPen(_SELECTED_TEXT if selected and not probe_cell else pen)
        text_rect = rect.adjusted(_TEXT_MARGIN, 0, -_TEXT_MARGIN, 0)
        # Service names share long prefixes ("puabo-nuki-…"): their ends tell them apart, so cut the middle.
        mode = Qt.TextElideMode.ElideMiddle if index.column() == 0 else Qt.TextElideMode.ElideRight
        text = painter.fontMetrics().elidedText(look.text, mode, text_rect.width())
        painter.drawText(text_rect, int(look.alignment), text)
        if look.stale:
            painter.fillRect(rect, _STALE_VEIL)
            painter.fillRect(rect, _HATCH)
        if selected and probe_cell:
            # a selected row keeps its status colours (a blue DOWN cell would hide the state): a frame
            painter.setPen(_SELECTED_FRAME)
            painter.drawLine(rect.topLeft(), rect.topRight())
            painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.restore()

    def _bold_font(self, option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setBold(True)
        return font


class HealthMatrixView(QTableView):
    def __init__(self, model: HealthMatrixModel) -> None:
        super().__init__()
        self.setObjectName("healthMatrix")
        self.setModel(model)
        self._cell_delegate = MatrixCellDelegate(self)
        self.setItemDelegate(self._cell_delegate)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(False)
        self.setShowGrid(True)
        self.setWordWrap(False)
        self.setStyleSheet(
            "QTableView { background: #1b1e23; color: #e6e6e6; gridline-color: #2c3036; font-size: 9pt; }"
            "QTableView::item:selected { background: #2f6fb3; }"
            "QHeaderView::section { background: #23272e; color: #c8ccd2; border: 0; padding: 2px 4px;"
            " font-size: 8pt; }"
            "QTableCornerButton::section { background: #23272e; border: 0; }"
            "QHeaderView { background: #23272e; }"
        )
        vertical = self.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        horizontal = self.horizontalHeader()
        horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        horizontal.setStretchLastSection(False)
        # The probe cells say "UP 3s" or "TIMEOUT": narrow; the width goes to the service names.
        widths = {"service": 215, "req/s": 58, "p95": 62, "5xx/s": 52}
        for column, title in enumerate(HEADERS):
            self.setColumnWidth(column, widths.get(title, 74))
        model.modelReset.connect(self._span_group_rows)
        self._span_group_rows()

    def dataChanged(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
        roles: Sequence[int] = (),
    ) -> None:
        # QAbstractItemView repaints the whole viewport for any change wider than one cell; the model's
        # changes are row spans of a few columns (ages and metrics every second), so repaint just their
        # rectangle, from the column and row positions (a group row's span would widen a visualRect to
        # the whole table). No editors here, so nothing else of the base class is needed.
        first_row, last_row = top_left.row(), bottom_right.row()
        if top_left == bottom_right or self.isRowHidden(first_row) or self.isRowHidden(last_row):
            super().dataChanged(top_left, bottom_right, roles)
            return
        left = self.columnViewportPosition(top_left.column())
        right = self.columnViewportPosition(bottom_right.column()) + self.columnWidth(bottom_right.column())
        top = self.rowViewportPosition(first_row)
        bottom = self.rowViewportPosition(last_row) + self.rowHeight(last_row)
        self.viewport().update(QRect(left, top, right - left, bottom - top))

    def show_only(self, services: set[str] | None) -> None:
        """Hide every service row not in `services` (None: show all), and groups left empty."""
        model = self.model()
        assert isinstance(model, HealthMatrixModel)
        group_row: int | None = None
        group_visible = False
        for row in range(model.rowCount()):
            service = model.service_at(row)
            if service is None:
                if group_row is not None:
                    self._set_hidden(group_row, not group_visible)
                group_row, group_visible = row, False
                continue
            visible = services is None or service.name in services
            group_visible = group_visible or visible
            self._set_hidden(row, not visible)
        if group_row is not None:
            self._set_hidden(group_row, not group_visible)

    def _set_hidden(self, row: int, hidden: bool) -> None:
        if self.isRowHidden(row) != hidden:
            self.setRowHidden(row, hidden)

    def visible_services(self) -> list[str]:
        model = self.model()
        assert isinstance(model, HealthMatrixModel)
        return [
            service.name
            for row in range(model.rowCount())
            if (service := model.service_at(row)) is not None and not self.isRowHidden(row)
        ]

    def _span_group_rows(self) -> None:
        self.clearSpans()
        model = self.model()
        for row in range(model.rowCount()):
            if model.index(row, 0).data(GROUP_ROLE):
                self.setSpan(row, 0, 1, len(HEADERS))

    def preferred_width(self) -> int:
        return (
            sum(self.columnWidth(c) for c in range(len(HEADERS)))
            + self.verticalScrollBar().sizeHint().width()
            + 4
        )

"""The dense service × probe table: coloured cells with text, hatched when their data is stale."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from nexus_console.models.health_matrix import (
    GROUP_ROLE,
    HEADERS,
    PROBE_COLUMNS,
    STALE_ROLE,
    HealthMatrixModel,
)

ROW_HEIGHT = 19
PROBE_COLUMN_NUMBERS = frozenset(PROBE_COLUMNS.values())
_HATCH = QBrush(QColor(20, 20, 20, 150), Qt.BrushStyle.BDiagPattern)
_STALE_VEIL = QColor(30, 32, 36, 140)


class StaleHatchDelegate(QStyledItemDelegate):
    """Paints the cell as usual, then veils and hatches it when STALE_ROLE is true (never blank)."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        background = index.data(Qt.ItemDataRole.BackgroundRole)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if isinstance(background, QBrush) and index.column() in PROBE_COLUMN_NUMBERS:
            # A selected row keeps its status colours (a blue DOWN cell would hide the state);
            # the selection shows as a frame instead.
            option = QStyleOptionViewItem(option)
            option.state &= ~QStyle.StateFlag.State_Selected
            painter.fillRect(option.rect, background)
        super().paint(painter, option, index)
        painter.save()
        if index.data(STALE_ROLE):
            painter.fillRect(option.rect, _STALE_VEIL)
            painter.fillRect(option.rect, _HATCH)
        if selected and index.column() in PROBE_COLUMN_NUMBERS:
            painter.setPen(QPen(QColor("#8fc1ff"), 1))
            painter.drawLine(option.rect.topLeft(), option.rect.topRight())
            painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
        painter.restore()


class HealthMatrixView(QTableView):
    def __init__(self, model: HealthMatrixModel) -> None:
        super().__init__()
        self.setObjectName("healthMatrix")
        self.setModel(model)
        # The Python delegate only where it is needed: painting is the pane's main cost.
        self._hatch_delegate = StaleHatchDelegate(self)
        for column in PROBE_COLUMN_NUMBERS:
            self.setItemDelegateForColumn(column, self._hatch_delegate)
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
        widths = {"service": 170, "req/s": 58, "p95": 62, "5xx/s": 52}
        for column, title in enumerate(HEADERS):
            self.setColumnWidth(column, widths.get(title, 100))
        model.modelReset.connect(self._span_group_rows)
        self._span_group_rows()

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

"""The dense service × probe table: coloured cells with text, hatched when their data is stale."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPointF, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QStaticText
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from nexus_console.models.health_cells import GROUP_ROLE, HEADERS, PROBE_COLUMNS
from nexus_console.models.health_matrix import HealthMatrixModel

ROW_HEIGHT = 19
PROBE_COLUMN_NUMBERS = frozenset(PROBE_COLUMNS.values())
_HATCH = QBrush(QColor(20, 20, 20, 150), Qt.BrushStyle.BDiagPattern)
_STALE_VEIL = QColor(30, 32, 36, 140)
_SELECTED = QColor("#2f6fb3")
_SELECTED_TEXT = QColor("#ffffff")
_SELECTED_FRAME = QPen(QColor("#8fc1ff"), 1)
_TEXT_MARGIN = 4
_STATE_SELECTED = QStyle.StateFlag.State_Selected.value
_ALIGN_HCENTER = Qt.AlignmentFlag.AlignHCenter.value
_ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight.value
_ELIDE_MIDDLE = Qt.TextElideMode.ElideMiddle
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight
_TEXTS_KEPT = 4096


class MatrixCellDelegate(QStyledItemDelegate):
    """Paints a cell from its `CellLook` (one model call) with plain fills and text: the style-sheet item
    drawing of QStyledItemDelegate asks the model for a dozen roles per cell and repainted the whole matrix
    in tens of milliseconds each second. Stale cells are veiled and hatched, never blanked.

    A full repaint (a filter typed, a scroll) paints some 400 cells, so each costs as little as it can: the
    look straight from the model, and each text elided and laid out once (a QStaticText per text, width and
    font: drawText lays the text out again on every paint, three times the cost of drawing a laid-out one)."""

    def __init__(self, parent: QTableView, model: HealthMatrixModel) -> None:
        super().__init__(parent)
        self._model = model
        # (text, cell width, bold, service column) -> the elided text laid out, its width and height
        self._texts: dict[tuple[str, int, bool, bool], tuple[QStaticText, float, float]] = {}

    def forget_fonts(self) -> None:
        """The view's font changed: texts elided and laid out with the old one no longer fit."""
        self._texts.clear()

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        column = index.column()
        look = self._model.look(index.row(), column)
        rect = option.rect
        selected = bool(option.state.value & _STATE_SELECTED)
        probe_cell = column in PROBE_COLUMN_NUMBERS
        painter.save()
        if selected and not probe_cell:
            painter.fillRect(rect, _SELECTED)
        elif look.background is not None:
            painter.fillRect(rect, look.background)
        painter.setFont(self._bold_font(option) if look.bold else option.font)
        pen = look.foreground.color() if look.foreground is not None else option.palette.text().color()
        painter.setPen(_SELECTED_TEXT if selected and not probe_cell else pen)
        width = rect.width()
        key = (look.text, width, look.bold, column == 0)
        laid_out = self._texts.get(key)
        if laid_out is None:
            laid_out = self._lay_out(painter, look.text, width, column)
            if len(self._texts) > _TEXTS_KEPT:  # rates change every second: never let them pile up
                self._texts.clear()
            self._texts[key] = laid_out
        text, text_width, text_height = laid_out
        alignment = look.alignment.value
        x = rect.x()
        if alignment & _ALIGN_HCENTER:
            left = x + (width - text_width) / 2
        elif alignment & _ALIGN_RIGHT:
            left = x + width - _TEXT_MARGIN - text_width
        else:
            left = x + _TEXT_MARGIN
        painter.drawStaticText(QPointF(left, rect.y() + (rect.height() - text_height) / 2), text)
        if look.stale:
            painter.fillRect(rect, _STALE_VEIL)
            painter.fillRect(rect, _HATCH)
        if selected and probe_cell:
            # a selected row keeps its status colours (a blue DOWN cell would hide the state): a frame
            painter.setPen(_SELECTED_FRAME)
            painter.drawLine(rect.topLeft(), rect.topRight())
            painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.restore()

    @staticmethod
    def _lay_out(
        painter: QPainter, text: str, cell_width: int, column: int
    ) -> tuple[QStaticText, float, float]:
        # Service names share long prefixes ("puabo-nuki-…"): their ends tell them apart, so cut the middle.
        mode = _ELIDE_MIDDLE if column == 0 else _ELIDE_RIGHT
        elided = painter.fontMetrics().elidedText(text, mode, max(0, cell_width - 2 * _TEXT_MARGIN))
        static = QStaticText(elided)
        static.setTextFormat(Qt.TextFormat.PlainText)
        static.prepare(painter.transform(), painter.font())
        size = static.size()
        return static, size.width(), size.height()

    def _bold_font(self, option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setBold(True)
        return font


class HealthMatrixView(QTableView):
    def __init__(self, model: HealthMatrixModel) -> None:
        super().__init__()
        self.setObjectName("healthMatrix")
        self.setModel(model)
        self._cell_delegate = MatrixCellDelegate(self, model)
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
        model.modelReset.connect(self._forget_rows)
        self._span_group_rows()
        self._only: set[str] | None = None  # show_only's services (None: all)
        self._terms: tuple[str, ...] = ()  # set_text_filter's words
        self._rows_searched: list[tuple[str, str] | None] | None = None  # see _filter_rows

    def changeEvent(self, event: QEvent) -> None:
        delegate = getattr(self, "_cell_delegate", None)  # Qt may send one while the view is being built
        if delegate is not None and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            delegate.forget_fonts()
        super().changeEvent(event)

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
        """Hide every service row not in `services` (None: show all) or not matching the text filter, and
        groups left empty."""
        self._only = services
        self._apply_filters()

    def set_text_filter(self, text: str) -> None:
        """Show only the services whose name or namespace holds every word of `text`, in any case."""
        terms = tuple(text.casefold().split())
        if terms != self._terms:
            self._terms = terms
            self._apply_filters()

    def _apply_filters(self) -> None:
        services, terms = self._only, self._terms
        group_row: int | None = None
        group_visible = False
        is_hidden, set_hidden = self.isRowHidden, self.setRowHidden
        for row, entry in enumerate(self._filter_rows()):
            if entry is None:  # a namespace group row: shown when one of its services is
                if group_row is not None and is_hidden(group_row) == group_visible:
                    set_hidden(group_row, not group_visible)
                group_row, group_visible = row, False
                continue
            name, haystack = entry
            visible = (services is None or name in services) and all(term in haystack for term in terms)
            group_visible = group_visible or visible
            if is_hidden(row) == visible:
                set_hidden(row, not visible)
        if group_row is not None and is_hidden(group_row) == group_visible:
            set_hidden(group_row, not group_visible)

    def _filter_rows(self) -> list[tuple[str, str] | None]:
        """Per row: the service's name and what the text filter searches (None for a group row), worked
        out once per service list: a keystroke runs over every row."""
        model = self.model()
        assert isinstance(model, HealthMatrixModel)
        if self._rows_searched is None or len(self._rows_searched) != model.rowCount():
            self._rows_searched = [
                None if service is None else (service.name, f"{service.name} {service.namespace}".casefold())
                for service in (model.service_at(row) for row in range(model.rowCount()))
            ]
        return self._rows_searched

    def _forget_rows(self) -> None:
        self._rows_searched = None

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


class MatrixFilterBox(QLineEdit):
    """What the user types to find services in the matrix: every word must appear in a service's name or
    namespace (any case); the matrix hides the other rows and the groups left empty."""

    def __init__(self, matrix: HealthMatrixView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("matrixFilter")
        self.setPlaceholderText("filter services")
        self.setToolTip("Show only the services whose name or namespace contains every word typed here")
        self.setClearButtonEnabled(True)
        self.setMaximumWidth(220)
        self.textChanged.connect(matrix.set_text_filter)

"""The status board, painted in one widget: a panel per namespace laid out in a grid, a coloured row per
service. A wall shows 44 or 1,000 services without a widget each, and the grid is chosen so the type is as
large as the screen allows while no name is cut: it reads from across the room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from nexus_console.domain.status_board import NamespaceStatus
from nexus_console.views.theme import STATUS_PAGE_COLOURS

GAP = 10.0
HEADER_ROWS = 1.4  # a namespace header is this many service rows high
CHAR_WIDTH_EM = 0.62  # a bold character is about this wide, in em
STATE_COLUMN_CHARS = 12  # "operational" and a margin


@dataclass(frozen=True, slots=True)
class Grid:
    columns: int
    panel_w: float
    row_h: float
    font_px: int


def best_grid(board: Sequence[NamespaceStatus], width: float, height: float) -> Grid:
    """The panel column count whose type is largest with every panel fitting and no name cut."""
    longest = max((len(t.name) for ns in board for t in ns.tiles), default=10) + STATE_COLUMN_CHARS
    best = Grid(1, width, 12.0, 10)
    for columns in range(1, max(1, len(board)) + 1):
        panel_w = (width - GAP * (columns - 1)) / columns
        grid_rows = [board[i : i + columns] for i in range(0, len(board), columns)]
        rows_needed = sum(max(len(ns.tiles) for ns in row) + HEADER_ROWS for row in grid_rows)
        row_h = (height - GAP * len(grid_rows)) / max(rows_needed, 1.0)
        font_px = int(min(row_h * 0.55, (panel_w - 24) / (longest * CHAR_WIDTH_EM)))
        if font_px > best.font_px:
            best = Grid(columns, panel_w, row_h, font_px)
    return best


class StatusTiles(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusTiles")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.board: tuple[NamespaceStatus, ...] = ()
        self.stale = False

    def sizeHint(self) -> QSize:
        return QSize(640, 400)

    def set_board(self, board: Sequence[NamespaceStatus], *, stale: bool) -> None:
        board = tuple(board)
        if board != self.board or stale != self.stale:
            self.board, self.stale = board, stale
            self.update()

    def grid(self) -> Grid:
        return best_grid(self.board, float(self.width()), float(self.height()))

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.board:
            return
        grid = self.grid()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        name_font = QFont(self.font())
        name_font.setPixelSize(max(9, grid.font_px))
        name_font.setBold(True)
        state_font = QFont(name_font)
        state_font.setBold(False)
        header_font = QFont(name_font)
        header_font.setPixelSize(max(9, int(grid.font_px * 1.1)))
        text_colour = self.palette().windowText().color()
        y = 0.0
        for start in range(0, len(self.board), grid.columns):
            row_of_panels = self.board[start : start + grid.columns]
            for column, namespace in enumerate(row_of_panels):
                x = column * (grid.panel_w + GAP)
                self._paint_panel(
                    painter, namespace, x, y, grid, (header_font, name_font, state_font), text_colour
                )
            tallest = max(len(ns.tiles) for ns in row_of_panels)
            y += (tallest + HEADER_ROWS) * grid.row_h + GAP
        painter.end()

    def _paint_panel(
        self,
        painter: QPainter,
        namespace: NamespaceStatus,
        x: float,
        y: float,
        grid: Grid,
        fonts: tuple[QFont, QFont, QFont],
        text_colour: QColor,
    ) -> None:
        header_font, name_font, state_font = fonts
        header_h = grid.row_h * HEADER_ROWS
        counts = ", ".join(
            f"{n} {state.value}" for state in type(namespace.state) if (n := namespace.count(state))
        )
        painter.setFont(header_font)
        painter.setPen(text_colour)
        painter.drawText(
            QRectF(x, y, grid.panel_w, header_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"{namespace.namespace} · {counts}",
        )
        row_y = y + header_h
        for tile in namespace.tiles:
            rect = QRectF(x, row_y + 2, grid.panel_w, grid.row_h - 4)
            colour = QColor(STATUS_PAGE_COLOURS[tile.state.value])
            if self.stale:
                colour = colour.darker(170)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(rect, 5, 5)
            painter.setPen(QColor("#ffffff"))
            inner = rect.adjusted(12, 0, -12, 0)
            painter.setFont(name_font)
            painter.drawText(inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, tile.name)
            painter.setFont(state_font)
            state_text = f"{tile.state.value} (stale)" if self.stale else tile.state.value
            painter.drawText(inner, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, state_text)
            row_y += grid.row_h

"""Colours and the application style, in one place."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from nexus_console.domain.freshness import SourceState

STATE_COLOURS = {
    SourceState.OK: "#2e9d57",
    SourceState.CONNECTING: "#8a8f98",
    SourceState.ERROR: "#d0453b",
}
STALE_COLOUR = "#c88a12"
STALE_BANNER_STYLE = (
    "QFrame#staleBanner { background: #fff4d6; border: 1px solid #e0b84c; border-radius: 3px; }"
    "QLabel { color: #6b4e00; }"
)
STALE_OPACITY = 0.5


def state_colour(state: SourceState, stale: bool) -> QColor:
    if state is SourceState.OK and stale:
        return QColor(STALE_COLOUR)
    return QColor(STATE_COLOURS[state])


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#2f6fb3"))
    app.setPalette(palette)

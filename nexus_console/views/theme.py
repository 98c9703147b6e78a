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


# One dark palette for the whole console: control rooms run it on wall displays, and a light navigation or
# dialog beside dark panes glares.
DARK_PALETTE = {
    QPalette.ColorRole.Window: "#14171b",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1b1e23",
    QPalette.ColorRole.AlternateBase: "#20242a",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#23272e",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.ToolTipBase: "#23272e",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.Highlight: "#2f6fb3",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#8a8f98",
    QPalette.ColorRole.Link: "#58a6ff",
}
DISABLED_TEXT = "#6b7079"


def dark_palette(base: QPalette) -> QPalette:
    palette = QPalette(base)
    for role, colour in DARK_PALETTE.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED_TEXT))
    return palette


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette(app.palette()))


# Status-page colours (the status board's tiles and the uptime bars): by the words a status page uses.
STATUS_PAGE_COLOURS = {
    "operational": "#2e9d57",
    "degraded": "#c88a12",
    "partial outage": "#e07b39",
    "major outage": "#d0453b",
    "down": "#d0453b",
    "unknown": "#5b616b",
    "no data": "#3a3f47",
}

# The Alerts pane: its dark queue, groups and filter line.
ALERTS_PANE_STYLE = (
    "QTableView#alertTable { background: #16191e; color: #e6e6e6; gridline-color: #262a30;"
    " selection-background-color: #2f6fb3; font-size: 9pt; }"
    "QTableView#alertTable QHeaderView::section { background: #23272e; color: #c8ccd2; border: 0;"
    " padding: 2px 4px; }"
    "QListWidget#alertGroups { background: #1b1e23; color: #e6e6e6; font-size: 9pt; }"
    "QLabel#filterError { color: #ff6b5e; }"
    "QLabel#alertCounts { color: #9aa0a6; }"
)

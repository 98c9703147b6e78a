"""The Incidents pane's two tables: the incident list (the dashboard) and one incident's timeline."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QFont

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incident_stats import IncidentDurations, format_duration
from nexus_console.domain.incident_timeline import EventType, TimelineEvent
from nexus_console.domain.incidents import Incident
from nexus_console.models.alert_table import SEVERITY_COLOURS
from nexus_console.models.table_base import Index, ListTableModel

INCIDENT_COLUMNS = ("#", "Severity", "Status", "Title", "Commander", "Open for", "Services", "TTA", "TTR")
TIMELINE_COLUMNS = ("When", "Type", "What happened", "Source", "Who")
DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
INCIDENT_ROLE = Qt.ItemDataRole.UserRole + 1
EVENT_ROLE = Qt.ItemDataRole.UserRole + 2
HIDDEN_TEXT = QColor("#8a8f98")


def event_time_text(at: float) -> str:
    """A full local date and time: incidents run past midnight and over days."""
    return datetime.fromtimestamp(at).strftime("%a %d %b %Y %H:%M:%S")


class IncidentTableModel(ListTableModel[Incident]):
    """Incidents, newest first; durations count on while an incident is open (`tick`)."""

    def __init__(self, parent: QObject | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent, headers=INCIDENT_COLUMNS)
        self._clock = clock

    def set_incidents(self, incidents: Sequence[Incident]) -> None:
        self.replace_items(incidents, key=lambda incident: incident.id)

    def tick(self) -> None:
        """Open incidents' durations moved on."""
        column = INCIDENT_COLUMNS.index("Open for")
        rows = [row for row, incident in enumerate(self._items) if incident.is_active]
        self.announce_rows(rows, first_column=column, last_column=column, roles=[DISPLAY])

    def row_of(self, incident_id: int) -> int | None:
        return next((row for row, item in enumerate(self._items) if item.id == incident_id), None)

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        incident = self._items[index.row()]
        if role == INCIDENT_ROLE:
            return incident
        column = INCIDENT_COLUMNS[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and column == "Severity":
            return QColor(SEVERITY_COLOURS[Severity.parse(incident.severity)])
        if role == Qt.ItemDataRole.FontRole and incident.is_active:
            font = QFont()
            font.setBold(True)
            return font
        if role not in (DISPLAY, TOOLTIP):
            return None
        return self._text(incident, column, role == TOOLTIP)

    def _text(self, incident: Incident, column: str, tooltip: bool) -> str:
        if column == "#":
            return str(incident.id)
        if column == "Severity":
            return incident.severity
        if column == "Status":
            return incident.status.label
        if column == "Title":
            return incident.title
        if column == "Commander":
            return incident.commander or "—"
        if column == "Open for":
            text = format_duration(incident.duration_s(self._clock()))
            return text if incident.is_active else f"{text} (closed)" if tooltip else text
        if column == "Services":
            return ", ".join(incident.services)
        durations = IncidentDurations.of(incident)
        value = durations.time_to_acknowledge_s if column == "TTA" else durations.time_to_resolve_s
        if tooltip and durations.problems:
            return "\n".join(durations.problems)
        return format_duration(value)


class TimelineTableModel(ListTableModel[TimelineEvent]):
    """One incident's assembled timeline, oldest first; hidden events greyed, pinned ones marked.

    `data` runs for every role of every visible cell on each repaint (seven roles a cell), so it turns away
    the roles it does not answer before anything else, and allocates nothing the garbage collector tracks
    (a cache of row texts would: its tuples set off collections while the table scrolls)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=TIMELINE_COLUMNS)

    def set_events(self, events: Sequence[TimelineEvent]) -> None:
        self.replace_items(events, key=lambda event: event.key)

    def row_of(self, key: str) -> int | None:
        return next((row for row, event in enumerate(self._items) if event.key == key), None)

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if role not in _TIMELINE_ROLES:
            return None
        row, items = index.row(), self._items
        if not 0 <= row < len(items):  # an invalid index's row is -1
            return None
        event = items[row]
        if role in (DISPLAY, TOOLTIP):
            column = index.column()
            if column == 0:
                return event_time_text(event.at)
            if column == 2:
                return event.text + " (hidden)" if event.hidden else event.text
            if column == 1:
                return "★ " + event.type.label if event.pinned else event.type.label
            if column == 3:
                return event.source
            if column == 4:
                return event.author or ""
            raise IndexError(column)
        if role == EVENT_ROLE:
            return event
        if role == FOREGROUND:
            return HIDDEN_TEXT if event.hidden else None
        if event.pinned or event.type is EventType.MILESTONE:  # the font role
            font = QFont()
            font.setBold(True)
            return font
        return None


FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TIMELINE_ROLES = frozenset({DISPLAY, TOOLTIP, EVENT_ROLE, FOREGROUND, Qt.ItemDataRole.FontRole})

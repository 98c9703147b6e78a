"""One incident's timeline: the filter bar, the table of events, the selected event's detail and the
quick-entry line ("14:32 restarted the order processor" puts a note at 14:32 of the right day).

Keys in the table: p pins or unpins the selected event, h hides or shows it, e puts a note, action or custom
event on the quick-entry line to correct its time or text, Enter opens its source, / goes to the filter text,
n (or Ctrl+L) to the quick-entry line; Esc in either returns to the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nexus_console.domain.incident_timeline import (
    EventType,
    TimelineEvent,
)
from nexus_console.domain.timeline_filter import TimelineFilter, filter_events
from nexus_console.models.incident_tables import EVENT_ROLE, TimelineTableModel, event_time_text
from nexus_console.views.local_time import local_zone
from nexus_console.views.table_view import row_table

ENTRY_KINDS = (("Note", "note"), ("Action taken", "action"), ("Custom event", "custom"))
TABLE_KEYS = {"p": "pin", "h": "hide", "/": "filter", "n": "entry", "e": "edit"}
EDITABLE_TYPES = frozenset({EventType.NOTE, EventType.CUSTOM, EventType.ACTION})


class TimelineView(QWidget):
    entry_submitted = Signal(str, str)  # (the line as typed, the entry kind)
    flag_requested = Signal(object, str)  # (the TimelineEvent, "pin" | "hide")
    open_requested = Signal(object)  # the TimelineEvent whose source to open
    entry_edited = Signal(int, str)  # (the server entry id, the line as corrected)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineView")
        self._events: list[TimelineEvent] = []
        self._editing: int | None = None  # the entry the quick-entry line corrects, if any
        self.type_combo = QComboBox(self)
        self.type_combo.setObjectName("timelineType")
        self.type_combo.addItem("All types", None)
        for event_type in EventType:
            self.type_combo.addItem(event_type.label, event_type)
        self.hide_system = QCheckBox("Hide system events", self)
        self.hide_system.setObjectName("timelineHideSystem")
        self.hide_system.setToolTip("Alert transitions and field changes")
        self.show_hidden = QCheckBox("Show hidden", self)
        self.pinned_only = QCheckBox("Pinned only", self)
        self.search = QLineEdit(self)
        self.search.setObjectName("timelineSearch")
        self.search.setPlaceholderText("Filter the events  ( / )")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("timelineCount")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for widget in (self.type_combo, self.hide_system, self.show_hidden, self.pinned_only):
            bar.addWidget(widget)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)

        self.model = TimelineTableModel(self)
        self.table: QTableView = row_table(self.model, "timelineTable", self, stretch_column=2)
        self.table.setColumnWidth(0, 190)
        self.table.setColumnWidth(1, 120)
        self.table.setColumnWidth(3, 100)
        self.table.setColumnWidth(4, 170)
        self.table.installEventFilter(self)
        self.detail = QLabel("", self)
        self.detail.setObjectName("timelineDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("entryKind")
        for label, kind in ENTRY_KINDS:
            self.kind_combo.addItem(label, kind)
        self.entry = QLineEdit(self)
        self.entry.setObjectName("quickEntry")
        self.entry.setPlaceholderText(
            "14:32 restarted the order processor   (Enter adds it at that time; no time means now)"
        )
        self.entry.installEventFilter(self)
        self.search.installEventFilter(self)
        self.entry_error = QLabel("", self)
        self.entry_error.setObjectName("entryError")
        self.entry_error.setStyleSheet("color: #ff6b5e;")
        self.entry_error.setWordWrap(True)
        self.entry_error.hide()
        entry_row = QHBoxLayout()
        entry_row.setContentsMargins(0, 0, 0, 0)
        entry_row.addWidget(self.kind_combo)
        entry_row.addWidget(self.entry, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(entry_row)
        layout.addWidget(self.entry_error)

        for box in (self.hide_system, self.show_hidden, self.pinned_only):
            box.toggled.connect(self.apply_filter)
        self.type_combo.currentIndexChanged.connect(self.apply_filter)
        self.search.textChanged.connect(self.apply_filter)
        self.entry.returnPressed.connect(self._submit_entry)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.doubleClicked.connect(lambda _index: self._open_current())
        QShortcut(QKeySequence("Ctrl+L"), self, self.focus_entry)

    # ---- data ------------------------------------------------------------------------------------

    def set_events(self, events: Sequence[TimelineEvent]) -> None:
        """A new assembly of the timeline; the selection stays on the same event."""
        self._events = list(events)
        self.apply_filter()

    def current_filter(self) -> TimelineFilter:
        data = self.type_combo.currentData()
        chosen = EventType(data) if data is not None else None  # Qt hands back the plain value
        return TimelineFilter(
            types=frozenset({chosen}) if chosen is not None else None,
            show_system=not self.hide_system.isChecked(),
            show_hidden=self.show_hidden.isChecked(),
            pinned_only=self.pinned_only.isChecked(),
            text=self.search.text().strip(),
        )

    def apply_filter(self) -> None:
        selected = self.current_event()
        shown = filter_events(self._events, self.current_filter())
        self.model.set_events(shown)
        total = len(self._events)
        self.count_label.setText(
            f"{len(shown):,} of {total:,}" if len(shown) != total else f"{total:,} events"
        )
        if selected is not None:
            self.select_key(selected.key)

    def current_event(self) -> TimelineEvent | None:
        index = self.table.currentIndex()
        return self.model.data(index, EVENT_ROLE) if index.isValid() else None

    def select_key(self, key: str) -> bool:
        row = self.model.row_of(key)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    # ---- the quick-entry line ----------------------------------------------------------------------

    def focus_entry(self) -> None:
        self.entry.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def entry_done(self, error: str | None) -> None:
        """The runtime's answer to the last entry: clear the line, or keep it and say what is wrong."""
        if error:
            self.entry_error.setText(error)
            self.entry_error.show()
        else:
            self.entry.clear()
            self.entry_error.hide()

    def begin_edit(self, event: TimelineEvent) -> bool:
        """Put a note, action or custom event on the quick-entry line to correct its time or text; Enter
        saves it, Esc gives up. False for events that are not the responders' own words."""
        if event.entry_id is None or event.type not in EDITABLE_TYPES:
            return False
        self._editing = event.entry_id
        when = datetime.fromtimestamp(event.at, local_zone()).strftime("%Y-%m-%d %H:%M:%S")
        self.entry.setText(f"{when} {event.text}")
        self.entry_error.setText("Correcting this entry: Enter saves it, Esc leaves it as it was.")
        self.entry_error.setStyleSheet("color: #e0b050;")
        self.entry_error.show()
        self.focus_entry()
        return True

    def end_edit(self) -> None:
        self._editing = None
        self.entry_error.setStyleSheet("color: #ff6b5e;")
        self.entry_error.hide()

    def _submit_entry(self) -> None:
        line = self.entry.text().strip()
        if not line:
            return
        if self._editing is not None:
            self.entry_edited.emit(self._editing, line)
        else:
            self.entry_submitted.emit(line, self.kind_combo.currentData())

    # ---- keys --------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        if watched in (self.entry, self.search) and event.key() == Qt.Key.Key_Escape:
            if watched is self.entry and self._editing is not None:
                self.end_edit()
                self.entry.clear()
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        if watched is self.table:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._open_current()
                return True
            command = TABLE_KEYS.get(event.text())
            if command == "filter":
                self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
                return True
            if command == "entry":
                self.focus_entry()
                return True
            if command == "edit":
                current = self.current_event()
                if current is not None and not self.begin_edit(current):
                    self.entry_error.setText("Only notes, actions and custom events can be corrected.")
                    self.entry_error.show()
                return True
            if command in ("pin", "hide"):
                current = self.current_event()
                if current is not None and current.entry_id is not None:
                    self.flag_requested.emit(current, command)
                return True
        return super().eventFilter(watched, event)

    def _open_current(self) -> None:
        current = self.current_event()
        if current is not None and current.link is not None:
            self.open_requested.emit(current)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        event = self.model.data(current, EVENT_ROLE) if current.isValid() else None
        if event is None:
            self.detail.clear()
            return
        parts = [f"<b>{event_time_text(event.at)}</b> · {event.type.label} · from the {event.source}"]
        if event.author:
            parts.append(f"by {event.author}")
        link = event.link
        where = ""
        if link is not None:
            where = f"<br>Source: {link.kind.replace('_', ' ')} {link.target} (Enter opens it)"
        flags = " · pinned" if event.pinned else ""
        flags += " · hidden" if event.hidden else ""
        hint = "" if event.entry_id is None else "<br>p pins, h hides this event"
        if event.entry_id is not None and event.type in EDITABLE_TYPES:
            hint += ", e corrects its time or text"
        self.detail.setText(" ".join(parts) + flags + f"<br>{_escape(event.text)}{where}{hint}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

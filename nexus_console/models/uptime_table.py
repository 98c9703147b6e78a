"""The Uptime pane's table: a row a namespace (its total, bold) followed by a row a service, with the 90
daily bars (`BARS_ROLE`: their levels, oldest first) and the uptime of each window against the SLA."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QFont

from nexus_console.domain.incidents import Incident
from nexus_console.domain.uptime import DAY_S
from nexus_console.domain.uptime_report import UptimeGroup, incidents_on, uptime_detail, uptime_text
from nexus_console.domain.uptime_windows import ServiceUptime, bar_level, meets_sla
from nexus_console.models.table_base import Index, ListTableModel

UPTIME_COLUMNS = ("Service", "Last 90 days", "24 h", "7 days", "30 days", "This month", "Last month")
WINDOWS = {"24 h": "last_24h", "7 days": "last_7d", "30 days": "last_30d", "This month": "this_month",
           "Last month": "last_month"}  # fmt: skip
DISPLAY = Qt.ItemDataRole.DisplayRole
BARS_ROLE = Qt.ItemDataRole.UserRole + 1  # the daily bars' levels, oldest first, for the bars delegate
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
MET, MISSED, UNKNOWN = QColor("#58c27d"), QColor("#ff6b5e"), QColor("#8a8f98")
LOW_COVERAGE = 0.5  # under half of a window seen: its percentage is grey


@dataclass(frozen=True, slots=True)
class UptimeRow:
    uptime: ServiceUptime
    namespace: str
    is_namespace: bool

    @property
    def key(self) -> str:
        return f"ns:{self.namespace}" if self.is_namespace else self.uptime.service


class UptimeTableModel(ListTableModel[UptimeRow]):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=UPTIME_COLUMNS)
        self.stale = False
        self._levels: dict[str, tuple[UptimeRow, tuple[str, ...]]] = {}
        self.incidents: tuple[Incident, ...] = ()
        self.namespace_of: dict[str, str] = {}

    def set_groups(self, groups: Sequence[UptimeGroup], *, stale: bool) -> None:
        rows: list[UptimeRow] = []
        for group in groups:
            rows.append(UptimeRow(group.total, group.namespace, True))
            rows.extend(UptimeRow(service, group.namespace, False) for service in group.services)
        self.stale = stale
        self._levels = {key: cached for key, cached in self._levels.items() if key in {r.key for r in rows}}
        self.replace_items(rows, key=lambda row: row.key)

    def row_of(self, service: str) -> int | None:
        return next((i for i, row in enumerate(self._items) if row.key == service), None)

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        row = self._items[index.row()]
        column = UPTIME_COLUMNS[index.column()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.FontRole and row.is_namespace:
            font = QFont()
            font.setBold(True)
            return font
        if column == "Service":
            if role == DISPLAY:
                name = row.namespace if row.is_namespace else row.uptime.service
                return f"{name} ({self.services_in(row.namespace)})" if row.is_namespace else name
            return None
        if column == "Last 90 days":
            return self._bar_levels(row) if role == BARS_ROLE else None
        tally = getattr(row.uptime, WINDOWS[column])
        if role == DISPLAY:
            return uptime_text(tally)
        if role == Qt.ItemDataRole.ToolTipRole:
            return uptime_detail(tally)
        if role == Qt.ItemDataRole.ForegroundRole:
            if (tally.coverage_ratio or 0.0) < LOW_COVERAGE:
                return UNKNOWN  # seen too little of the window to vouch for it either way (the tooltip says)
            return {True: MET, False: MISSED, None: UNKNOWN}[meets_sla(tally)]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _bar_levels(self, row: UptimeRow) -> tuple[str, ...]:
        """Worked out once a row (when it is first painted), not on every paint."""
        levels = self._levels.get(row.key)
        if levels is None or levels[0] is not row:
            levels = self._levels[row.key] = (row, tuple(bar_level(day).value for day in row.uptime.daily))
        return levels[1]

    def day_tooltip(self, index: Index, day: int) -> str:
        """The sentence for one daily bar: its UTC date, its level and its figures."""
        row = self._items[index.row()]
        start, tally = row.uptime.first_day + day * DAY_S, row.uptime.daily[day]
        when = f"{datetime.fromtimestamp(start, UTC):%a %d %b %Y} (UTC)"
        text = f"{when}: {bar_level(tally).value} · {uptime_text(tally)} · {uptime_detail(tally)}"
        services = (
            {s for s, ns in self.namespace_of.items() if ns == row.namespace}
            if row.is_namespace
            else {row.uptime.service}
        )
        overlapping = incidents_on(self.incidents, services, start, start + DAY_S)
        return text + "".join(f"\nincident #{i.id}: {i.title} ({i.status.value})" for i in overlapping)

    def services_in(self, namespace: str) -> int:
        return sum(1 for row in self._items if row.namespace == namespace and not row.is_namespace)

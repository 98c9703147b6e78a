"""The Infrastructure pane's tables: one row per instance (host) and one row per scaling trigger of the
selected instance. Figures a host did not report read "—", never 0; a host that stopped reporting reads
"no data since HH:MM:SS" and its row is tinted."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, Qt

from nexus_console.domain.infrastructure import InstanceView
from nexus_console.domain.scaling_triggers import TriggerState, TriggerStatus
from nexus_console.domain.units import percent_text, rate_text
from nexus_console.models.row_tints import PROBLEM_TINT, WAITING_TINT
from nexus_console.models.table_base import Index, ListTableModel

INSTANCE_COLUMNS = ("Instance", "State", "CPU", "Memory", "Fullest filesystem", "Disk I/O r / w",
                    "Network rx / tx · errors", "Load 1 / 5 / 15")  # fmt: skip
TRIGGER_COLUMNS = ("Scaling trigger", "State")
DISPLAY = Qt.ItemDataRole.DisplayRole
ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def instance_cells(view: InstanceView) -> tuple[str, ...]:
    fullest = view.fullest()
    fs = (
        f"{fullest.mountpoint} {fullest.used_pct:.1f} % · {fullest.fill_text()}"
        if fullest is not None
        else "—"
    )
    disk = (
        f"{rate_text(view.disk_read_bps)} / {rate_text(view.disk_write_bps)}"
        if view.disk_read_bps is not None or view.disk_write_bps is not None
        else "—"
    )
    errors = f"{view.net_errors_per_s:.2f}/s" if view.net_errors_per_s is not None else "—"
    net = (
        f"{rate_text(view.net_rx_bps)} / {rate_text(view.net_tx_bps)} · {errors}"
        if view.net_rx_bps is not None or view.net_tx_bps is not None
        else "—"
    )
    load = " / ".join(f"{value:.2f}" for value in view.load) if view.load is not None else "—"
    return (
        view.instance,
        view.state_text(),
        percent_text(view.cpu_busy_pct),
        percent_text(view.memory_used_pct),
        fs,
        disk,
        net,
        load,
    )


class InfraTableModel(ListTableModel[InstanceView]):
    """The instances of the newest snapshot, sorted by name."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=INSTANCE_COLUMNS)
        self._cells: list[tuple[str, ...]] = []

    def set_instances(self, instances: tuple[InstanceView, ...]) -> None:
        self._cells = [instance_cells(view) for view in instances]
        # every row is a new object each refresh: announce the kept rows as changed, keyed by name
        self.replace_items(list(instances), changed_all=True, key=lambda view: view.instance)

    def row_of(self, instance: str) -> int | None:
        return next((row for row, view in enumerate(self._items) if view.instance == instance), None)

    def cells(self, row: int) -> tuple[str, ...]:
        return self._cells[row]

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        if role == DISPLAY:
            return self._cells[index.row()][index.column()]
        if role == Qt.ItemDataRole.BackgroundRole and not self._items[index.row()].reporting:
            return PROBLEM_TINT
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= index.column() <= 3:
            return ALIGN_RIGHT
        return None


class TriggerTableModel(ListTableModel[TriggerStatus]):
    """The scaling triggers of one instance; the State column counts down (`tick()` every second)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, headers=TRIGGER_COLUMNS)
        self.now = time.time()

    def set_triggers(self, triggers: tuple[TriggerStatus, ...], now: float) -> None:
        self.now = now
        self.replace_items(list(triggers), changed_all=True, key=lambda status: status.rule.name)

    def tick(self, now: float) -> None:
        self.now = now
        self.announce_all(first_column=1, last_column=1, roles=[DISPLAY])

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        status = self._items[index.row()]
        if role == DISPLAY:
            return status.rule.condition if index.column() == 0 else status.text(self.now)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{status.rule.name}: {status.rule.condition}"
        if role == Qt.ItemDataRole.BackgroundRole:
            if status.state is TriggerState.FIRING:
                return PROBLEM_TINT
            if status.state is TriggerState.PENDING:
                return WAITING_TINT
        return None

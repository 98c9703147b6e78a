"""The alert queue's Qt side at 100k alerts: the table model, the filter/sort proxy and a shown QTableView.

- alert_model_load_100k_ms: 100k alerts submitted to an empty AlertQueue and drained into the model, the
  proxy (sorted by severity) and a visible 1600×900 table, events processed; median of 3.
- alert_batch_1k_into_100k_ms: one drain of 1k new alerts into the 100k (one insert range, the proxy
  re-sorts, the view repaints); median of 5. modelReset counted: must stay 0.
- alert_filter_new_100k_ms: five whole filters (`severity>=high service=~svc-1 @age>10m`, none,
  `@state=firing owner`, none, `svc-07`) over the 100k, each to the repainted view; median of 5. One
  keystroke is bench_alert_filter.py's row.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

NOW = 1_700_000_000.0
COUNT = 100_000
BATCH = 1_000


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def _alerts(start: int, count: int, rng: random.Random) -> tuple[Any, ...]:
    from nexus_console.domain.alerts import Alert, AlertState, Severity

    severities = list(Severity)
    states = (AlertState.FIRING, AlertState.FIRING, AlertState.PENDING, AlertState.ACKNOWLEDGED)
    alerts = []
    for i in range(start, start + count):
        service = f"svc-{i % 44:02d}"
        name = f"Rule{i % 60}"
        alerts.append(
            Alert(
                fingerprint=f"{i:016x}",
                source="nexus" if i % 3 else "alertmanager",
                name=name,
                severity=severities[rng.randrange(4)],
                state=states[i % 4],
                service=service,
                namespace=f"ns-{i % 7}",
                labels={"alertname": name, "service": service, "instance": f"10.0.{i % 250}.{i % 200}:9100"},
                summary=f"{name} on {service}: value {rng.random():.3f} above threshold",
                starts_at=NOW - rng.uniform(0, 86400),
                source_id=str(i),
                ack_by="olive@nexus.test" if i % 4 == 3 else None,
            )
        )
    return tuple(alerts)


class _Table:
    def __init__(self) -> None:
        from PySide6.QtWidgets import QTableView

        from nexus_console.models.alert_proxy import AlertFilterProxy
        from nexus_console.models.alert_table import AlertTableModel
        from nexus_console.services.alert_sources import AlertQueue

        self.app = _app()
        self.queue = AlertQueue(clock=lambda: NOW)
        self.model = AlertTableModel(self.queue.store, self.queue.changes, clock=lambda: NOW)
        self.proxy = AlertFilterProxy(clock=lambda: NOW)
        self.proxy.setSourceModel(self.model)
        from nexus_console.views.alerts.cells import AlertCellDelegate

        self.view = QTableView()
        self.view.setItemDelegate(AlertCellDelegate(self.view))  # as the console's alert table
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.setModel(self.proxy)
        self.view.resize(1600, 900)
        self.view.show()
        self.resets = 0
        self.model.modelReset.connect(self._reset)
        self.proxy.modelReset.connect(self._reset)
        self.app.processEvents()

    def _reset(self) -> None:
        self.resets += 1

    def drain(self, diff: Any) -> float:
        started = time.perf_counter()
        self.queue.submit(diff)
        self.queue.drain()  # by hand (the runtime's job), so each measurement is one batch
        self.view.viewport().repaint()
        self.app.processEvents()
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.model.shutdown()
        self.view.hide()
        self.view.deleteLater()
        self.app.processEvents()


def measure() -> dict[str, float]:
    from nexus_console.domain.alert_filter import parse_filter
    from nexus_console.domain.alerts import AlertDiff

    rng = random.Random(7)
    base = _alerts(0, COUNT, rng)
    loads, batches, filters = [], [], []
    resets = 0
    for _ in range(3):
        table = _Table()
        loads.append(table.drain(AlertDiff(base)))
        table.resets = 0
        for round_ in range(5):
            batches.append(table.drain(AlertDiff(_alerts(COUNT + round_ * BATCH, BATCH, rng))))
        resets += table.resets
        if not filters:
            for text in ("severity>=high service=~svc-1 @age>10m", "", "@state=firing owner", "", "svc-07"):
                started = time.perf_counter()
                table.proxy.set_filter(parse_filter(text))
                table.view.viewport().repaint()
                table.app.processEvents()
                filters.append((time.perf_counter() - started) * 1000)
        table.close()
    return {
        "load_ms": statistics.median(loads),
        "batch_ms": statistics.median(batches),
        "filter_ms": statistics.median(filters),
        "resets": resets,
    }


def run() -> list[dict]:
    figures = measure()
    return [
        {
            "name": "alert_model_load_100k_ms",
            "value": round(figures["load_ms"], 1),
            "unit": "ms",
            "target": "informational",
            "note": "100k alerts drained into model + sorting proxy + shown 1600×900 table; median of 3",
        },
        {
            "name": "alert_batch_1k_into_100k_ms",
            "value": round(figures["batch_ms"], 1),
            "unit": "ms",
            "target": "< 250 (one drain interval)",
            "note": f"one drain of 1k new alerts, re-sorted and repainted; median of 15; "
            f"modelReset after the initial load: {figures['resets']}",
        },
        {
            "name": "alert_filter_new_100k_ms",
            "value": round(figures["filter_ms"], 1),
            "unit": "ms",
            "target": "informational",
            "note": "five whole filters (not keystrokes: that is alert_filter_ms_100k) over 100k alerts to "
            "the repainted view; median of 5",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

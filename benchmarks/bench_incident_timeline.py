"""One incident's timeline at 10,000 events: assembled from every source and shown in the Incidents pane's
Timeline view (`views.incidents.timeline_view.TimelineView`), offscreen at 1366×768.

Inputs (seeded, not timed): an `Incident` read with `Incident.from_json` (resolved, three hours long, five
milestones), 1,995 server timeline entries read with `TimelineEntry.from_json` (notes, status, severity,
role and field changes, actions, alert links, custom events; some pinned, some hidden), 6,000 transitions of
its linked alerts and of alerts on its services from the alert history, and 2,000 audit entries as GET
/audit returns them: 10,000 events. Beside them, inputs the assembly must drop: 600 transitions of alerts
on other services and 200 `incident.*` / `alert.*` audit entries.

- incident_timeline_10k_ms: `assemble_timeline(...)` plus `TimelineView.set_events(...)` on a freshly shown
  view, its table repainted and events processed (the first paint included); median of 5, max in the note.
  Baseline incident_timeline_plain_10k_ms: a plain QTableView (the size of the view's table, same row
  height) over a trivial model of 10,000 precomputed five-column rows, reset and repainted the same way.
- incident_timeline_scroll_max_stall_ms: with the 10,000 events shown, the table's vertical scroll bar
  stepped a page at a time from top to bottom, each step repainted and events processed; the longest step
  of 5 passes. Baseline incident_timeline_plain_scroll_max_stall_ms: the plain table scrolled the same way.

The modules and the QApplication are frozen out of the garbage collector's reach first (`gc.freeze()`), as
the console freezes what exists once its window is up; the collections during the scrolling are counted.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

EVENTS = 10_000
TRANSITIONS = 6_000
AUDIT = 2_000
MILESTONES = 5
ENTRIES = EVENTS - TRANSITIONS - AUDIT - MILESTONES
DROPPED_TRANSITIONS = 600
DROPPED_AUDIT = 200
SIZE = (1366, 768)
RUNS = 5
T0 = datetime(2026, 12, 6, 14, 0, tzinfo=UTC).timestamp()
SPAN_S = 3 * 3600.0
SERVICES = ("orders", "payments", "checkout")
ENTRY_KINDS = ("note", "note", "note", "status", "severity", "role", "field", "action", "action", "alert")
AUDIT_ACTIONS = ("user.suspend", "user.reset_password", "vendor.set_commission", "feature.toggle")


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def _rfc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def _incident() -> Any:
    from nexus_console.domain.incidents import Incident

    return Incident.from_json(
        {
            "id": 4711,
            "title": "Checkout errors after the payments deploy",
            "severity": "critical",
            "status": "resolved",
            "commander": "ana@example.com",
            "responders": [{"email": "bo@example.com", "role": "ops"}],
            "services": list(SERVICES),
            "alert_ids": list(range(1, 41)),
            "summary": "5xx on checkout after payments 2.14 rolled out",
            "impact_started_at": _rfc(T0),
            "detected_at": _rfc(T0 + 240),
            "acknowledged_at": _rfc(T0 + 360),
            "mitigated_at": _rfc(T0 + 2 * 3600),
            "resolved_at": _rfc(T0 + SPAN_S),
            "closed_at": None,
            "created_by": "ana@example.com",
            "created_at": _rfc(T0 + 300),
            "updated_at": _rfc(T0 + SPAN_S),
            "version": 57,
        }
    )


def _entries(rng: random.Random) -> list[Any]:
    from nexus_console.domain.incident_timeline import TimelineEntry

    entries = []
    for i in range(1, ENTRIES + 1):
        at = T0 + rng.uniform(0, SPAN_S)
        kind = rng.choice(ENTRY_KINDS)
        text = {
            "status": "investigating → fixing",
            "severity": "high → critical",
            "role": "bo@example.com joined as ops",
            "field": "summary changed",
            "alert": f"linked alert {1 + i % 40}",
        }.get(kind, f"restarted order processor pod {i % 12}; error rate {rng.uniform(0, 9):.1f}%")
        entries.append(
            TimelineEntry.from_json(
                {
                    "id": i,
                    "at": _rfc(at),
                    "kind": kind,
                    "author": rng.choice(("ana@example.com", "bo@example.com", "cy@example.com")),
                    "text": text,
                    "ref": str(1 + i % 40) if kind == "alert" else None,
                    "hidden": i % 50 == 0,
                    "pinned": i % 37 == 0,
                    "created_at": _rfc(at + 30),
                    "edited_at": _rfc(at + 90) if i % 20 == 0 else None,
                }
            )
        )
    return entries


def _transitions(rng: random.Random) -> list[Any]:
    from nexus_console.domain.alerts import Alert, AlertState, Severity, Transition

    linked = [
        Alert(
            fingerprint=f"{n:016x}",
            source="nexus",
            name=f"HighErrorRate{n % 7}",
            severity=Severity.CRITICAL if n % 3 else Severity.HIGH,
            state=AlertState.FIRING,
            service=SERVICES[n % 3],
            summary=f"5xx above {n % 9 + 1}% for 5m",
            source_id=str(n),
            ack_by="bo@example.com",
        )
        for n in range(1, 41)
    ]
    on_services = [
        Alert(
            fingerprint=f"am{n:014x}",
            source="alertmanager",
            name=f"LatencyP95High{n % 5}",
            severity=Severity.MEDIUM,
            state=AlertState.FIRING,
            service=SERVICES[n % 3],
            summary="p95 latency above 800 ms",
        )
        for n in range(60)
    ]
    elsewhere = [
        Alert(f"x{n:015x}", "alertmanager", "DiskFilling", Severity.LOW, AlertState.FIRING, service="search")
        for n in range(30)
    ]
    moves = [
        (None, AlertState.PENDING),
        (AlertState.PENDING, AlertState.FIRING),
        (AlertState.FIRING, AlertState.ACKNOWLEDGED),
        (AlertState.ACKNOWLEDGED, AlertState.SILENCED),
        (AlertState.SILENCED, AlertState.FIRING),
        (AlertState.FIRING, AlertState.RESOLVED),
    ]
    alerts = linked + on_services
    transitions = []
    for i in range(TRANSITIONS):
        before, after = moves[i % len(moves)]
        at = T0 - 600 + rng.uniform(0, SPAN_S + 1200)  # inside the window (± the 900 s margin)
        transitions.append(Transition(at, before, after, alerts[rng.randrange(len(alerts))]))
    for i in range(DROPPED_TRANSITIONS):
        before, after = moves[i % len(moves)]
        transitions.append(Transition(T0 + rng.uniform(0, SPAN_S), before, after, elsewhere[i % 30]))
    rng.shuffle(transitions)
    return transitions


def _audit(rng: random.Random) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for i in range(1, AUDIT + DROPPED_AUDIT + 1):
        action = rng.choice(AUDIT_ACTIONS) if i <= AUDIT else rng.choice(("incident.update", "alert.ack"))
        entries.append(
            {
                "id": i,
                "at": _rfc(T0 + rng.uniform(0, SPAN_S) + rng.randrange(1_000_000) / 1e6),
                "actor": "root@example.com",
                "action": action,
                "entity_type": action.split(".")[0],
                "entity_id": str(rng.randrange(1, 1_000_000)),
                "before": {"status": "active"},
                "after": {"status": "suspended"},
                "reason": "card testing from this account" if i % 3 else None,
                "idempotency_key": f"k{i}",
            }
        )
    return entries


def inputs(seed: int = 7) -> tuple[Any, list[Any], list[Any], list[dict[str, Any]]]:
    """The incident, its server entries, the alert history's transitions and the audit entries."""
    rng = random.Random(seed)
    return _incident(), _entries(rng), _transitions(rng), _audit(rng)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _settle(app: Any, table: Any) -> None:
    table.viewport().repaint()
    app.processEvents()


def _scroll(app: Any, table: Any) -> tuple[float, float, float, int]:
    """The table's vertical scroll bar paged top to bottom, each step to the repainted view: the longest
    step, the GUI thread's CPU time in it, the median step (ms) and the number of steps."""
    bar = table.verticalScrollBar()
    bar.setValue(0)
    _settle(app, table)
    steps = []
    while bar.value() < bar.maximum():
        started, cpu = time.perf_counter(), time.thread_time()
        bar.setValue(min(bar.value() + bar.pageStep(), bar.maximum()))
        _settle(app, table)
        steps.append((_ms(started), (time.thread_time() - cpu) * 1000))
    longest = max(steps)
    return longest[0], longest[1], statistics.median(wall for wall, _cpu in steps), len(steps)


def _close(app: Any, widget: Any) -> None:
    from PySide6.QtCore import QEvent

    widget.hide()
    widget.deleteLater()
    app.processEvents()
    # Outside a running event loop processEvents leaves deferred deletes queued: each run's view (and the
    # 10k events it holds) would live on and weigh on the next runs' garbage collections.
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def measure_timeline() -> dict[str, Any]:
    from nexus_console.domain.incident_timeline import assemble_timeline
    from nexus_console.views.incidents.timeline_view import TimelineView

    app = _app()
    incident, entries, transitions, audit = inputs()
    shows, stalls, counts, table_size = [], [], set(), None
    gc_ms: list[float] = []
    gc_show_ms: list[float] = []
    for _ in range(RUNS):
        view = TimelineView()
        view.resize(*SIZE)
        view.show()
        app.processEvents()
        with _GcTimer(gc_show_ms):
            started = time.perf_counter()
            events = assemble_timeline(incident, entries, transitions, audit)
            view.set_events(events)
            _settle(app, view.table)
            shows.append(_ms(started))
        counts.add((len(events), view.model.rowCount()))
        table_size = view.table.size()
        with _GcTimer(gc_ms):
            stalls.append(_scroll(app, view.table))
        _close(app, view)
        del events
    return {
        "shows": shows,
        "stalls": stalls,
        "counts": counts,
        "gc_ms": gc_ms,
        "gc_show_ms": gc_show_ms,
        "table_size": table_size,
    }


class _GcTimer:
    """Collects the duration of every garbage collection while open into `into` (ms)."""

    def __init__(self, into: list[float]) -> None:
        self.into, self.started = into, 0.0

    def __enter__(self) -> None:
        gc.callbacks.append(self._on_gc)

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.into.append(_ms(self.started))


def measure_plain(size: Any) -> dict[str, Any]:
    """A table of `size` (the Timeline view's table) over a model that only hands out precomputed strings."""
    from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
    from PySide6.QtWidgets import QTableView

    from nexus_console.views.table_view import row_table

    class Plain(QAbstractTableModel):
        rows: list[tuple[str, ...]] = []

        def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else len(self.rows)

        def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else 5

        def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.rows[index.row()][index.column()]
            return None

    app = _app()
    rows = [
        (
            f"Sun 06 Dec 2026 14:{i % 60:02d}:{i % 59:02d}",
            "Alert",
            f"HighErrorRate{i % 7} on orders (critical): pending → firing — 5xx above {i % 9}% for 5m",
            "alert history",
            "bo@example.com",
        )
        for i in range(EVENTS)
    ]
    shows, stalls = [], []
    for _ in range(RUNS):
        model = Plain()
        table: QTableView = row_table(model, "plainTable", None, stretch_column=2)
        table.resize(size)
        table.show()
        app.processEvents()
        started = time.perf_counter()
        model.beginResetModel()
        model.rows = rows
        model.endResetModel()
        _settle(app, table)
        shows.append(_ms(started))
        stalls.append(_scroll(app, table))
        _close(app, table)
    return {"shows": shows, "stalls": stalls}


def run() -> list[dict]:
    import nexus_console.views.incidents.timeline_view  # noqa: F401 - imported before the freeze

    _app()
    # As the console does once its window is up (app.py): what exists by then is out of the collector's
    # reach; the inputs, the events and the views made here are not.
    gc.collect()
    gc.freeze()
    try:
        timeline = measure_timeline()
        plain = measure_plain(timeline["table_size"])
    finally:
        gc.unfreeze()
    load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    shows, stalls, gc_ms, gc_show = (timeline[k] for k in ("shows", "stalls", "gc_ms", "gc_show_ms"))
    worst, plain_stalls = max(stalls), plain["stalls"]
    (events, rows), *more = sorted(timeline["counts"])
    differ = ", counts differ between runs" if more else ""
    passes = ", ".join(f"{s[0]:.1f}" for s in stalls)
    plain_passes = ", ".join(f"{s[0]:.1f}" for s in plain_stalls)
    show_base, stall_base = round(statistics.median(plain["shows"]), 1), round(max(plain_stalls)[0], 1)
    return [
        {
            "name": "incident_timeline_10k_ms",
            "value": round(statistics.median(shows), 1),
            "unit": "ms",
            "target": "<= 200",
            "baseline": {"name": "incident_timeline_plain_10k_ms", "value": show_base},
            "note": f"assemble_timeline + TimelineView.set_events + first paint, {events:,} events "
            f"({rows:,} rows shown: hidden entries filtered out{differ}) at {SIZE[0]}×{SIZE[1]} offscreen; "
            f"median of {RUNS}, max {max(shows):.1f} (plain max {max(plain['shows']):.1f}); {len(gc_show)} "
            f"garbage collections in the {RUNS} runs, longest {max(gc_show, default=0.0):.1f} ms; {load}",
        },
        {
            "name": "incident_timeline_scroll_max_stall_ms",
            "value": round(worst[0], 1),
            "unit": "ms",
            "target": "<= 16",
            "baseline": {"name": "incident_timeline_plain_scroll_max_stall_ms", "value": stall_base},
            "note": f"vertical scroll bar paged top to bottom ({worst[3]} steps), each step repainted; "
            f"longest step of {RUNS} passes (GUI thread CPU in it {worst[1]:.1f} ms; passes {passes}; plain "
            f"{plain_passes}); median step {statistics.median(s[2] for s in stalls):.1f} ms (plain "
            f"{statistics.median(s[2] for s in plain_stalls):.1f}); {len(gc_ms)} garbage collections while "
            f"scrolling, longest {max(gc_ms, default=0.0):.1f} ms; {load}",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

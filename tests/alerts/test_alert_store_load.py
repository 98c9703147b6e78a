"""A load of 100k alerts into the store, and a 1k-alert diff into it: measured, with generous bounds."""

from __future__ import annotations

import time
from dataclasses import replace

from nexus_console.domain.alert_filter import parse_filter
from nexus_console.domain.alert_grouping import group_alerts
from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity

SEVERITIES = list(Severity)
SERVICES = [f"service-{i:02d}" for i in range(44)]


def build_alerts(count: int) -> list[Alert]:
    return [
        Alert(
            fingerprint=f"{i:016x}",
            source="alertmanager",
            name=f"Rule{i % 50}",
            severity=SEVERITIES[i % 4],
            state=AlertState.FIRING,
            service=SERVICES[i % 44],
            labels={"alertname": f"Rule{i % 50}", "instance": f"host-{i}", "team": f"team-{i % 7}"},
            summary=f"alert number {i}",
            starts_at=1_000.0 + i,
        )
        for i in range(count)
    ]


def test_a_100k_load_and_a_1k_diff_apply_quickly_and_report_exact_rows() -> None:
    alerts = build_alerts(100_000)
    store = AlertStore()
    started = time.perf_counter()
    change = store.apply(AlertDiff(tuple(alerts)), now=2_000.0)
    load_s = time.perf_counter() - started
    assert len(store) == 100_000 and change.inserted == range(0, 100_000)

    # 1k diff: 400 changed in place, 300 removed, 300 new
    changed = [replace(alerts[i], state=AlertState.ACKNOWLEDGED, ack_by="ops") for i in range(0, 40_000, 100)]
    removed = tuple(alerts[i].key for i in range(50, 90_000, 300))
    new = build_alerts(100_300)[100_000:]
    diff = AlertDiff(upserts=(*changed, *new), removals=removed)
    started = time.perf_counter()
    change = store.apply(diff, now=2_001.0)
    diff_s = time.perf_counter() - started
    assert len(removed) == 300
    assert len(store) == 100_000
    assert len(change.changed) == 400 and len(change.inserted) == 300
    assert sum(last - first + 1 for first, last in change.removed) == 300
    assert len(change.transitions) == 400 + 300 + 300

    started = time.perf_counter()
    selected = parse_filter("severity>=high team=~team-[12] @state=firing").select(store, 2_001.0)
    filter_s = time.perf_counter() - started
    assert selected and all(a.severity.rank >= 2 and a.state is AlertState.FIRING for a in selected)
    started = time.perf_counter()
    groups = group_alerts(store, "service")
    group_s = time.perf_counter() - started
    assert sum(g.count for g in groups) == 100_000

    print(
        f"\nAlertStore.apply: 100k alerts {load_s * 1000:.0f} ms; 1k diff into 100k {diff_s * 1000:.1f} ms; "
        f"filter over 100k {filter_s * 1000:.0f} ms; group by service {group_s * 1000:.0f} ms"
    )
    # Generous: 2 shared cores, other suites running.
    assert load_s < 5.0
    assert diff_s < 0.5

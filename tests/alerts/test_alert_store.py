"""The AlertStore applies diffs and reports the rows a table model must announce."""

from __future__ import annotations

from dataclasses import replace

from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import (
    AlertDiff,
    AlertState,
    Severity,
    coalesce_diffs,
    diff_snapshot,
    label_fingerprint,
    parse_rfc3339,
)
from tests.alerts.conftest import make_alert


def test_new_alerts_are_appended_as_one_inserted_range_with_transitions_from_nothing() -> None:
    store = AlertStore()
    a, b = make_alert("A"), make_alert("B")
    change = store.apply(AlertDiff((a, b)), now=10.0)
    assert change.inserted == range(0, 2)
    assert change.removed == () and change.changed == ()
    assert [(t.before, t.after, t.alert.name) for t in change.transitions] == [
        (None, AlertState.FIRING, "A"),
        (None, AlertState.FIRING, "B"),
    ]
    assert [alert.name for alert in store] == ["A", "B"]
    assert store.at_row(1) is b and store.row_of(a.key) == 0


def test_an_unchanged_upsert_reports_nothing() -> None:
    store = AlertStore()
    alert = make_alert()
    store.apply(AlertDiff((alert,)), now=1.0)
    change = store.apply(AlertDiff((replace(alert),)), now=2.0)
    assert not change and change.transitions == ()


def test_a_changed_alert_keeps_its_row_and_a_state_change_is_a_transition() -> None:
    store = AlertStore()
    alerts = [make_alert(f"A{i}") for i in range(3)]
    store.apply(AlertDiff(tuple(alerts)), now=1.0)
    acked = replace(alerts[1], state=AlertState.ACKNOWLEDGED, ack_by="alice")
    relabelled = replace(alerts[2], summary="new text")
    change = store.apply(AlertDiff((acked, relabelled)), now=2.0)
    assert change.changed == (1, 2)
    assert change.inserted == range(3, 3)
    assert [(t.before, t.after) for t in change.transitions] == [(AlertState.FIRING, AlertState.ACKNOWLEDGED)]
    assert store.get(acked.key) == acked


def test_removals_come_as_descending_row_ranges_and_resolve_the_alert() -> None:
    store = AlertStore()
    alerts = [make_alert(f"A{i}") for i in range(8)]
    store.apply(AlertDiff(tuple(alerts)), now=1.0)
    gone = [alerts[i].key for i in (1, 2, 3, 6)]
    change = store.apply(AlertDiff(removals=(*gone, "missing:key")), now=5.0)
    assert change.removed == ((6, 6), (1, 3))
    assert [alert.name for alert in store] == ["A0", "A4", "A5", "A7"]
    assert [store.row_of(alerts[i].key) for i in (0, 4, 5, 7)] == [0, 1, 2, 3]
    resolved = [t for t in change.transitions if t.after is AlertState.RESOLVED]
    assert len(resolved) == 4
    assert all(t.alert.ends_at == 5.0 for t in resolved)


def test_a_model_replaying_the_change_in_order_ends_with_the_stores_rows() -> None:
    store = AlertStore()
    alerts = [make_alert(f"A{i}") for i in range(10)]
    store.apply(AlertDiff(tuple(alerts)), now=1.0)
    model_rows = [alert.key for alert in store]
    changed = replace(alerts[7], severity=Severity.CRITICAL)
    extra = make_alert("New")
    change = store.apply(
        AlertDiff(upserts=(changed, extra), removals=(alerts[0].key, alerts[4].key, alerts[5].key)), now=2.0
    )
    for first, last in change.removed:
        del model_rows[first : last + 1]
    for row in change.changed:
        assert model_rows[row] == store.at_row(row).key
    model_rows.extend(store.at_row(row).key for row in change.inserted)
    assert model_rows == [alert.key for alert in store]
    assert store.at_row(change.changed[0]).severity is Severity.CRITICAL


def test_diff_snapshot_adds_changes_and_removes_only_what_differs() -> None:
    a, b, c = make_alert("A"), make_alert("B"), make_alert("C")
    previous = {a.key: a, b.key: b}
    b2 = replace(b, state=AlertState.SILENCED)
    diff = diff_snapshot(previous, [b2, c])
    assert diff.upserts == (b2, c)
    assert diff.removals == (a.key,)


def test_snapshot_diff_touches_only_its_own_source() -> None:
    store = AlertStore()
    nexus = make_alert("N", source="nexus")
    am = make_alert("M", source="alertmanager")
    store.apply(AlertDiff((nexus, am)), now=1.0)
    diff = store.diff_for_snapshot("alertmanager", [])
    assert diff.removals == (am.key,)
    assert diff.upserts == ()


def test_expired_acks_are_raised_again_as_firing() -> None:
    store = AlertStore()
    acked = make_alert("A", state=AlertState.ACKNOWLEDGED, ack_by="bob", ack_at=100.0, ack_expires_at=400.0)
    store.apply(AlertDiff((acked, make_alert("B"))), now=100.0)
    assert store.expired_acks(now=399.0).upserts == ()
    diff = store.expired_acks(now=400.0)
    assert [(a.name, a.state, a.ack_by) for a in diff.upserts] == [("A", AlertState.FIRING, None)]
    change = store.apply(diff, now=400.0)
    assert [(t.before, t.after) for t in change.transitions] == [(AlertState.ACKNOWLEDGED, AlertState.FIRING)]
    assert store.expired_acks(now=1_000.0).upserts == ()


def test_age_ack_age_and_pending_countdown() -> None:
    pending = make_alert(state=AlertState.PENDING, starts_at=1_000.0, pending_for_s=300.0)
    assert pending.age_s(1_190.0) == 190.0
    assert pending.pending_label(1_190.0) == "pending 3/5 min"
    assert pending.pending_label(9_999.0) == "pending 5/5 min"
    short = replace(pending, pending_for_s=30.0)
    assert short.pending_label(1_012.5) == "pending 12/30 s"
    assert make_alert().pending_label(2_000.0) is None
    acked = make_alert(state=AlertState.ACKNOWLEDGED, ack_at=1_500.0, ack_expires_at=2_000.0)
    assert acked.ack_age_s(1_620.0) == 120.0
    assert not acked.ack_expired(1_999.0) and acked.ack_expired(2_000.0)


def test_label_fingerprint_is_alertmanagers_fnv1a_over_sorted_labels() -> None:
    # The fingerprint Alertmanager 0.25 reported for exactly these labels.
    labels = {
        "alertname": "NexusTestAlwaysFiring",
        "service": "order-processor",
        "severity": "critical",
        "team": "ops",
    }
    assert label_fingerprint(labels) == "971aa143c6199594"
    assert label_fingerprint({}) == "cbf29ce484222325"
    assert label_fingerprint({"a": "b"}) != label_fingerprint({"b": "a"})


def test_rfc3339_parsing_accepts_nanoseconds_and_rejects_nothing_valid() -> None:
    assert parse_rfc3339("2026-11-23T14:30:00Z") == 1_795_444_200.0
    assert parse_rfc3339("2026-11-23T14:30:00.123456789Z") == 1_795_444_200.123456
    assert parse_rfc3339("2026-11-23T15:30:00+01:00") == 1_795_444_200.0
    assert parse_rfc3339("0001-01-01T00:00:00Z") is None
    assert parse_rfc3339("") is None and parse_rfc3339(None) is None


def test_severity_words_from_other_tools_map_to_four_levels() -> None:
    assert Severity.parse("warning") is Severity.MEDIUM
    assert Severity.parse("page") is Severity.CRITICAL
    assert Severity.parse("error") is Severity.HIGH
    assert Severity.parse("info") is Severity.LOW
    assert Severity.parse(None) is Severity.MEDIUM
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank > Severity.LOW.rank


def test_coalesced_diffs_keep_the_last_word_on_each_key() -> None:
    a, b, c = make_alert("A"), make_alert("B"), make_alert("C")
    a2 = replace(a, state=AlertState.ACKNOWLEDGED)
    merged = coalesce_diffs(
        [
            AlertDiff((a, b)),
            AlertDiff((a2,), removals=(b.key,)),
            AlertDiff((c,)),
            AlertDiff(removals=(c.key,)),
        ]
    )
    assert merged.upserts == (a2,)
    assert set(merged.removals) == {b.key, c.key}

    one_by_one, at_once = AlertStore(), AlertStore()
    start = AlertDiff((b, c))
    one_by_one.apply(start, 0.0)
    at_once.apply(start, 0.0)
    steps = [AlertDiff((a,)), AlertDiff(removals=(b.key,)), AlertDiff((a2, b)), AlertDiff(removals=(c.key,))]
    for step in steps:
        one_by_one.apply(step, 1.0)
    at_once.apply(coalesce_diffs(steps), 1.0)
    assert {x.key: x for x in one_by_one} == {x.key: x for x in at_once}

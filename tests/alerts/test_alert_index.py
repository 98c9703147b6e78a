"""The alert index answers a filter exactly as the filter itself does, on every kind of term, and keeps
up with alerts that change and go."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from nexus_console.domain.alert_filter import parse_filter
from nexus_console.domain.alert_index import AlertIndex
from nexus_console.domain.alerts import AlertState, Severity
from tests.alerts.conftest import make_alert

NOW = 1_000_000.0
FILTERS = (
    "",
    "severity>=high",
    "severity=critical service=~svc-1",
    "service!=svc-03 @state=firing",
    "@state!~ack @age>10m",
    "svc-07",
    "s",
    "ORDERS db",
    "@source=nexus team=ops",
    "alertname=~^Rule1 @ack=olive",
    'team!=ops "error rate"',
    "namespace=ns2 value>50",
    "@silenced=false @age<1h severity<=medium",
)


def alerts(count: int, seed: int = 3) -> list:
    rng = random.Random(seed)
    made = []
    for i in range(count):
        service = f"svc-{i % 12:02d}"
        made.append(
            make_alert(
                f"Rule{i % 17}",
                fingerprint=f"fp{i:05d}",
                source=rng.choice(("nexus", "alertmanager", "local")),
                severity=rng.choice(list(Severity)),
                state=rng.choice((AlertState.FIRING, AlertState.PENDING, AlertState.ACKNOWLEDGED)),
                service=service,
                namespace=f"ns{i % 4}",
                labels={"alertname": f"Rule{i % 17}", "service": service, "team": rng.choice(("ops", "db"))},
                summary=rng.choice(("error rate high on orders", "latency", "DB replica lag")),
                starts_at=NOW - rng.uniform(0, 7200),
                ack_by=rng.choice((None, "olive", "ann")),
                value=rng.uniform(0, 100),
            )
        )
    return made


@pytest.mark.parametrize("text", FILTERS)
def test_the_index_matches_exactly_what_the_filter_matches(text: str) -> None:
    queue = alerts(600)
    index = AlertIndex()
    index.put_many(queue)
    alert_filter = parse_filter(text)
    ordered = [a.key for a in reversed(queue)]  # any display order
    expected = [a.key for a in alert_filter.select(reversed(queue), NOW)]
    assert index.select(alert_filter, NOW, index.ordered(ordered)) == expected


def test_an_empty_filter_keeps_every_alert_in_order() -> None:
    queue = alerts(10)
    index = AlertIndex()
    index.put_many(queue)
    ordered = [a.key for a in queue]
    assert index.select(parse_filter(""), NOW, index.ordered(ordered)) == ordered


def test_changed_and_removed_alerts_are_found_by_their_new_values_only() -> None:
    queue = alerts(200)
    index = AlertIndex()
    index.put_many(queue)
    moved = replace(queue[0], service="svc-99", summary="moved away")
    index.put(moved)
    index.remove(queue[1].key)
    ordered = [moved.key, *(a.key for a in queue[2:])]
    assert index.select(parse_filter("service=svc-99"), NOW, index.ordered(ordered)) == [moved.key]
    same_service = parse_filter(f"service={queue[0].service}")
    assert queue[0].key not in index.select(same_service, NOW, index.ordered(ordered[1:]))
    assert len(index) == 199


def test_typing_and_erasing_on_one_view_matches_the_filter_at_every_keystroke() -> None:
    queue = alerts(600)
    index = AlertIndex()
    index.put_many(queue)
    view = index.ordered([a.key for a in queue])
    word = "svc-07 orders"
    typed = [word[: i + 1] for i in range(len(word))]
    for text in (*typed, *reversed(typed), "lag", "la", "l", "latency"):
        for extra in ("", " @state!=firing", " severity>=high service!=svc-03"):
            alert_filter = parse_filter(text + extra)
            expected = [a.key for a in alert_filter.select(queue, NOW)]
            assert index.select(alert_filter, NOW, view) == expected, text + extra


def test_a_view_reads_again_after_an_alert_changed_between_two_keystrokes() -> None:
    queue = alerts(100)
    index = AlertIndex()
    index.put_many(queue)
    view = index.ordered([a.key for a in queue])
    firing = [a.key for a in queue if a.state is AlertState.FIRING]
    assert index.select(parse_filter("@state=firing rate"), NOW, view) == [
        key for key in firing if "rate" in next(a for a in queue if a.key == key).summary
    ]
    index.put(replace(queue[0], state=AlertState.FIRING, summary="a brand new rate"))
    index.put(replace(queue[1], state=AlertState.RESOLVED))
    shown = index.select(parse_filter("@state=firing rate"), NOW, view)
    assert queue[0].key in shown and queue[1].key not in shown
    assert index.select(parse_filter("brand"), NOW, view) == [queue[0].key]

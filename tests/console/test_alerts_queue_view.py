"""The alert queue view keeps its detail honest and says why it is empty: the detail never shows an alert
the queue no longer lists (resolved, or filtered out), and an empty table says whether nothing matches the
filter or nothing needs anyone."""

from __future__ import annotations

from typing import Any

import pytest

from nexus_console.domain.alert_filter import parse_filter
from nexus_console.domain.alerts import AlertDiff
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.views.alerts.queue_view import AlertQueueView
from tests.console.test_alerts_model import NOW, make_alert


@pytest.fixture
def view(qtbot: Any) -> Any:
    queue = AlertQueue(clock=lambda: NOW)
    view = AlertQueueView(queue.store, queue.changes, clock=lambda: NOW)
    qtbot.addWidget(view)
    view.resize(1400, 600)
    view.show()
    queue.submit(AlertDiff(tuple(make_alert(i) for i in range(6))))
    queue.drain()
    view.set_filter(parse_filter(""))
    yield queue, view
    view.shutdown()


def test_the_detail_lets_go_of_an_alert_that_leaves_the_queue(view: Any) -> None:
    queue, queue_view = view
    queue_view.table.selectRow(0)
    shown = queue_view.detail.alert
    assert shown is not None
    queue.submit(AlertDiff(removals=(shown.key,)))
    queue.drain()
    now_shown = queue_view.detail.alert
    # nothing, or the row that became current: never the alert that left
    assert now_shown is None or (now_shown.key != shown.key and now_shown is queue_view.current_alert())


def test_the_detail_lets_go_of_an_alert_the_filter_hides(view: Any) -> None:
    _queue, queue_view = view
    queue_view.table.selectRow(0)
    assert queue_view.detail.alert is not None
    queue_view.set_filter(parse_filter("service=no-such-service"))
    assert queue_view.detail.alert is None
    assert queue_view.detail.header.text() == "Select an alert"


def test_an_empty_result_says_the_filter_matched_nothing(view: Any) -> None:
    _queue, queue_view = view
    queue_view.set_filter(parse_filter("service=no-such-service"))
    assert queue_view.empty_label.isVisible()
    assert queue_view.empty_label.text().startswith("No alert matches “service=no-such-service”.")
    queue_view.set_filter(parse_filter(""))
    assert not queue_view.empty_label.isVisible()


def test_an_empty_queue_says_nothing_needs_anyone(qtbot: Any) -> None:
    queue = AlertQueue(clock=lambda: NOW)
    queue_view = AlertQueueView(queue.store, queue.changes, clock=lambda: NOW)
    qtbot.addWidget(queue_view)
    queue_view.show()
    queue_view.set_filter(parse_filter(""))
    assert queue_view.empty_label.isVisible()
    assert queue_view.empty_label.text() == "No open alerts: nothing needs anyone right now."
    queue_view.shutdown()

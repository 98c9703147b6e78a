"""The one bridge from asyncio to Qt: feeds, FeedWatcher (coalesced or every value), Coalescer, and a pane's
watchers and clocks that pause while it is hidden."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from nexus_console.services.feeds import ChangeFeed, Feed
from nexus_console.views.pane import Pane
from nexus_console.workers.bridge import Coalescer, FeedWatcher, Watchers
from tests.console.conftest import QLoop
from tests.support.session import window_session


def test_a_feed_tells_every_subscriber_and_a_failing_one_does_not_stop_the_others() -> None:
    feed: Feed[int] = Feed("numbers")
    seen: list[int] = []

    def broken(_value: int) -> None:
        raise RuntimeError("subscriber bug")

    feed.subscribe(broken)
    unsubscribe = feed.subscribe(seen.append)
    feed.publish(1)
    unsubscribe()
    feed.publish(2)
    assert seen == [1]
    assert feed.latest == 2


def test_an_immediate_watcher_sees_every_value_in_order(qapp: Any) -> None:
    feed: Feed[int] = Feed("changes", initial=0)
    seen: list[int] = []
    watcher = FeedWatcher(feed, seen.append, batch_ms=None)
    for value in (1, 2, 3):
        feed.publish(value)
    assert seen == [0, 1, 2, 3], "the current value first, then every change at once"
    watcher.close()
    feed.publish(4)
    assert seen == [0, 1, 2, 3]
    assert feed.subscriber_count() == 0


def test_a_coalesced_watcher_delivers_the_latest_value_once_per_batch(qloop: QLoop) -> None:
    feed: Feed[int] = Feed("status")
    seen: list[int] = []
    watcher = FeedWatcher(feed, seen.append, batch_ms=20)

    async def scenario() -> None:
        for value in range(100):
            feed.publish(value)
        assert seen == [], "nothing before the batch ends"
        await asyncio.sleep(0.1)
        assert seen == [99]
        feed.publish(100)
        watcher.flush()
        assert seen == [99, 100]

    qloop.run(scenario())
    watcher.close()


def test_a_paused_watcher_delivers_only_the_latest_value_when_it_resumes(qloop: QLoop) -> None:
    feed: Feed[str] = Feed("status")
    seen: list[str] = []
    watcher = FeedWatcher(feed, seen.append, batch_ms=0)

    async def scenario() -> None:
        watcher.pause()
        for value in ("a", "b", "c"):
            feed.publish(value)
        await asyncio.sleep(0.05)
        assert seen == [], "a hidden pane does no work"
        watcher.resume()
        assert seen == ["c"]
        watcher.pause()
        await asyncio.sleep(0.05)
        watcher.resume()
        assert seen == ["c"], "nothing new arrived: nothing to deliver"

    qloop.run(scenario())
    watcher.close()


def test_a_coalescer_makes_one_call_of_many_requests(qloop: QLoop) -> None:
    calls: list[int] = []
    coalescer = Coalescer(lambda: calls.append(1), delay_ms=10)

    async def scenario() -> None:
        for _ in range(50):
            coalescer.request()
        assert coalescer.pending()
        await asyncio.sleep(0.08)
        assert calls == [1]
        coalescer.request()
        coalescer.cancel()
        await asyncio.sleep(0.05)
        assert calls == [1]

    qloop.run(scenario())


def test_watchers_clocks_start_on_the_first_show_and_stop_while_hidden(qapp: Any) -> None:
    owner = QWidget()
    watchers = Watchers(owner)
    ticks: list[int] = []
    timer = watchers.every(1000, lambda: ticks.append(1), name="clock")
    assert not timer.isActive(), "no clock before the owner is shown"
    watchers.set_active(True)
    assert timer.isActive()
    watchers.set_active(False)
    assert not timer.isActive()
    watchers.close()
    owner.deleteLater()


class CountingPane(Pane):
    title = "Counting"

    def __init__(self, session: Any, feed: Feed[int]) -> None:
        super().__init__(session)
        self.values: list[int] = []
        self.watch(feed, self.values.append)
        self.clock = self.every(1000, lambda: None, name="countingClock")


def test_a_hidden_pane_stops_its_clock_and_catches_up_when_shown(qtbot: Any, qloop: QLoop) -> None:
    feed: Feed[int] = Feed("numbers", initial=1)
    with window_session("viewer") as session:
        pane = CountingPane(session, feed)
        qtbot.addWidget(pane)
        assert pane.values == [1], "the current value at once"

        async def scenario() -> None:
            pane.show()
            assert pane.clock.isActive()
            pane.hide()
            assert not pane.clock.isActive()
            feed.publish(2)
            feed.publish(3)
            await asyncio.sleep(0.05)
            assert pane.values == [1]
            pane.show()
            assert pane.values == [1, 3] and pane.clock.isActive()
            pane.shutdown()
            assert not pane.clock.isActive()
            feed.publish(4)
            await asyncio.sleep(0.05)
            assert pane.values == [1, 3], "a pane that shut down watches nothing"

        qloop.run(scenario())
        assert feed.subscriber_count() == 0


def test_a_feed_of_events_is_never_replayed_and_cannot_be_coalesced(qapp: Any) -> None:
    events: ChangeFeed[str] = ChangeFeed("events")
    events.publish("before anyone watched")
    seen: list[str] = []
    watcher = FeedWatcher(events, seen.append, batch_ms=None)
    events.publish("after")
    assert seen == ["after"], "a model built later starts from its store, not from an old event"
    with pytest.raises(ValueError, match="watch it with batch_ms=None"):
        FeedWatcher(events, seen.append, batch_ms=0)
    watcher.close()

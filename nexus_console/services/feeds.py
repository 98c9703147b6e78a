"""Feeds: how a runtime tells the rest of the console that something changed. Qt-free.

A feed holds the latest value a runtime published and calls every subscriber with each new one. Pollers are
feeds of their `SourceStatus`; `Feed` is the plain kind a runtime publishes by hand (the outbox's changes);
`ChangeFeed` carries events that are never replayed (the alert queue's row changes). The Qt side watches
any of them through `workers.bridge.FeedWatcher`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
log = logging.getLogger(__name__)


class Watchable(Protocol[T_co]):
    """What a watcher needs of a feed: its name, its latest value and a way to hear of new ones."""

    name: str

    @property
    def latest(self) -> T_co | None: ...

    def subscribe(self, callback: Callable[[T_co], None]) -> Callable[[], None]: ...


class Subscribers(Generic[T]):
    """The callbacks of one feed; a failing callback is logged and does not stop the others."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._callbacks: list[Callable[[T], None]] = []

    def add(self, callback: Callable[[T], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unsubscribe

    def notify(self, value: T) -> None:
        for callback in list(self._callbacks):
            try:
                callback(value)
            except Exception:
                log.exception("a subscriber of %s failed", self._owner)

    def __len__(self) -> int:
        return len(self._callbacks)


class Feed(Generic[T]):
    """A value that changes over time: `publish` stores it and tells every subscriber."""

    def __init__(self, name: str, initial: T | None = None) -> None:
        self.name = name
        self._latest = initial
        self._subscribers: Subscribers[T] = Subscribers(name)

    @property
    def latest(self) -> T | None:
        return self._latest

    def publish(self, value: T) -> None:
        self._latest = value
        self._subscribers.notify(value)

    def subscribe(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Call back with every value published from now on; returns the function that unsubscribes."""
        return self._subscribers.add(callback)

    def subscriber_count(self) -> int:
        return len(self._subscribers)


class ChangeFeed(Feed[T]):
    """A feed of changes rather than of states: each change goes to the subscribers present when it is
    published, in order, and none is kept (`latest` stays None). A watcher built later starts from the
    store the changes apply to, so it never applies a change twice. Watch it with `batch_ms=None`: every
    change, at once."""

    @property
    def latest(self) -> T | None:
        return None

    def publish(self, value: T) -> None:
        self._subscribers.notify(value)

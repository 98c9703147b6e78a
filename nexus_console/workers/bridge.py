"""The one way async data reaches Qt: a model or pane watches a feed through a FeedWatcher.

Everything runs on the GUI thread (qasync): runtimes publish on feeds from asyncio tasks, and a watcher
hands each update to its Qt owner either at once (`batch_ms=None`: every value, for models that mirror a
sequence of changes) or coalesced (`batch_ms >= 0`: the latest value, once per batch, for views that only
need the newest picture). A paused watcher (its pane is hidden) remembers that something came and delivers
the latest value when it resumes, so a wall display showing one pane for hours does no work for the others.

`Coalescer` is the one coalescing timer: any number of `request()`s within its delay make one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QTimer

from nexus_console.services.feeds import ChangeFeed, Watchable

T = TypeVar("T")


class Coalescer(QObject):
    """Calls `callback` once, `delay_ms` after the first of any number of `request()` calls."""

    def __init__(
        self, callback: Callable[[], None], delay_ms: int = 0, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._callback = callback
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)

    def request(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def pending(self) -> bool:
        return self._timer.isActive()

    def flush(self) -> None:
        """Make the pending call now (if any)."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    def cancel(self) -> None:
        self._timer.stop()

    def _fire(self) -> None:
        self._callback()


class FeedWatcher(QObject, Generic[T]):
    """Delivers a feed's updates to `on_update` on the GUI thread, at once or coalesced, while not paused.

    The feed's current value (when it has one) is delivered on construction, so a model built after the
    data arrived starts with it.
    """

    def __init__(
        self,
        feed: Watchable[T],
        on_update: Callable[[T], None],
        *,
        batch_ms: int | None = 0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if batch_ms is not None and isinstance(feed, ChangeFeed):
            raise ValueError(f"{feed.name} is a feed of events: watch it with batch_ms=None")
        self.feed = feed
        self._on_update = on_update
        self._paused = False
        self._missed = False
        self._closed = False
        self._coalescer = Coalescer(self._deliver_latest, batch_ms, self) if batch_ms is not None else None
        self._unsubscribe = feed.subscribe(self._arrived)
        if feed.latest is not None:
            on_update(feed.latest)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop delivering; what arrives meanwhile is delivered (the latest of it) on `resume()`."""
        if not self._paused and self._coalescer is not None:
            self._paused = True
            if self._coalescer.pending():
                self._coalescer.cancel()
                self._missed = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            if self._missed:
                self._missed = False
                self._deliver_latest()

    def flush(self) -> None:
        """Deliver a pending coalesced update now (tests, and a pane that is about to be shown)."""
        if self._coalescer is not None and not self._paused:
            self._coalescer.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            if self._coalescer is not None:
                self._coalescer.cancel()

    def _arrived(self, value: T) -> None:
        if self._closed:
            return
        if self._coalescer is None:
            self._on_update(value)
        elif self._paused:
            self._missed = True
        else:
            self._coalescer.request()

    def _deliver_latest(self) -> None:
        latest = self.feed.latest
        if latest is not None and not self._closed:
            self._on_update(latest)


class Watchers(QObject):
    """The watchers and visible-only timers of one owner (a pane, the status bar): paused and resumed
    together, closed together."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pausable: list[FeedWatcher[Any]] = []
        self._always: list[FeedWatcher[Any]] = []
        self._timers: list[QTimer] = []
        # Until the owner is first shown or hidden: watchers deliver, timers wait for the first show.
        self._active: bool | None = None

    def watch(
        self,
        feed: Watchable[T],
        on_update: Callable[[T], None],
        *,
        batch_ms: int | None = 0,
        while_hidden: bool = False,
    ) -> FeedWatcher[T]:
        watcher: FeedWatcher[T] = FeedWatcher(feed, on_update, batch_ms=batch_ms, parent=self)
        (self._always if while_hidden or batch_ms is None else self._pausable).append(watcher)
        if self._active is False and not while_hidden:
            watcher.pause()
        return watcher

    def every(self, interval_ms: int, callback: Callable[[], None], *, name: str = "") -> QTimer:
        """A repeating timer that runs only while the owner is active (shown)."""
        timer = QTimer(self)
        timer.setObjectName(name)
        timer.setInterval(interval_ms)
        timer.timeout.connect(callback)
        self._timers.append(timer)
        if self._active is True:
            timer.start()
        return timer

    def set_active(self, active: bool) -> None:
        if active == self._active:
            return
        self._active = active
        for watcher in self._pausable:
            if active:
                watcher.resume()
            else:
                watcher.pause()
        for timer in self._timers:
            if active:
                timer.start()
            else:
                timer.stop()

    def flush(self) -> None:
        for watcher in (*self._pausable, *self._always):
            watcher.flush()

    def catch_up(self) -> None:
        """While inactive: deliver what the paused feeds hold now, and stay paused. A pane about to be
        shown takes its data a moment before, so showing it costs only the paint (the wall's next item)."""
        if self._active:
            return
        for watcher in self._pausable:
            if watcher.paused:
                watcher.resume()
                watcher.pause()

    def close(self) -> None:
        self._active = False
        for timer in self._timers:
            timer.stop()
        for watcher in (*self._pausable, *self._always):
            watcher.close()
        self._timers.clear()
        self._pausable.clear()
        self._always.clear()

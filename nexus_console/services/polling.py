"""Pollers: one long-lived asyncio task per data source, with timeout, jittered backoff and freshness stamps.

Qt-free. A poller is a feed (`services.feeds.Watchable`) of its `SourceStatus`: models watch it through
`workers.bridge.FeedWatcher`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.freshness import SourceState, SourceStatus, Stamped
from nexus_console.services.feeds import Subscribers
from nexus_console.services.http import describe_error
from nexus_console.services.http.errors import is_permission_denied
from nexus_console.services.source_loop import SourceLoop

__all__ = ["Backoff", "CacheCodec", "Poller", "PollerRegistry", "gather_limited"]

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CacheCodec(Generic[T]):
    """How a poller's value goes to and from JSON for the local cache."""

    encode: Callable[[T], Any]
    decode: Callable[[Any], T]


JSON_CODEC: CacheCodec[Any] = CacheCodec(encode=lambda value: value, decode=lambda value: value)


class Poller(Generic[T]):
    def __init__(
        self,
        name: str,
        fetch: Callable[[], Awaitable[T]],
        interval_s: float,
        *,
        timeout_s: float | Callable[[], float],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        source_time: Callable[[T], float | None] | None = None,
        cache_codec: CacheCodec[T] | None = None,
        host: str | None = None,
    ) -> None:
        if interval_s <= 0 or (not callable(timeout_s) and timeout_s <= 0):
            raise ValueError("interval_s and timeout_s must be positive")
        self.name = name
        self.interval_s = interval_s
        # a number, or a function of what the poller fetches for (the probes' grows with the catalogue)
        self._timeout_s = timeout_s
        # After a failure a poller waits at most its interval (see _failed), whatever its backoff says.
        self.backoff = backoff or Backoff(base_s=min(1.0, interval_s), cap_s=interval_s)
        self.cache_codec = cache_codec
        self.host = host  # the origin it polls; the registry wakes a host's failing pollers when one recovers
        self._fetch = fetch
        self._clock = clock
        self._source_time = source_time
        self._subscribers: Subscribers[SourceStatus[T]] = Subscribers(f"source {name}")
        self._loop = SourceLoop(f"source {name}", self.backoff)
        self._on_recovery: Callable[[Poller[T]], None] | None = None  # the registry's host wake-up
        self.status: SourceStatus[T] = SourceStatus(name, SourceState.CONNECTING)

    @property
    def latest(self) -> SourceStatus[T]:
        return self.status

    def subscribe(self, callback: Callable[[SourceStatus[T]], None]) -> Callable[[], None]:
        """Call back on every status change; returns the function that unsubscribes."""
        return self._subscribers.add(callback)

    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def poke(self) -> None:
        """Skip the wait and poll now."""
        self._loop.poke()

    def restore(self, stamped: Stamped[T]) -> None:
        """Show a value from the local cache until fresh data arrives (the state stays CONNECTING)."""
        if self.status.last_good is None:
            self._publish(replace(self.status, last_good=stamped))

    async def poll_once(self) -> SourceStatus[T]:
        """One attempt: fetch with the timeout, stamp the value or record the failure."""
        try:
            await self._attempt()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
        return self.status

    @property
    def timeout_s(self) -> float:
        return self._timeout_s() if callable(self._timeout_s) else self._timeout_s

    async def run(self) -> None:
        """Poll forever on the shared `SourceLoop` (only cancellation ends it); cancelled by the registry."""
        await self._loop.run(self._attempt, self._failed)

    async def _attempt(self) -> float:
        """Fetch, stamp, publish OK; the wait until the next poll. Raises whatever the fetch raised."""
        started = time.monotonic()
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands as the fetch
        # completes (CPython gh-86296), and the registry's aclose() would then wait forever.
        async with asyncio.timeout(self.timeout_s):
            value = await self._fetch()
        now = self._clock()
        produced = self._source_time(value) if self._source_time is not None else None
        stamped = Stamped(value, produced if produced is not None else now, now, self.interval_s)
        self._loop.succeeded()
        recovered = self.status.state is SourceState.ERROR
        if recovered:
            log.info("source %s recovered", self.name)
        self._publish(SourceStatus(self.name, SourceState.OK, stamped, None, None, now + self.interval_s))
        if recovered and self._on_recovery is not None:
            self._on_recovery(self)
        return max(0.0, self.interval_s - (time.monotonic() - started))

    def _failed(self, exc: Exception) -> float:
        """Publish the failure in words; the wait before the next attempt (never over the interval, so a
        source that comes back is fresh within one interval)."""
        now = self._clock()
        error = describe_error(exc, timeout_s=self.timeout_s)
        log.info("source %s failed: %s", self.name, error)
        delay = self._loop.failure_delay(cap_s=self.interval_s)
        if is_permission_denied(exc):
            # Refused for the user's role: asking again every interval only fills the log. The `me` source
            # notices a change of roles; a new session asks at once.
            delay = max(delay, PERMISSION_RETRY_S)
        since = self.status.error_since if self.status.state is SourceState.ERROR else now
        failing = replace(self.status, state=SourceState.ERROR, error=error, error_since=since)
        self._publish(replace(failing, next_attempt_at=now + delay))
        return delay

    def _publish(self, status: SourceStatus[T]) -> None:
        self.status = status
        self._subscribers.notify(status)


PERMISSION_RETRY_S = 600.0


class SourceCache(Protocol):
    """What the registry needs from services.cache.LocalCache."""

    async def load(self, source: str) -> Stamped[Any] | None: ...

    async def save(self, source: str, stamped: Stamped[Any]) -> None: ...


class PollerRegistry:
    """One poller per source, shared by every pane; one task per poller, cancelled by aclose().

    Pollers of the same `host` recover together: when one of them succeeds after failing, the others of that
    host that are failing are poked out of their backoff, so they are fresh again within moments.

    With a cache, each source's last good value is saved at most once per `cache_every_s` (a 1 s metrics
    source would otherwise rewrite the cache every second), and the newest one is always saved on aclose().
    """

    def __init__(self, cache: SourceCache | None = None, *, cache_every_s: float = 15.0) -> None:
        self._pollers: dict[str, Poller[Any]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._cache = cache
        self._cache_every_s = cache_every_s
        self._last_saved: dict[str, float] = {}
        self._unsaved: dict[str, tuple[Poller[Any], SourceStatus[Any]]] = {}
        self._started = False
        self._closed = False

    def add(self, poller: Poller[T]) -> Poller[T]:
        """Register a source's poller (one per name: a second one is a programming error)."""
        if self._closed:
            raise RuntimeError("the poller registry is closed")
        if poller.name in self._pollers:
            raise ValueError(f"a poller named {poller.name!r} is already registered")
        self._pollers[poller.name] = poller
        poller._on_recovery = self._wake_host
        if self._started:
            self._start_one(poller)
        return poller

    def get(self, name: str) -> Poller[Any] | None:
        return self._pollers.get(name)

    def names(self) -> list[str]:
        return list(self._pollers)

    def pollers(self) -> list[Poller[Any]]:
        return list(self._pollers.values())

    def start(self) -> None:
        """Start a task for every poller (and for pollers created later)."""
        self._started = True
        for poller in self._pollers.values():
            self._start_one(poller)

    def _wake_host(self, recovered: Poller[Any]) -> None:
        """`recovered` succeeded after failing: poll the failing pollers of its host now."""
        if recovered.host is None:
            return
        for other in self._pollers.values():
            failing = other.status.state is SourceState.ERROR
            if other is not recovered and other.host == recovered.host and failing:
                log.info("source %s recovered: polling %s of the same host now", recovered.name, other.name)
                other.poke()

    def poke_all(self) -> None:
        for poller in self._pollers.values():
            poller.poke()

    def running(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    async def aclose(self) -> None:
        """Cancel and await every task."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        # The newest state is what the next start shows: save what the throttle held back, let saves finish.
        for poller, status in list(self._unsaved.values()):
            self._write(poller, status)
        self._unsaved.clear()
        saves = list(self._background)
        if saves:
            _done, stuck = await asyncio.wait(saves, timeout=5.0)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*saves, return_exceptions=True)
        self._background.clear()

    def _start_one(self, poller: Poller[Any]) -> None:
        if poller.name in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._run(poller), name=f"poller:{poller.name}")
        self._tasks[poller.name] = task
        task.add_done_callback(self._report_crash)

    async def _run(self, poller: Poller[Any]) -> None:
        if self._cache is not None and poller.cache_codec is not None:
            await self._restore(poller)
            poller.subscribe(lambda status: self._save(poller, status))
        await poller.run()

    async def _restore(self, poller: Poller[Any]) -> None:
        assert self._cache is not None and poller.cache_codec is not None
        try:
            cached = await self._cache.load(poller.name)
            if cached is not None:
                poller.restore(replace(cached, value=poller.cache_codec.decode(cached.value)))
        except Exception:
            log.warning("cached value of source %s is unusable; ignoring it", poller.name, exc_info=True)

    def _save(self, poller: Poller[Any], status: SourceStatus[Any]) -> None:
        if status.state is not SourceState.OK or status.last_good is None or self._closed:
            return
        now = time.monotonic()
        if now - self._last_saved.get(poller.name, -float("inf")) < self._cache_every_s:
            self._unsaved[poller.name] = (poller, status)
            return
        self._last_saved[poller.name] = now
        self._unsaved.pop(poller.name, None)
        self._write(poller, status)

    def _write(self, poller: Poller[Any], status: SourceStatus[Any]) -> None:
        assert self._cache is not None and poller.cache_codec is not None and status.last_good is not None
        stamped = replace(status.last_good, value=poller.cache_codec.encode(status.last_good.value))
        task = asyncio.get_running_loop().create_task(self._cache.save(poller.name, stamped))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    def _report_crash(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("poller task %s crashed", task.get_name(), exc_info=task.exception())


async def gather_limited(calls: Iterable[Callable[[], Awaitable[R]]], limit: int) -> list[R | BaseException]:
    """Run calls concurrently, at most `limit` at a time; results (or exceptions) in input order."""
    if limit < 1:
        raise ValueError("limit must be >= 1")
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[R]]) -> R:
        async with semaphore:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls), return_exceptions=True)


def api_document_poller(
    name: str,
    fetch: Callable[[], Awaitable[T]],
    *,
    interval_s: float,
    timeout_s: float,
    retry_max_s: float,
    host: str,
) -> Poller[T]:
    """A poller of one JSON document of the Nexus API: cached locally as JSON (shown stale at the next
    start), retried from 1 s up to `retry_max_s`, woken when the API's host answers again."""
    return Poller(
        name,
        fetch,
        interval_s,
        timeout_s=timeout_s,
        backoff=Backoff(1.0, retry_max_s),
        cache_codec=JSON_CODEC,
        host=host,
    )

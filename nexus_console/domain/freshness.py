"""Every figure carries its age: stamped values and the status of a data source."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stamped(Generic[T]):
    value: T
    source_time: float  # epoch s at which the source produced the value, else received_at
    received_at: float  # epoch s, local clock, when the console received it
    interval_s: float  # the poll interval that produced it

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.source_time)

    def is_stale(self, now: float) -> bool:
        return self.age_s(now) > 2 * self.interval_s


class SourceState(StrEnum):
    CONNECTING = "connecting"
    OK = "ok"
    ERROR = "error"  # the last attempt failed


@dataclass(frozen=True, slots=True)
class SourceStatus(Generic[T]):
    name: str
    state: SourceState
    last_good: Stamped[T] | None = None
    error: str | None = None
    error_since: float | None = None  # epoch s of the first failure in the current run of failures
    next_attempt_at: float | None = None

    def is_stale(self, now: float) -> bool:
        # CONNECTING with a last_good means the value came from the local cache: stale until fresh data.
        return self.last_good is None or self.last_good.is_stale(now) or self.state is not SourceState.OK

    def stale_since(self) -> float | None:
        """When the shown data stopped being current: the first failure, else when it aged out."""
        if self.error_since is not None:
            return self.error_since
        if self.state is SourceState.CONNECTING and self.last_good is not None:
            return self.last_good.received_at
        if self.last_good is not None:
            return self.last_good.source_time + 2 * self.last_good.interval_s
        return None


def format_age(age_s: float) -> str:
    """A short human age: '4 s', '3 min', '2 h'."""
    if age_s < 60:
        return f"{age_s:.0f} s"
    if age_s < 3600:
        return f"{age_s // 60:.0f} min"
    return f"{age_s // 3600:.0f} h"


def format_clock(epoch_s: float) -> str:
    """Local wall-clock time HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(epoch_s))


def stale_text(status: SourceStatus[object], now: float) -> str | None:
    """'stale since HH:MM:SS — reason' when the status is stale, else None."""
    if not status.is_stale(now):
        return None
    since = status.stale_since()
    if status.last_good is None and status.error:
        # Nothing was ever shown: "stale" would suggest old data on screen. Say it never loaded, and why.
        return f"not loaded — {status.error}"
    if status.error:
        reason = status.error
    elif status.last_good is None:
        reason = "no data yet"
    elif status.state is SourceState.CONNECTING:
        reason = "last known state from the local cache, connecting"
    else:
        reason = f"no update for {format_age(status.last_good.age_s(now))}"
    if since is None:
        return f"stale — {reason}"
    return f"stale since {format_clock(since)} — {reason}"

"""The alert queue's Qt-free core: one AlertStore fed by every source, with history and acks.

`AlertQueue` applies each source's diffs or full snapshots to the store, publishes what rows changed on
its `changes` feed (the table model and the notifier watch it), keeps transitions for the history file,
raises expired acks again, and routes an ack to the source that owns the alert:

* nexus: `POST /alerts/{id}/acknowledge` (the server knows the owner from the token);
* alertmanager: a silence carrying the owner and the comment, ending at the ack timeout;
* prometheus / local (no server-side ack): a local ack kept over the source's next snapshots until
  it times out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from nexus_console.domain.alert_evaluator import RuleEvaluator
from nexus_console.domain.alert_rules import LOCAL_SOURCE, Rule, parse_rules_toml
from nexus_console.domain.alert_store import AlertStore
from nexus_console.domain.alerts import (
    Alert,
    AlertDiff,
    AlertState,
    StoreChange,
    Transition,
    coalesce_diffs,
)
from nexus_console.domain.detection_rules import DetectionRule, parse_detection_toml
from nexus_console.services.alert_history import AlertHistory
from nexus_console.services.feeds import ChangeFeed, Feed

DEFAULT_ACK_TIMEOUT_S = 3600.0


def default_rules() -> list[Rule]:
    """The packaged rules (the platform's documented thresholds)."""
    text = resources.files("nexus_console.resources").joinpath("default-rules.toml").read_text("utf-8")
    return parse_rules_toml(text, "default-rules.toml")


def default_detection_rules() -> list[DetectionRule]:
    """The packaged security detection rules (the `[[detection]]` tables of the same file)."""
    text = resources.files("nexus_console.resources").joinpath("default-rules.toml").read_text("utf-8")
    return parse_detection_toml(text, "default-rules.toml")


def load_detection_rules_file(path: Path) -> list[DetectionRule]:
    """The [[detection]] rules of a rules file; RuleFileError lists every problem."""
    return parse_detection_toml(Path(path).read_text("utf-8"), Path(path).name)


def load_rules_file(path: Path) -> list[Rule]:
    """Rules from a TOML file; RuleFileError lists every problem, prefixed with the file name."""
    return parse_rules_toml(Path(path).read_text("utf-8"), Path(path).name)


class AcknowledgingSource(Protocol):
    name: str


@dataclass(frozen=True, slots=True)
class LocalAck:
    owner: str
    comment: str
    at: float
    expires_at: float


class AlertQueue:
    """The store plus everything that writes to it."""

    def __init__(
        self,
        *,
        store: AlertStore | None = None,
        history: AlertHistory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store or AlertStore()
        self.history = history
        self.clock = clock
        self.sources: dict[str, Any] = {}
        self.changes: Feed[StoreChange] = ChangeFeed("alert_queue")
        self._unrecorded: list[Transition] = []
        self._local_acks: dict[str, LocalAck] = {}
        self._pending_diffs: list[AlertDiff] = []
        self._pending_snapshots: dict[str, list[Alert]] = {}

    def add_source(self, source: AcknowledgingSource) -> None:
        """Register a source so acks of its alerts go to it (by `source.name`)."""
        self.sources[source.name] = source

    def subscribe(self, callback: Callable[[StoreChange], None]) -> Callable[[], None]:
        """Call back with every applied change (the `changes` feed); returns the unsubscribe function."""
        return self.changes.subscribe(callback)

    def apply(self, diff: AlertDiff) -> StoreChange:
        """Apply a source's diff (events, or the result of `diff_for_snapshot`)."""
        now = self.clock()
        if self._local_acks:
            diff = AlertDiff(tuple(self._with_local_ack(a, now) for a in diff.upserts), diff.removals)
            for key in diff.removals:
                self._local_acks.pop(key, None)
        change = self.store.apply(diff, now)
        self._unrecorded.extend(change.transitions)
        if change:
            self.changes.publish(change)
        return change

    def apply_snapshot(self, source: str, alerts: Iterable[Alert]) -> StoreChange:
        """Make the store's alerts of `source` exactly `alerts` (a poll result)."""
        now = self.clock()
        alerts = [self._with_local_ack(a, now) for a in alerts] if self._local_acks else list(alerts)
        return self.apply(self.store.diff_for_snapshot(source, alerts))

    def submit(self, diff: AlertDiff) -> None:
        """Buffer a diff until `drain()` (the runtime drains on a short timer, coalescing bursts)."""
        self._pending_diffs.append(diff)

    def submit_snapshot(self, source: str, alerts: Iterable[Alert]) -> None:
        """Buffer a full snapshot until `drain()`; a newer snapshot of the same source replaces it."""
        self._pending_snapshots[source] = list(alerts)

    def drain(self) -> StoreChange:
        """Apply everything buffered as one diff, so subscribers get one batch of row changes."""
        now = self.clock()
        diffs = self._pending_diffs
        for source, alerts in self._pending_snapshots.items():
            if self._local_acks:
                alerts = [self._with_local_ack(a, now) for a in alerts]
            diffs.append(self.store.diff_for_snapshot(source, alerts))
        self._pending_diffs, self._pending_snapshots = [], {}
        return self.apply(coalesce_diffs(diffs))

    def follow_poller(self, poller: Any, source: str) -> Callable[[], None]:
        """Apply each new good result of a services.polling.Poller whose value is list[Alert]."""
        last_seen: list[object] = [None]

        def on_status(status: Any) -> None:
            stamped = status.last_good
            if stamped is not None and stamped is not last_seen[0]:
                last_seen[0] = stamped
                self.apply_snapshot(source, stamped.value)

        return poller.subscribe(on_status)

    def tick(self) -> StoreChange:
        """Raise again the acknowledged alerts whose ack timed out."""
        now = self.clock()
        for key, ack in list(self._local_acks.items()):
            if now >= ack.expires_at:
                del self._local_acks[key]
        return self.apply(self.store.expired_acks(now))

    def _with_local_ack(self, alert: Alert, now: float) -> Alert:
        ack = self._local_acks.get(alert.key)
        if ack is None or alert.state not in (AlertState.FIRING, AlertState.PENDING):
            return alert
        if now >= ack.expires_at:
            self._local_acks.pop(alert.key, None)
            return alert
        return replace(
            alert,
            state=AlertState.ACKNOWLEDGED,
            ack_by=ack.owner,
            ack_at=ack.at,
            ack_expires_at=ack.expires_at,
        )

    async def acknowledge(
        self, alert: Alert, *, owner: str, comment: str = "", timeout_s: float = DEFAULT_ACK_TIMEOUT_S
    ) -> None:
        """Acknowledge at the alert's source; the store shows it acknowledged once the source says so
        (at once for Nexus and local acks, at the next poll for Alertmanager)."""
        source = self.sources.get(alert.source)
        if alert.source == "nexus" and source is not None:
            await source.acknowledge(alert, comment=comment, timeout_s=timeout_s)
        elif alert.source == "alertmanager" and source is not None:
            await source.acknowledge(alert, owner=owner, comment=comment, timeout_s=timeout_s)
        else:
            now = self.clock()
            self._local_acks[alert.key] = LocalAck(owner, comment, now, now + timeout_s)
            current = self.store.get(alert.key)
            if current is not None:
                self.apply(AlertDiff((self._with_local_ack(current, now),)))

    async def unacknowledge(self, alert: Alert) -> None:
        """Undo an ack: expire the Alertmanager silences, or drop the local ack."""
        source = self.sources.get(alert.source)
        if alert.source == "alertmanager" and source is not None:
            await source.unacknowledge(alert)
        elif self._local_acks.pop(alert.key, None) is not None:
            current = self.store.get(alert.key)
            if current is not None and current.state is AlertState.ACKNOWLEDGED:
                restored = replace(
                    current, state=AlertState.FIRING, ack_by=None, ack_at=None, ack_expires_at=None
                )
                self.apply(AlertDiff((restored,)))

    async def flush_history(self) -> int:
        """Write the transitions not yet recorded; returns how many."""
        if self.history is None or not self._unrecorded:
            self._unrecorded.clear()
            return 0
        pending, self._unrecorded = self._unrecorded, []
        try:
            return await self.history.record(pending)
        except (asyncio.CancelledError, TimeoutError):
            raise  # the write was handed to the history's worker thread, which still completes it
        except Exception:
            self._unrecorded[:0] = pending  # the write failed and rolled back: try again next time
            raise

    async def run(self, interval_s: float = 1.0) -> None:
        """Until cancelled: raise expired acks and write history once per interval."""
        try:
            while True:
                self.tick()
                await self.flush_history()
                await asyncio.sleep(interval_s)
        finally:
            with contextlib.suppress(Exception):
                await self.flush_history()


class LocalRuleSource:
    """Local rules on polled payloads: each new sample is observed, then the rules are evaluated and
    their alerts replace the queue's "local" alerts. `run()` also evaluates on a timer, so a series
    that stops arriving raises its no-data alert.

    Sample times are the payloads' source times (the server's `generated_at`), so `for` durations
    are measured on the producer's clock, not on when the console happened to receive a payload.
    """

    name = LOCAL_SOURCE

    def __init__(
        self, evaluator: RuleEvaluator, queue: AlertQueue, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.evaluator = evaluator
        self.queue = queue
        self.clock = clock
        self.latest_at = evaluator.started_at

    def observe(self, source: str, payload: Any, at: float) -> StoreChange:
        self.evaluator.observe_payload(source, payload, at)
        self.latest_at = max(self.latest_at, at)
        return self.evaluate(at)

    def evaluate(self, now: float | None = None) -> StoreChange:
        """Evaluate at `now` (default: the clock), never before the newest sample seen."""
        self.latest_at = max(self.latest_at, self.clock() if now is None else now)
        return self.queue.apply_snapshot(LOCAL_SOURCE, self.evaluator.evaluate(self.latest_at))

    async def run(self, interval_s: float = 1.0) -> None:
        """Evaluate once per interval until cancelled."""
        while True:
            self.evaluate()
            await asyncio.sleep(interval_s)

    def follow_poller(self, poller: Any, source: str) -> Callable[[], None]:
        """Observe each new good value of a services.polling.Poller (a JSON payload) as `source`."""
        last_seen: list[object] = [None]

        def on_status(status: Any) -> None:
            stamped = status.last_good
            if stamped is not None and stamped is not last_seen[0]:
                last_seen[0] = stamped
                self.observe(source, stamped.value, stamped.source_time)

        return poller.subscribe(on_status)

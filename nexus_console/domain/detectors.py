"""One detector per detection rule (`detection_rules` has the definitions): each takes the events of its
stream in time order, holds what its window needs, and returns a `Detection` with its evidence when the
rule matches. Every detector holds at most `rule.buffer` entries; past that it lets go of the oldest and
counts them (`dropped`), so a match lost to a full buffer is visible in its state, never silent.

Events are mappings with `at` (epoch seconds) and the stream's fields (`ip`, `user`, `country`, ...).
Written by hand: these are a few dict and deque operations per event, on the hot path of 50,000 events a
second; a general stream-processing library would cost more than the rules themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.detection_rules import DetectionRule
from nexus_console.domain.geo import COUNTRY_CENTRES, distance_km

Event = Mapping[str, Any]
MAX_EVIDENCE = 50


@dataclass(frozen=True, slots=True)
class Detection:
    rule: DetectionRule
    key: str
    at: float
    summary: str  # a sentence: what happened, for whom, in what time
    evidence: tuple[Event, ...]  # the events that made it, oldest first (at most MAX_EVIDENCE)


@dataclass(frozen=True, slots=True)
class RuleState:
    name: str
    kind: str
    events_seen: int
    matches: int
    held: int  # window entries (events, terms or keys) held now
    buffer: int
    dropped: int  # let go because the buffer was full, before their window ended

    @property
    def fullness(self) -> float:
        return self.held / self.buffer if self.buffer else 0.0


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


class Detector(ABC):
    def __init__(self, rule: DetectionRule) -> None:
        self.rule = rule
        self.matches_event = rule.matcher()
        self.events_seen = 0
        self.matches = 0
        self.dropped = 0

    @abstractmethod
    def offer(self, event: Event) -> Detection | None:
        """Look at one event of the rule's stream; the detection it completes, if any."""

    @abstractmethod
    def held(self) -> int:
        """Entries (events, terms or keys) the detector holds now."""

    def state(self) -> RuleState:
        rule = self.rule
        return RuleState(
            rule.name, rule.kind, self.events_seen, self.matches, self.held(), rule.buffer, self.dropped
        )

    def _detected(self, key: str, at: float, summary: str, evidence: list[Event]) -> Detection:
        self.matches += 1
        return Detection(self.rule, key, at, summary, tuple(evidence[-MAX_EVIDENCE:]))


class ThresholdDetector(Detector):
    """`count` events (or distinct values of `distinct`) per key within `window`, then `quiet` on that key."""

    def __init__(self, rule: DetectionRule) -> None:
        super().__init__(rule)
        self._by_key: dict[str, deque[tuple[int, float, Event]]] = {}
        self._values: dict[str, Counter[Any]] = {}  # with `distinct`: the values in each key's window
        self._arrivals: deque[tuple[int, float, str]] = deque()  # every held entry, oldest first
        self._held = 0
        self._seq = 0
        self._quiet_until: dict[str, float] = {}

    def held(self) -> int:
        return self._held

    def offer(self, event: Event) -> Detection | None:
        if not self.matches_event(event):
            return None
        self.events_seen += 1
        rule, at = self.rule, event["at"]
        self._expire(at - rule.window_s)
        key = str(event.get(rule.key))
        quiet = self._quiet_until.get(key)
        if quiet is not None:
            if at < quiet:
                return None
            del self._quiet_until[key]
        self._seq += 1
        entries = self._by_key.get(key)
        if entries is None:
            entries = self._by_key[key] = deque()
        entries.append((self._seq, at, event))
        self._arrivals.append((self._seq, at, key))
        self._held += 1
        if rule.distinct:
            values = self._values.setdefault(key, Counter())
            values[event.get(rule.distinct)] += 1
            reached = len(values)
        else:
            reached = len(entries)
        if self._held > rule.buffer:
            self._evict_oldest()
        if reached < rule.count or key not in self._by_key:
            return None
        evidence = [entry[2] for entry in entries]
        self._forget(key)
        if rule.quiet_s > 0:
            self._quiet_until[key] = at + rule.quiet_s
        what = f"{reached} distinct {rule.distinct} values" if rule.distinct else f"{reached} events"
        first = evidence[0]["at"]
        summary = (
            rule.summary.format(key=key, count=reached, window=_span(rule.window_s))
            if rule.summary
            else (f"{rule.name}: {what} for {rule.key} {key} within {_span(max(at - first, 1))}")
        )
        return self._detected(key, at, summary, evidence)

    def _expire(self, cutoff: float) -> None:
        arrivals = self._arrivals
        while arrivals and arrivals[0][1] < cutoff:
            self._drop_arrival(arrivals.popleft())

    def _evict_oldest(self) -> None:
        while self._arrivals:
            if self._drop_arrival(self._arrivals.popleft()):
                self.dropped += 1
                return

    def _drop_arrival(self, arrival: tuple[int, float, str]) -> bool:
        """Let go of one held entry; False when it was already gone (its key matched and was cleared)."""
        seq, _at, key = arrival
        entries = self._by_key.get(key)
        if not entries or entries[0][0] != seq:
            return False
        _seq, _at, event = entries.popleft()
        self._held -= 1
        if self.rule.distinct:
            values = self._values[key]
            value = event.get(self.rule.distinct)
            values[value] -= 1
            if not values[value]:
                del values[value]
        if not entries:
            self._forget(key)
        return True

    def _forget(self, key: str) -> None:
        entries = self._by_key.pop(key, None)
        if entries:
            self._held -= len(entries)
        self._values.pop(key, None)
        if len(self._quiet_until) > self.rule.buffer:  # keys that went quiet and never came back
            now = max(self._quiet_until.values())
            self._quiet_until = {k: t for k, t in self._quiet_until.items() if t > now - self.rule.quiet_s}


class NewTermsDetector(Detector):
    """A `terms` value not seen for the event's key in the last `history`; new keys only start a history."""

    def __init__(self, rule: DetectionRule) -> None:
        super().__init__(rule)
        self._seen: OrderedDict[tuple[str, Any], float] = OrderedDict()  # (key, term) -> last seen, LRU
        self._last: OrderedDict[str, tuple[float, Event]] = OrderedDict()  # key -> its last event, LRU

    def held(self) -> int:
        return len(self._seen)

    def offer(self, event: Event) -> Detection | None:
        if not self.matches_event(event):
            return None
        self.events_seen += 1
        rule, at = self.rule, event["at"]
        cutoff = at - rule.history_s
        self._expire(cutoff)
        key, term = str(event.get(rule.key)), event.get(rule.terms)
        pair = (key, term)
        previous = self._last.get(key)
        known_at = self._seen.get(pair)
        result = None
        if previous is not None and previous[0] >= cutoff and (known_at is None or known_at < cutoff):
            summary = (
                rule.summary.format(key=key, term=term, history=_span(rule.history_s))
                if rule.summary
                else (
                    f"{rule.name}: {rule.key} {key} with {rule.terms} {term}, not seen for them in the last "
                    f"{_span(rule.history_s)}"
                )
            )
            result = self._detected(key, at, summary, [previous[1], event])
        self._seen[pair] = at
        self._seen.move_to_end(pair)
        self._last[key] = (at, event)
        self._last.move_to_end(key)
        while len(self._seen) > rule.buffer:
            self._seen.popitem(last=False)
            self.dropped += 1
        while len(self._last) > rule.buffer:
            self._last.popitem(last=False)
        return result

    def _expire(self, cutoff: float) -> None:
        for table in (self._seen, self._last):
            while table:
                oldest = next(iter(table.values()))
                if (oldest if isinstance(oldest, float) else oldest[0]) >= cutoff:
                    break
                table.popitem(last=False)


class RateAnomalyDetector(Detector):
    """A key's events in the current `window` reach `factor` × its usual rate and `min_count`. The usual
    rate is an average of the key's earlier windows (weighted by `alpha`, empty windows counting as
    none), so a key needs one finished window before it can be anomalous."""

    def __init__(self, rule: DetectionRule) -> None:
        super().__init__(rule)
        # key -> [window index, count, usual rate or None, fired, first events of the window]
        self._keys: OrderedDict[str, list[Any]] = OrderedDict()

    def held(self) -> int:
        return len(self._keys)

    def offer(self, event: Event) -> Detection | None:
        if not self.matches_event(event):
            return None
        self.events_seen += 1
        rule, at = self.rule, event["at"]
        key, window = str(event.get(rule.key)), int(at // rule.window_s)
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = [window, 0, None, False, []]
            if len(self._keys) > rule.buffer:
                self._keys.popitem(last=False)
                self.dropped += 1
        else:
            self._keys.move_to_end(key)
        if state[0] != window:
            usual, gap = state[2], window - state[0]
            usual = state[1] if usual is None else rule.alpha * state[1] + (1 - rule.alpha) * usual
            state[:] = [window, 0, usual * (1 - rule.alpha) ** (gap - 1), False, []]
        state[1] += 1
        if len(state[4]) < MAX_EVIDENCE:
            state[4].append(event)
        count, usual = state[1], state[2]
        if state[3] or usual is None or count < rule.min_count or count < rule.factor * max(usual, 1.0):
            return None
        state[3] = True
        summary = (
            rule.summary.format(key=key, count=count, window=_span(rule.window_s))
            if rule.summary
            else (
                f"{rule.name}: {rule.key} {key} sent {count} in {_span(rule.window_s)}, "
                f"{count / max(usual, 1.0):.0f}× its usual {usual:.1f}"
            )
        )
        return self._detected(key, at, summary, state[4])


class ImpossibleTravelDetector(Detector):
    """Two events of one key from places farther apart than `max_kmh` covers in the time between them."""

    def __init__(self, rule: DetectionRule) -> None:
        super().__init__(rule)
        self._last: OrderedDict[str, tuple[float, tuple[float, float], Event]] = OrderedDict()
        self._quiet_until: OrderedDict[str, float] = OrderedDict()

    def held(self) -> int:
        return len(self._last)

    def offer(self, event: Event) -> Detection | None:
        if not self.matches_event(event):
            return None
        self.events_seen += 1
        place = _place(event)
        if place is None:
            return None
        rule, at, key = self.rule, event["at"], str(event.get(self.rule.key))
        previous = self._last.get(key)
        self._last[key] = (at, place, event)
        self._last.move_to_end(key)
        if len(self._last) > rule.buffer:
            self._last.popitem(last=False)
            self.dropped += 1
        if previous is None or previous[1] == place:
            return None
        km = distance_km(previous[1], place)
        hours = max(at - previous[0], 1.0) / 3600
        if km / hours <= rule.max_kmh:
            return None
        if self._quiet_until.get(key, 0.0) > at:
            return None
        self._quiet_until[key] = at + rule.quiet_s
        self._quiet_until.move_to_end(key)
        while len(self._quiet_until) > rule.buffer:
            self._quiet_until.popitem(last=False)
        summary = (
            f"{rule.name}: {rule.key} {key} from {_where(previous[2])} then {_where(event)}, {km:,.0f} km "
            f"apart in {_span(max(at - previous[0], 1.0))} ({km / hours:,.0f} km/h)"
        )
        return self._detected(key, at, summary, [previous[2], event])


def _place(event: Event) -> tuple[float, float] | None:
    lat, lon = event.get("lat"), event.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return (float(lat), float(lon))
    return COUNTRY_CENTRES.get(str(event.get("country", "")))


def _where(event: Event) -> str:
    return str(event.get("country") or f"{event.get('lat')}, {event.get('lon')}")


DETECTORS: dict[str, type[Detector]] = {
    "threshold": ThresholdDetector,
    "new_terms": NewTermsDetector,
    "rate_anomaly": RateAnomalyDetector,
    "impossible_travel": ImpossibleTravelDetector,
}

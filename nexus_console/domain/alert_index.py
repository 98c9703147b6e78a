"""An index over the alert queue that answers "which alerts does this filter match?" without asking every
alert every term: one keystroke in the filter bar over 100k alerts.

* Terms on a field with few distinct values (severity, service, namespace, alertname, source, @state,
  @source) are judged once per distinct value, on one alert that has it, and answer with that value's keys:
  `severity>=high` is four judgements and a union of sets, not 100k calls.
* Free text is a substring test on one lower-cased haystack per alert (name, summary, service, description
  and label values), built when the alert changes, not per keystroke.
* Every other term (@age, @ack, labels, value, ...) is judged per alert, but only on what the indexed
  terms left.

Written here rather than taken from a library: the terms are the console's own filter language
(domain/alert_filter.py), and what makes it fast is knowing which of them depend on one field only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from itertools import compress, repeat
from typing import Any, TypeVar

from nexus_console.domain.alert_filter import AlertFilter, Term
from nexus_console.domain.alerts import Alert

# a term on one of these fields depends on that one value of the alert, and the queue holds few of them
INDEXED_FIELDS: dict[str, Callable[[Alert], Any]] = {
    "severity": lambda alert: alert.severity,
    "service": lambda alert: alert.service,
    "namespace": lambda alert: alert.namespace,
    "alertname": lambda alert: alert.name,
    "name": lambda alert: alert.name,
    "source": lambda alert: alert.source,
    "@source": lambda alert: alert.source,
    "@state": lambda alert: alert.state,
}
K = TypeVar("K")
V = TypeVar("V")
_SEPARATOR = "\x00"  # no needle holds it, so a match never spans two fields
_RECORD = "\x01"  # between two alerts' haystacks (taken out of the text itself)


def haystack(alert: Alert) -> str:
    """What free text is searched in, lower-cased once (the filter's free-text rule)."""
    parts = [alert.name, alert.summary, alert.service, alert.description, *alert.labels.values()]
    return _SEPARATOR.join(parts).lower().replace(_RECORD, " ")


class AlertIndex:
    def __init__(self) -> None:
        self._alerts: dict[str, Alert] = {}
        self._haystacks: dict[str, str] = {}
        # field -> value -> keys of the alerts with that value
        self._by_value: dict[str, dict[Any, set[str]]] = {field: {} for field in INDEXED_FIELDS}
        self.generation = 0  # moves on with every change: views built before it read again

    def __len__(self) -> int:
        return len(self._alerts)

    def put(self, alert: Alert) -> None:
        """Add an alert or take its new state."""
        key = alert.key
        if key in self._alerts:
            self.remove(key)
        self.generation += 1
        self._alerts[key] = alert
        self._haystacks[key] = haystack(alert)
        for field, read in INDEXED_FIELDS.items():
            self._by_value[field].setdefault(read(alert), set()).add(key)

    def put_many(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self.put(alert)

    def remove(self, key: str) -> None:
        alert = self._alerts.pop(key, None)
        if alert is None:
            return
        self.generation += 1
        del self._haystacks[key]
        for field, read in INDEXED_FIELDS.items():
            values = self._by_value[field]
            value = read(alert)
            keys = values.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del values[value]

    def ordered(self, keys: list[str]) -> OrderedAlerts:
        """`keys` (every alert, in display order), with what filters read laid out in the same order as it
        is first needed: a keystroke then scans lists, and the next one reuses them."""
        return OrderedAlerts(self, list(keys))

    def select(self, alert_filter: AlertFilter | None, now: float, view: OrderedAlerts) -> list[str]:
        """The keys of `view` the filter matches, in the view's order.

        The loops over all alerts run in C (`compress` over `map`): at 100k alerts a keystroke is a few
        milliseconds of list work, not 100k calls of Python. What a keystroke leaves as it was is not done
        again: the indexed terms' answer is kept with the view, and free text typed on from an earlier
        word is searched only in what that word matched."""
        if alert_filter is None or not alert_filter.terms:
            return list(view.keys)
        terms = alert_filter.terms
        indexed = tuple(term for term in terms if term.field.lower() in INDEXED_FIELDS)
        narrowed = view.narrowed(tuple(str(term) for term in indexed), lambda: self._narrow(indexed, view))
        for needle in dict.fromkeys(term.value.lower() for term in terms if not term.field):
            narrowed = narrowed.containing(needle)
        keys = narrowed.keys
        predicates = [t.predicate for t in terms if t.field and t.field.lower() not in INDEXED_FIELDS]
        if predicates:
            alerts = self._alerts
            keys = [key for key in keys if all(p(alerts[key], now) for p in predicates)]
        return list(keys)

    def _narrow(self, terms: tuple[Term, ...], view: OrderedAlerts) -> Narrowed:
        """The alerts of `view` that every term on an indexed field accepts (each judged per value)."""
        positions: list[int] | None = None  # the view positions the terms so far kept (None: all)
        for term in terms:
            accepted = self._accepted_values(term, term.field.lower())
            found = list(map(accepted.__contains__, _at(view.column(term.field.lower()), positions)))
            if not all(found):  # else nothing left out: no new list
                positions = list(compress(range(len(view.keys)) if positions is None else positions, found))
        if positions is None:
            return Narrowed(view.keys, view.hays)
        keys = list(map(view.keys.__getitem__, positions))
        return Narrowed(keys, lambda: list(map(view.hays().__getitem__, positions)))

    def _accepted_values(self, term: Term, field: str) -> set[Any]:
        """The values of `field` the term accepts: judged once per distinct value, on one alert with it (an
        indexed field does not change with time: `now` is not read)."""
        alerts = self._alerts
        return {
            value
            for value, keys in self._by_value[field].items()
            if term.predicate(alerts[next(iter(keys))], 0.0)
        }


def _remember(kept: dict[K, V], key: K, value: V, most: int) -> V:
    """Keep `value` under `key`, letting go of the oldest entries past `most`: each holds lists as long as
    the queue (100k keys are 0.8 MB a list), so a few are kept, enough for typing and erasing a word."""
    while len(kept) >= most:
        del kept[next(iter(kept))]
    kept[key] = value
    return value


class Narrowed:
    """Alerts a filter kept, in display order, with their haystacks (built on first use), and what the free
    text searched in them found: typing `svc-0` after `svc-` searches only what `svc-` matched."""

    _KEPT = 4  # needles remembered per narrowing

    def __init__(self, keys: list[str], hays: Callable[[], list[str]], needle: str = "") -> None:
        self.keys = keys
        self.needle = needle
        self._build_hays = hays
        self._hays: list[str] | None = None
        self._found: dict[str, Narrowed] = {}

    def hays(self) -> list[str]:
        if self._hays is None:
            self._hays = self._build_hays()
        return self._hays

    def containing(self, needle: str) -> Narrowed:
        if needle in self._found:
            return self._found[needle]
        # the narrowest earlier answer whose needle this one contains holds every match
        earlier = [n for n in self._found.values() if n.needle in needle] if self._found else []
        within = min(earlier, key=lambda n: len(n.keys)) if earlier else self
        hays = within.hays()
        found = list(map(operator.contains, hays, repeat(needle)))
        if all(found):
            narrowed = Narrowed(within.keys, within.hays, needle)
        else:
            kept_hays = list(compress(hays, found))
            narrowed = Narrowed(list(compress(within.keys, found)), lambda: kept_hays, needle)
        return _remember(self._found, needle, narrowed, self._KEPT)


class OrderedAlerts:
    """Alerts in display order, and what filters read laid out in the same order, built on first use and
    kept until an alert in the index changes."""

    _KEPT = 2  # indexed-term combinations remembered (typing changes the free text, rarely these)

    def __init__(self, index: AlertIndex, keys: list[str]) -> None:
        self.keys = keys
        self._index = index
        self._generation = index.generation
        self._hays: list[str] | None = None
        self._columns: dict[str, list[Any]] = {}
        self._narrowed: dict[tuple[str, ...], Narrowed] = {}

    def _check(self) -> None:
        if self._generation != self._index.generation:  # an alert changed: what was read is not true now
            self._generation = self._index.generation
            self._hays, self._columns, self._narrowed = None, {}, {}

    def hays(self) -> list[str]:
        self._check()
        if self._hays is None:
            # joined and split again: new strings that lie in memory in display order. Scanning 100k
            # strings scattered over the heap (their creation order) costs three times as much.
            hays = map(self._index._haystacks.__getitem__, self.keys)
            self._hays = _RECORD.join(hays).split(_RECORD) if self.keys else []
        return self._hays

    def column(self, field: str) -> list[Any]:
        self._check()
        if field not in self._columns:
            alerts = map(self._index._alerts.__getitem__, self.keys)
            self._columns[field] = list(map(INDEXED_FIELDS[field], alerts))
        return self._columns[field]

    def narrowed(self, terms: tuple[str, ...], build: Callable[[], Narrowed]) -> Narrowed:
        """What the indexed `terms` (their texts) keep of these alerts, built by `build` once."""
        self._check()
        found = self._narrowed.get(terms)
        return found if found is not None else _remember(self._narrowed, terms, build(), self._KEPT)


def _at(column: list[Any], positions: list[int] | None) -> list[Any]:
    """The column's values at the kept positions (all of it when nothing was left out yet)."""
    return column if positions is None else list(map(column.__getitem__, positions))

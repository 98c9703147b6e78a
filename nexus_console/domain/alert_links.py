"""Alerts of different sources about one problem, linked by a shared key (karma's dedup, across sources).

The console's local rules and the Nexus server both watch, say, the marketplace replica's replication lag;
when both fire, the queue shows one problem with both sources, not two. Two alerts are linked when both
are active, they come from different sources and they share a `link_key`: the same condition on the same
subject.

* condition: the alert's `condition` label (a local rule names the server rule it mirrors with
  `condition = "ReplicationLagHigh"`), else its name;
* subject: a database, from the server's `database` label (with `-replica` for `role=replica`) or from the
  `name` of a local alert on the `db_health.databases` listing, which names replicas that way; else the
  service.

An alert with neither (a local rule on the API's overall error rate) is linked to nothing: the same name
on another source's per-service alert is another condition.

Of a linked group, the `primary` says most about the problem and stands for it (one row, one count): an
alert someone acknowledged or silenced first (the problem has an owner), then a firing one, then a pending
one; among equals the source whose triage acts at a server (nexus, alertmanager, prometheus, local).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from nexus_console.domain.alerts import Alert, AlertState, Transition

CONDITION_LABEL = "condition"
DATABASE_LISTING = "db_health.databases."
SOURCE_ORDER = ("nexus", "alertmanager", "prometheus", "local")
_STATE_ORDER = {
    AlertState.ACKNOWLEDGED: 0,
    AlertState.SILENCED: 0,
    AlertState.FIRING: 1,
    AlertState.PENDING: 2,
    AlertState.RESOLVED: 3,
}
_RAISED = frozenset({AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SILENCED})


def condition_of(alert: Alert) -> str:
    """What the alert watches: its `condition` label, else its name."""
    return alert.labels.get(CONDITION_LABEL) or alert.name


def subject_of(alert: Alert) -> str:
    """What the alert is about: `database:marketplace-replica`, `service:order-processor`, or ""."""
    labels = alert.labels
    database = labels.get("database")
    if database:
        return f"database:{database}-replica" if labels.get("role") == "replica" else f"database:{database}"
    if labels.get("series", "").startswith(DATABASE_LISTING) and labels.get("name"):
        return f"database:{labels['name']}"
    return f"service:{alert.service}" if alert.service else ""


def link_key(alert: Alert) -> str | None:
    """The key linked alerts share (`ReplicationLagHigh|database:marketplace-replica`); None for a resolved
    alert or one without a subject."""
    if alert.state is AlertState.RESOLVED:
        return None
    subject, condition = subject_of(alert), condition_of(alert)
    return f"{condition}|{subject}" if subject and condition else None


def rank(alert: Alert) -> tuple[int, int, str]:
    """Orders a group: the lowest is its primary."""
    source = SOURCE_ORDER.index(alert.source) if alert.source in SOURCE_ORDER else len(SOURCE_ORDER)
    return _STATE_ORDER[alert.state], source, alert.key


def also_raised_text(others: Sequence[Alert]) -> str:
    """ "Also raised by local (firing)"; "" when nothing else raised it."""
    if not others:
        return ""
    parts = [f"{alert.source} ({alert.state.value})" for alert in others]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Also raised by {listed}"


class AlertLinks:
    """The linked groups of a set of alerts, kept current change by change (`update`)."""

    def __init__(self, alerts: Iterable[Alert] = ()) -> None:
        self._link_of: dict[str, str] = {}  # alert key -> link key
        self._groups: dict[str, dict[str, Alert]] = {}  # link key -> alert key -> alert
        self._sources: dict[str, Counter[str]] = {}  # link key -> members per source
        self.grouped: set[str] = set()  # keys of alerts in a group of several sources (a cheap test)
        self.update(alerts)

    def update(self, alerts: Iterable[Alert] = (), removed: Iterable[str] = ()) -> set[str]:
        """Take in new or changed alerts and forget removed keys. Returns the keys of the alerts whose
        links may have changed: every member, as it is now, of each group touched that spans several
        sources before or after. Alerts of one source sharing a key (look-alikes) are no group."""
        was_linked: dict[str, bool] = {}
        for key in removed:
            self._leave(key, was_linked)
        for alert in alerts:
            key, new = alert.key, link_key(alert)
            if self._link_of.get(key) != new:
                self._leave(key, was_linked)
            if new is None:
                continue
            group = self._groups.setdefault(new, {})
            sources = self._sources.setdefault(new, Counter())
            was_linked.setdefault(new, len(sources) > 1)
            previous = group.get(key)
            if previous is not None:
                sources[previous.source] -= 1
                if not sources[previous.source]:
                    del sources[previous.source]
            group[key] = alert
            sources[alert.source] += 1
            self._link_of[key] = new
        affected: set[str] = set()
        for link, before in was_linked.items():
            group = self._groups.get(link, {})
            linked = len(self._sources.get(link, ())) > 1
            if before or linked:
                affected.update(group)
            if linked:
                self.grouped.update(group)
            else:
                self.grouped.difference_update(group)
        return affected

    def _leave(self, key: str, was_linked: dict[str, bool]) -> None:
        self.grouped.discard(key)
        link = self._link_of.pop(key, None)
        if link is None:
            return
        group, sources = self._groups[link], self._sources[link]
        was_linked.setdefault(link, len(sources) > 1)
        left = group.pop(key)
        sources[left.source] -= 1
        if not sources[left.source]:
            del sources[left.source]
        if not group:
            del self._groups[link], self._sources[link]

    def _linked_group(self, key: str) -> dict[str, Alert] | None:
        if key not in self.grouped:
            return None
        return self._groups.get(self._link_of.get(key, ""))

    def others(self, key: str) -> list[Alert]:
        """The alerts of other sources linked to this one, primary first (empty when none)."""
        group = self._linked_group(key)
        if group is None or key not in group:
            return []
        source = group[key].source
        return sorted((alert for alert in group.values() if alert.source != source), key=rank)

    def primary(self, key: str) -> str | None:
        """The key of the alert that stands for this one's group; None when it is linked to nothing."""
        group = self._linked_group(key)
        return min(group.values(), key=rank).key if group is not None else None

    def is_folded(self, key: str) -> bool:
        """Linked, and not its group's primary: the primary's row and count stand for it."""
        primary = self.primary(key)
        return primary is not None and primary != key

    def problems(self, alerts: Iterable[Alert]) -> Iterator[Alert]:
        """One alert per problem: `alerts` without those folded into their group's primary."""
        grouped = self.grouped
        if not grouped:
            return iter(alerts)
        return (alert for alert in alerts if alert.key not in grouped or not self.is_folded(alert.key))

    def first_alarms(self, transitions: Iterable[Transition]) -> tuple[Transition, ...]:
        """The transitions without the firing of an alert whose problem is already raised: by a linked
        alert that was firing, acknowledged or silenced before this batch, or, when linked alerts first
        fire in the same batch, by their primary. A notifier announces a problem once."""
        transitions = tuple(transitions)
        firing_now = {t.alert.key for t in transitions if t.after is AlertState.FIRING}
        kept = []
        for transition in transitions:
            key = transition.alert.key
            if transition.after is AlertState.FIRING:
                others = self.others(key)
                if any(o.state in _RAISED and o.key not in firing_now for o in others):
                    continue
                if any(o.key in firing_now for o in others) and self.primary(key) != key:
                    continue
            kept.append(transition)
        return tuple(kept)

"""The AlertStore: every alert currently known, to which sources' diffs are applied.

The store keeps rows in a stable order (append on insert, compact on removal) and reports each `apply` as row
ranges, so a Qt model can forward them as batched insert / remove / dataChanged notifications without
scanning. Times are epoch seconds (float).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, StoreChange, Transition, diff_snapshot


class AlertStore:
    """All alerts currently known, keyed by `Alert.key`, in stable row order."""

    def __init__(self) -> None:
        self._by_key: dict[str, Alert] = {}
        self._row_of: dict[str, int] = {}
        self._rows: list[str] = []
        self._acked: set[str] = set()

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Alert]:
        by_key = self._by_key
        return (by_key[key] for key in self._rows)

    def get(self, key: str) -> Alert | None:
        return self._by_key.get(key)

    def at_row(self, row: int) -> Alert:
        return self._by_key[self._rows[row]]

    def row_of(self, key: str) -> int | None:
        return self._row_of.get(key)

    def by_source(self, source: str) -> dict[str, Alert]:
        return {key: alert for key, alert in self._by_key.items() if alert.source == source}

    def diff_for_snapshot(self, source: str, alerts: Iterable[Alert]) -> AlertDiff:
        """The diff that makes the store's alerts of `source` equal to the full snapshot `alerts`."""
        return diff_snapshot(self.by_source(source), alerts)

    def apply(self, diff: AlertDiff, now: float) -> StoreChange:
        """Apply removals, then upserts. Unchanged upserts cost nothing and report nothing."""
        transitions: list[Transition] = []
        removed_ranges: tuple[tuple[int, int], ...] = ()
        if diff.removals:
            removed_rows = []
            for key in diff.removals:
                alert = self._by_key.pop(key, None)
                if alert is None:
                    continue
                self._acked.discard(key)
                removed_rows.append(self._row_of.pop(key))
                if alert.state is not AlertState.RESOLVED:
                    gone = replace(alert, state=AlertState.RESOLVED, ends_at=alert.ends_at or now)
                    transitions.append(Transition(now, alert.state, AlertState.RESOLVED, gone))
            if removed_rows:
                removed_ranges = _descending_ranges(removed_rows)
                # Rows above the first removed one keep their numbers; renumber only the tail.
                first = removed_ranges[-1][0]
                by_key, row_of = self._by_key, self._row_of
                tail = [key for key in self._rows[first:] if key in by_key]
                del self._rows[first:]
                self._rows.extend(tail)
                for row, key in enumerate(tail, start=first):
                    row_of[key] = row
        changed_rows = []
        first_new = len(self._rows)
        for alert in diff.upserts:
            key = alert.key
            before = self._by_key.get(key)
            if before == alert:
                continue
            self._by_key[key] = alert
            if alert.state is AlertState.ACKNOWLEDGED:
                self._acked.add(key)
            else:
                self._acked.discard(key)
            if before is None:
                self._row_of[key] = len(self._rows)
                self._rows.append(key)
                transitions.append(Transition(now, None, alert.state, alert))
            else:
                row = self._row_of[key]
                if row < first_new:
                    changed_rows.append(row)
                if before.state is not alert.state:
                    transitions.append(Transition(now, before.state, alert.state, alert))
        return StoreChange(
            removed=removed_ranges,
            changed=tuple(sorted(set(changed_rows))),
            inserted=range(first_new, len(self._rows)),
            transitions=tuple(transitions),
        )

    def expired_acks(self, now: float) -> AlertDiff:
        """Acknowledged alerts whose ack timed out, raised again as firing (PagerDuty's ack timeout).

        Sources whose server re-raises by itself (Nexus, Alertmanager silences) will report the same
        thing on their next poll; this keeps the queue honest in between.
        """
        upserts = []
        for key in self._acked:
            alert = self._by_key[key]
            if alert.ack_expired(now):
                upserts.append(
                    replace(
                        alert,
                        state=AlertState.FIRING,
                        updated_at=now,
                        ack_by=None,
                        ack_at=None,
                        ack_expires_at=None,
                    )
                )
        return AlertDiff(tuple(upserts))


def _descending_ranges(rows: list[int]) -> tuple[tuple[int, int], ...]:
    rows.sort(reverse=True)
    ranges = []
    last = first = rows[0]
    for row in rows[1:]:
        if row == first - 1:
            first = row
        else:
            ranges.append((first, last))
            last = first = row
    ranges.append((first, last))
    return tuple(ranges)

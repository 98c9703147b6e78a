"""Local alert history in SQLite: every state transition, so resolved alerts can be shown and searched,
plus the user's saved filters.

All SQLite work runs on one owned worker thread (a SqliteStore: the connection never changes threads); the
async methods wait for it with a timeout. `close()` shuts the worker down.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from nexus_console.domain.alert_filter import parse_filter
from nexus_console.domain.alerts import Alert, AlertState, Severity, Transition
from nexus_console.services.sqlite_store import SqliteStore

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    alert_key TEXT NOT NULL,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    severity TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT NOT NULL,
    search_text TEXT NOT NULL,
    alert_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_at ON transitions (at);
CREATE INDEX IF NOT EXISTS transitions_key ON transitions (alert_key, at);
CREATE TABLE IF NOT EXISTS saved_filters (
    name TEXT PRIMARY KEY,
    filter TEXT NOT NULL,
    saved_at REAL NOT NULL
);
"""


_ALERT_FIELDS = tuple(field.name for field in fields(Alert) if field.init)


def alert_to_json(alert: Alert) -> str:
    # field by field: dataclasses.asdict deep-copies every value, 0.15 ms an alert (seconds in a storm)
    data = {name: getattr(alert, name) for name in _ALERT_FIELDS}
    data["labels"] = dict(alert.labels)
    return json.dumps(data, separators=(",", ":"))


def alert_from_json(text: str) -> Alert:
    data: dict[str, Any] = json.loads(text)
    data["severity"] = Severity(data["severity"])
    data["state"] = AlertState(data["state"])
    for key in ("silenced_by", "inhibited_by", "origins"):
        data[key] = tuple(data.get(key) or ())
    return Alert(**data)


def _search_text(alert: Alert) -> str:
    parts = [alert.name, alert.service, alert.namespace, alert.summary, alert.description, alert.fingerprint]
    parts.extend(f"{k}={v}" for k, v in alert.labels.items())
    return "\n".join(parts).lower()


def _transition_row(t: Transition) -> tuple[Any, ...]:
    return (
        t.at,
        t.alert.key,
        t.alert.source,
        t.alert.name,
        t.alert.service,
        t.alert.severity.value,
        t.before.value if t.before is not None else None,
        t.after.value,
        _search_text(t.alert),
        alert_to_json(t.alert),
    )


_TRANSITION_COLUMNS = (
    "at", "alert_key", "source", "name", "service", "severity", "before_state", "after_state", "search_text",
    "alert_json",
)  # fmt: skip
_INSERT_FROM_JSON = (
    f"INSERT INTO transitions ({', '.join(_TRANSITION_COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(_TRANSITION_COLUMNS)))
    + " FROM json_each(?)"
)

DEFAULT_RETENTION_S = 90 * 24 * 3600.0
PRUNE_EVERY_S = 3600.0


class AlertHistory:
    """Transitions and saved filters in one SQLite file.

    Transitions more than `retention_s` older than the newest one written are deleted (at most once an hour of
    alert time, with a write), so a console that runs for months keeps a bounded file.
    """

    def __init__(
        self, path: Path, *, timeout_s: float = 10.0, retention_s: float = DEFAULT_RETENTION_S
    ) -> None:
        self.path = Path(path)
        self.retention_s = retention_s
        self._next_prune_at = -float("inf")
        self._store = SqliteStore(self.path, schema=SCHEMA, timeout_s=timeout_s, thread_name="alert-history")

    @property
    def timeout_s(self) -> float:
        return self._store.timeout_s

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` on the worker thread, in one transaction."""
        return await self._store.call(_in_transaction, work)

    async def close(self) -> None:
        await self._store.aclose()

    async def record(self, transitions: Sequence[Transition]) -> int:
        """Store transitions (an AlertStore.apply result); returns how many."""
        if not transitions:
            return 0
        newest = max(t.at for t in transitions)
        prune_before = newest - self.retention_s if newest >= self._next_prune_at else None
        if prune_before is not None:
            self._next_prune_at = newest + PRUNE_EVERY_S

        def insert(connection: sqlite3.Connection) -> int:
            # The rows are made here, on the worker thread, and go to SQLite as one JSON array in one
            # statement: executemany releases and retakes the interpreter lock for every row, and in a
            # storm (a thousand a second) each retake waited behind the GUI thread and the GUI thread's
            # every callback behind it (stalls of 300-700 ms; 40 ms without).
            rows = [_transition_row(t) for t in transitions]
            connection.execute(_INSERT_FROM_JSON, (json.dumps(rows, separators=(",", ":")),))
            if prune_before is not None:
                connection.execute("DELETE FROM transitions WHERE at < ?", (prune_before,))
            return len(rows)

        return await self._run(insert)

    async def transitions_of(self, alert_key: str) -> list[Transition]:
        """The life of one alert, oldest first."""

        def query(connection: sqlite3.Connection) -> list[Transition]:
            cursor = connection.execute(
                "SELECT at, before_state, after_state, alert_json FROM transitions"
                " WHERE alert_key = ? ORDER BY at, id",
                (alert_key,),
            )
            return [_transition(row) for row in cursor]

        return await self._run(query)

    async def search(
        self,
        text: str = "",
        *,
        filter_text: str = "",
        states: Iterable[AlertState] = (),
        since: float | None = None,
        until: float | None = None,
        services: Collection[str] = (),
        alert_keys: Collection[str] = (),
        now: float | None = None,
        limit: int = 500,
    ) -> list[Transition]:
        """Newest transitions first. `text` is a case-insensitive substring of name, service, summary,
        description or a `label=value`; `filter_text` is the filter language applied to each alert as it
        was at the transition (FilterError propagates); `services` and `alert_keys`, when either is given,
        keep the transitions of alerts on those services or with those keys."""
        alert_filter = parse_filter(filter_text) if filter_text.strip() else None
        clauses, params = [], []
        if text:
            clauses.append("instr(search_text, ?) > 0")
            params.append(text.lower())
        wanted_states = [s.value for s in states]
        if wanted_states:
            clauses.append(f"after_state IN ({','.join('?' * len(wanted_states))})")
            params.extend(wanted_states)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("at <= ?")
            params.append(until)
        if services or alert_keys:
            services, alert_keys = list(services), list(alert_keys)
            in_services, in_keys = ",".join("?" * len(services)), ",".join("?" * len(alert_keys))
            clauses.append(f"(service IN ({in_services}) OR alert_key IN ({in_keys}))")
            params.extend([*services, *alert_keys])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT at, before_state, after_state, alert_json FROM transitions {where}"
            " ORDER BY at DESC, id DESC"
        )

        def query(connection: sqlite3.Connection) -> list[Transition]:
            found = []
            for row in connection.execute(sql, params):
                transition = _transition(row)
                if alert_filter is None or alert_filter.matches(transition.alert, now or transition.at):
                    found.append(transition)
                    if len(found) >= limit:
                        break
            return found

        return await self._run(query)

    async def between(
        self,
        since: float,
        until: float,
        limit: int,
        *,
        services: Collection[str] = (),
        alert_keys: Collection[str] = (),
    ) -> list[Transition]:
        """The transitions in [since, until] of alerts on `services` or with `alert_keys`, oldest first: an
        incident's alert changes (not the whole window's: in a storm that was 20,000 alerts parsed for every
        poll of the incident, and the interpreter lock the GUI waits for held all that time)."""
        if not services and not alert_keys:
            return []  # an incident on no service with no linked alert has no alert changes
        found = await self.search(
            since=since, until=until, services=services, alert_keys=alert_keys, limit=limit
        )
        found.reverse()
        return found

    async def resolved(self, *, limit: int = 200, text: str = "") -> list[Transition]:
        """The most recent resolutions, newest first."""
        return await self.search(text, states=[AlertState.RESOLVED], limit=limit)

    async def save_filter(self, name: str, filter_text: str, *, at: float) -> None:
        """Save (or replace) a named filter; an unreadable filter raises FilterError and is not saved."""
        parse_filter(filter_text)
        if not name.strip():
            raise ValueError("a saved filter needs a name")

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO saved_filters (name, filter, saved_at) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET filter = excluded.filter, saved_at = excluded.saved_at",
                (name.strip(), filter_text, at),
            )

        await self._run(upsert)

    async def saved_filters(self) -> dict[str, str]:
        def query(connection: sqlite3.Connection) -> dict[str, str]:
            return dict(connection.execute("SELECT name, filter FROM saved_filters ORDER BY name"))

        return await self._run(query)

    async def delete_filter(self, name: str) -> bool:
        def delete(connection: sqlite3.Connection) -> bool:
            return connection.execute("DELETE FROM saved_filters WHERE name = ?", (name,)).rowcount > 0

        return await self._run(delete)


def _in_transaction(connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    with connection:
        return work(connection)


def _transition(row: tuple[float, str | None, str, str]) -> Transition:
    at, before, after, alert_json = row
    return Transition(
        at=at,
        before=AlertState(before) if before is not None else None,
        after=AlertState(after),
        alert=alert_from_json(alert_json),
    )

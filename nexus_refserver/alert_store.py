"""Alert storage: the AlertSink the alert engine reports to, the state machine staff drive (acknowledge,
silence, unsilence, resolve), and the event log (`alert_events.seq`) that the SSE stream replays.

A silence is its own state: `silenced` until `silenced_until`, then the alert returns to the state it had
(`silenced_from`: pending, firing or acknowledged; what the engine reports meanwhile moves pending to
firing). The store's clock (`expire_acknowledgements`, which app.py runs every `ack_expiry_check_s`) ends
silences and expired acknowledgements, each with an event.

Every change that a client should see appends one event holding a snapshot of the alert. Writes are
serialised by one lock, so event sequence numbers commit in order and a reader that remembers the last
seq it saw never misses one and never sees one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from nexus_refserver.databases import as_utc, rfc3339
from nexus_refserver.schema import alert_events, alerts

if TYPE_CHECKING:
    from nexus_refserver.alerting import AlertObservation

log = logging.getLogger(__name__)

ACTIVE_STATES = ("pending", "firing", "acknowledged", "silenced")
HELD_STATES = ("acknowledged", "silenced")  # states an alert keeps while its condition holds
_SILENCE_CLEARED = {
    "silenced_until": None,
    "silenced_by": None,
    "silence_comment": None,
    "silenced_from": None,
}


class AlertNotFoundError(Exception):
    pass


class AlertConflictError(Exception):
    """The alert is not in a state the requested transition applies to."""


class EventNotifier:
    """Wakes SSE streams when events are appended; callable from any thread.

    A waiter takes `current()` BEFORE reading events and then waits on it, so an event appended between
    the read and the wait still wakes it.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        assert self._event is not None, "bind() first"
        return self._event

    def notify(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake()
            return
        # a closed loop means the server is shutting down
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        previous, self._event = self._event, asyncio.Event()
        if previous is not None:
            previous.set()

    @staticmethod
    async def wait(token: asyncio.Event, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(token.wait(), timeout_s)
            return True
        except TimeoutError:
            return False


def alert_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "fingerprint": row.fingerprint,
        "source": "nexus",
        "rule": row.rule,
        "severity": row.severity,
        "state": row.state,
        "service": row.service,
        "namespace": row.namespace,
        "labels": json.loads(row.labels),
        "summary": row.summary,
        "description": row.description,
        "runbook_url": row.runbook_url,
        "value": row.value,
        "threshold": row.threshold,
        "starts_at": rfc3339(row.starts_at),
        "updated_at": rfc3339(row.updated_at),
        "ends_at": rfc3339(row.ends_at),
        "ack_by": row.ack_by,
        "ack_at": rfc3339(row.ack_at),
        "ack_expires_at": rfc3339(row.ack_expires_at),
        "resolved_by": row.resolved_by,
        "silenced_until": rfc3339(row.silenced_until),
        "silenced_by": row.silenced_by,
        "silence_comment": row.silence_comment,
    }


def _event_json(row: Any) -> str:
    return json.dumps(alert_json(row), separators=(",", ":"))


def _details(obs: AlertObservation) -> dict[str, Any]:
    """The columns an observation sets on its alert, whatever its state."""
    return {
        "rule": obs.rule,
        "severity": obs.severity,
        "service": obs.service,
        "namespace": obs.namespace,
        "labels": json.dumps(dict(obs.labels), sort_keys=True),
        "summary": obs.summary,
        "description": obs.description,
        "runbook_url": obs.runbook_url,
        "value": float(obs.value),
        "threshold": float(obs.threshold),
    }


def _utc(value: datetime | float) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return as_utc(value)  # type: ignore[return-value]


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self.notifier = EventNotifier()

    # --- the sink the alert engine calls --------------------------------------------------------------------

    def observe(self, obs: AlertObservation) -> None:
        self.observe_many((obs,))

    def observe_many(self, observations: Sequence[AlertObservation]) -> None:
        """Several observations in one transaction and one stream wake-up (a burst of a rule engine). New
        alerts of distinct fingerprints are written in bulk: a storm of a thousand a second stays cheap."""
        emitted = False
        with self._lock:
            with self._engine.begin() as conn:
                fingerprints = [obs.fingerprint for obs in observations]
                active = (
                    {row.fingerprint: row for row in self._active_by_fingerprints(conn, fingerprints)}
                    if len(set(fingerprints)) == len(fingerprints)
                    else None  # the same alert twice in a batch: one after the other, in order
                )
                if active is None:
                    for obs in observations:
                        row = self._active_by_fingerprint(conn, obs.fingerprint)
                        emitted = self._apply_observation(conn, row, obs, _utc(obs.at)) or emitted
                else:
                    fresh = [
                        obs
                        for obs in observations
                        if obs.fingerprint not in active and obs.state != "resolved"
                    ]
                    emitted = self._insert_new(conn, fresh)
                    for obs in observations:
                        if obs.fingerprint in active:
                            row = active[obs.fingerprint]
                            emitted = self._apply_observation(conn, row, obs, _utc(obs.at)) or emitted
            if emitted:
                self.notifier.notify()

    def _insert_new(self, conn: Connection, observations: Sequence[AlertObservation]) -> bool:
        """New alerts, each with its first event, in two bulk statements."""
        if not observations:
            return False
        values = [
            {**_details(obs), "fingerprint": obs.fingerprint, "state": obs.state, "starts_at": _utc(obs.at),
             "updated_at": _utc(obs.at), "version": 1}
            for obs in observations
        ]  # fmt: skip
        rows = conn.execute(insert(alerts).returning(*alerts.c, sort_by_parameter_order=True), values).all()
        conn.execute(
            insert(alert_events),
            [
                {"alert_id": row.id, "at": row.starts_at, "kind": row.state, "alert_json": _event_json(row)}
                for row in rows
            ],
        )
        return True

    def _apply_observation(self, conn: Connection, row: Any, obs: AlertObservation, at: datetime) -> bool:
        details = _details(obs)
        if obs.state == "resolved":
            if row is None:
                return False
            self._update(
                conn,
                row.id,
                state="resolved",
                ends_at=at,
                updated_at=at,
                version=row.version + 1,
                value=float(obs.value),
            )
            self._append_event(conn, row.id, at, "resolved")
            return True
        if row is None:
            result = conn.execute(
                insert(alerts).values(
                    fingerprint=obs.fingerprint,
                    state=obs.state,
                    starts_at=at,
                    updated_at=at,
                    version=1,
                    **details,
                )
            )
            self._append_event(conn, result.inserted_primary_key[0], at, obs.state)
            return True
        # an acknowledged or silenced alert stays so while its condition holds; a silenced one that was
        # pending returns to firing when the engine says it fires meanwhile
        new_state = row.state if row.state in HELD_STATES else obs.state
        changed = new_state != row.state or obs.severity != row.severity
        values: dict[str, Any] = {**details, "state": new_state}
        if row.state == "silenced" and row.silenced_from in ("pending", "firing"):
            values["silenced_from"] = obs.state
        if changed:
            values.update(updated_at=at, version=row.version + 1)
        self._update(conn, row.id, **values)
        if changed:
            self._append_event(conn, row.id, at, new_state)
        return changed

    # --- staff actions -------------------------------------------------------------------------------------

    def _change(
        self, alert_id: int, kind: str, values: Callable[[Any, datetime], dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One staff action: `values(row, now)` gives the new column values or raises AlertConflictError.
        Returns (before, after) and appends the event `kind`."""
        now = datetime.now(UTC)
        with self._lock:
            with self._engine.begin() as conn:
                row = self._by_id(conn, alert_id)
                changes = values(row, now)
                self._update(conn, alert_id, updated_at=now, version=row.version + 1, **changes)
                self._append_event(conn, alert_id, now, kind)
                after = self._by_id(conn, alert_id)
            self.notifier.notify()
        return alert_json(row), alert_json(after)

    def acknowledge(
        self, alert_id: int, actor: str, ack_timeout_s: float | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Returns (before, after). Only pending or firing alerts can be acknowledged."""

        def values(row: Any, now: datetime) -> dict[str, Any]:
            if row.state not in ("pending", "firing"):
                raise AlertConflictError(
                    f"alert {alert_id} is {row.state}; only pending or firing alerts can be acknowledged"
                )
            expires = None if ack_timeout_s is None else now + timedelta(seconds=ack_timeout_s)
            return {"state": "acknowledged", "ack_by": actor, "ack_at": now, "ack_expires_at": expires}

        return self._change(alert_id, "acknowledged", values)

    def silence(
        self, alert_id: int, actor: str, until: datetime, comment: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Returns (before, after). Any alert not resolved can be silenced; silencing a silenced alert
        replaces its silence (it still returns to the state it had before the first)."""

        def values(row: Any, now: datetime) -> dict[str, Any]:
            if row.state == "resolved":
                raise AlertConflictError(f"alert {alert_id} is resolved; only active alerts can be silenced")
            previous = row.silenced_from if row.state == "silenced" else row.state
            return {
                "state": "silenced",
                "silenced_from": previous,
                "silenced_until": _utc(until),
                "silenced_by": actor,
                "silence_comment": comment,
            }

        return self._change(alert_id, "silenced", values)

    def unsilence(self, alert_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """End a silence now: the alert returns to the state it had. Only silenced alerts."""

        def values(row: Any, now: datetime) -> dict[str, Any]:
            if row.state != "silenced":
                raise AlertConflictError(f"alert {alert_id} is {row.state}, not silenced")
            return {"state": row.silenced_from or "firing", **_SILENCE_CLEARED}

        return self._change(alert_id, "unsilenced", values)

    def resolve(self, alert_id: int, actor: str) -> tuple[dict[str, Any], dict[str, Any]]:
        def values(row: Any, now: datetime) -> dict[str, Any]:
            if row.state == "resolved":
                raise AlertConflictError(f"alert {alert_id} is already resolved")
            return {"state": "resolved", "resolved_by": actor, "ends_at": now}

        return self._change(alert_id, "resolved", values)

    def expire_silences(self, now: datetime | None = None) -> int:
        """Silenced alerts whose silence ended return to the state they had. Returns how many."""
        now = now or datetime.now(UTC)
        with self._lock:
            with self._engine.begin() as conn:
                rows = conn.execute(
                    select(alerts).where(and_(alerts.c.state == "silenced", alerts.c.silenced_until <= now))
                ).all()
                for row in rows:
                    state = row.silenced_from or "firing"
                    self._update(
                        conn, row.id, state=state, updated_at=now, version=row.version + 1, **_SILENCE_CLEARED
                    )
                    self._append_event(conn, row.id, now, "silence_ended")
            if rows:
                self.notifier.notify()
        return len(rows)

    def expire_acknowledgements(self, now: datetime | None = None) -> int:
        """The store's clock: silences that ended are ended first (`expire_silences`), then acknowledged
        alerts whose ack_expires_at has passed fire again. Returns how many acknowledgements expired."""
        now = now or datetime.now(UTC)
        self.expire_silences(now)
        with self._lock:
            with self._engine.begin() as conn:
                rows = conn.execute(
                    select(alerts).where(
                        and_(
                            alerts.c.state == "acknowledged",
                            alerts.c.ack_expires_at.is_not(None),
                            alerts.c.ack_expires_at <= now,
                        )
                    )
                ).all()
                for row in rows:
                    self._update(
                        conn,
                        row.id,
                        state="firing",
                        ack_by=None,
                        ack_at=None,
                        ack_expires_at=None,
                        updated_at=now,
                        version=row.version + 1,
                    )
                    self._append_event(conn, row.id, now, "reraised")
            if rows:
                self.notifier.notify()
        return len(rows)

    # --- reads ---------------------------------------------------------------------------------------------

    def get(self, alert_id: int) -> dict[str, Any]:
        with self._engine.connect() as conn:
            return alert_json(self._by_id(conn, alert_id))

    def list(
        self, states: list[str] | None, severities: list[str] | None, before_id: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int, int]:
        """Newest first. Returns (alerts, total matching, newest event seq)."""
        conditions = []
        if states:
            conditions.append(alerts.c.state.in_(states))
        if severities:
            conditions.append(alerts.c.severity.in_(severities))
        where = and_(True, *conditions)
        query = select(alerts).where(where)
        if before_id is not None:
            query = query.where(alerts.c.id < before_id)
        with self._lock, self._engine.connect() as conn:
            # under the lock, so the seq matches the rows exactly
            latest = conn.execute(select(func.coalesce(func.max(alert_events.c.seq), 0))).scalar_one()
            rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit)).all()
            total = conn.execute(select(func.count()).select_from(alerts).where(where)).scalar_one()
        return [alert_json(row) for row in rows], total, latest

    def latest_seq(self) -> int:
        with self._engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(alert_events.c.seq), 0))).scalar_one()

    def events_after(self, seq: int, limit: int = 500) -> list[tuple[int, str]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(alert_events.c.seq, alert_events.c.alert_json)
                .where(alert_events.c.seq > seq)
                .order_by(alert_events.c.seq)
                .limit(limit)
            ).all()
        return [(row.seq, row.alert_json) for row in rows]

    # --- helpers -------------------------------------------------------------------------------------------

    @staticmethod
    def _active_by_fingerprint(conn: Connection, fingerprint: str) -> Any:
        return conn.execute(
            # `!= 'resolved'`, the partial unique index's own condition, so SQLite uses that index: `IN
            # (active states)` made it scan every firing alert (quadratic in a storm)
            select(alerts).where(and_(alerts.c.fingerprint == fingerprint, alerts.c.state != "resolved"))
        ).first()

    @staticmethod
    def _active_by_fingerprints(conn: Connection, fingerprints: Sequence[str]) -> list[Any]:
        return list(
            conn.execute(
                select(alerts).where(
                    and_(alerts.c.fingerprint.in_(fingerprints), alerts.c.state != "resolved")
                )
            )
        )

    @staticmethod
    def _by_id(conn: Connection, alert_id: int) -> Any:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        if row is None:
            raise AlertNotFoundError(f"no alert {alert_id}")
        return row

    @staticmethod
    def _update(conn: Connection, alert_id: int, **values: Any) -> None:
        conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))

    @staticmethod
    def _append_event(conn: Connection, alert_id: int, at: datetime, kind: str) -> None:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()
        conn.execute(
            insert(alert_events).values(
                alert_id=alert_id,
                at=at,
                kind=kind,
                alert_json=_event_json(row),
            )
        )

"""The security streams while the server runs: a week of benign history on first start, then live benign
traffic, the audit log's staff actions as privileged access, and the attacks the scenario (or a test)
starts.

Ordering is what makes the streams safe to page by id: every row goes through `SecurityStore.append`, which
holds one lock around each insert transaction, and every flush appends only events later than the previous
flush's, oldest first. So a reader that saw id N has already seen every id below N, and id order is time
order (the privileged stream copies audit entries with their own times)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, insert, select
from starlette.concurrency import run_in_threadpool

from nexus_refserver.clock import SimClock
from nexus_refserver.databases import Databases, as_utc, rfc3339
from nexus_refserver.schema import audit_log, staff
from nexus_refserver.schema_security import STREAM_TABLES, login_attempts
from nexus_refserver.security_attacks import AttackContext, build_attack
from nexus_refserver.security_traffic import (
    BACKFILL_DAYS,
    LIVE_RATES,
    BenignTraffic,
    Member,
    Row,
    backfill,
    load_population,
    make_clients,
    utc_now,
)
from nexus_refserver.telemetry.scenario import Scenario

log = logging.getLogger(__name__)

TICK_S = 0.5
MAX_SPEED = 1000.0


class SecurityStore:
    """The only writer of the security tables: one insert transaction at a time, rows in time order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def append(self, batches: dict[str, list[Row]]) -> int:
        """Insert each stream's rows oldest first, all in one transaction; returns how many."""
        written = 0
        with self._lock, self.engine.begin() as conn:
            for stream, rows in batches.items():
                if rows:
                    rows.sort(key=lambda row: row["at"])
                    conn.execute(insert(STREAM_TABLES[stream]), rows)
                    written += len(rows)
        return written

    def is_empty(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(login_attempts.c.id).limit(1)).first() is None

    def last_audit_id(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(audit_log.c.id), 0))).scalar_one()

    def users_only_from(self, country: str, since: datetime, history_from: datetime) -> list[int]:
        """Ids of users whose logins since `since` all came from `country` and began by `history_from`."""
        c = login_attempts.c
        elsewhere = func.sum(case((c.country != country, 1), else_=0))
        query = (
            select(c.user_id)
            .where(c.at >= since, c.user_id.is_not(None))
            .group_by(c.user_id)
            .having(elsewhere == 0, func.min(c.at) <= history_from, func.count() >= 3)
            .order_by(c.user_id)
        )
        with self.engine.connect() as conn:
            return [row.user_id for row in conn.execute(query)]


class SecurityFeed:
    def __init__(self, dbs: Databases, seed: int, scenario: Scenario, clock: SimClock) -> None:
        self.store = SecurityStore(dbs.nexus)
        self.scenario = scenario
        self.clock = clock
        self.seed = seed
        self.members = load_population(dbs.users, seed)
        self.members_by_id = {member.user_id: member for member in self.members}
        self.clients = make_clients(seed)
        self.attack_context = AttackContext(
            random.Random(f"security-attacks-{seed}"), self.members, self.clients, self._user_only_from
        )
        self._lock = threading.Lock()  # guards the pending attack events and the flushed-until time
        self._pending: list[tuple[datetime, int, str, Row]] = []
        self._sequence = itertools.count()
        self._live: BenignTraffic | None = None
        self._flushed_until = utc_now()
        self._audit_after = 0
        self._staff_roles: dict[str, str] = {}
        self.started: list[dict[str, Any]] = []

    # --- start --------------------------------------------------------------------------------------------

    def prepare(self) -> dict[str, int]:
        """Backfill the week before now when the tables are empty, and start live traffic from now."""
        now = utc_now()
        counts: dict[str, int] = {}
        if self.store.is_empty():
            batches = backfill(self.seed, self.members, self.clients, now)
            counts = {stream: len(rows) for stream, rows in batches.items()}
            self.store.append(batches)
            log.info("security backfill: %s", counts)
        self._audit_after = self.store.last_audit_id()
        with self.store.engine.connect() as conn:
            self._staff_roles = {
                row.email: row.role for row in conn.execute(select(staff.c.email, staff.c.role))
            }
        self._live = BenignTraffic(
            random.Random(f"security-live-{self.seed}"), self.members, self.clients, LIVE_RATES, now
        )
        self._flushed_until = now
        return counts

    # --- attacks ------------------------------------------------------------------------------------------

    def _user_only_from(self, country: str, exclude: set[int]) -> Member | None:
        now = utc_now()
        ids = self.store.users_only_from(
            country, now - timedelta(days=BACKFILL_DAYS), now - timedelta(days=BACKFILL_DAYS - 1)
        )
        for user_id in ids:
            member = self.members_by_id.get(user_id)
            if member is not None and member.country == country and user_id not in exclude:
                return member
        return None

    def start_attack(self, kind: str, speed: float = 1.0) -> dict[str, Any]:
        """Stage an attack now: its events are appended as their times come, `speed` times faster than
        the attack's own pace. AttackError when it cannot be staged."""
        with self._lock:
            attack = build_attack(kind, self.attack_context)
            start = max(utc_now(), self._flushed_until)
            for offset, stream, row in attack.events:
                at = start + timedelta(seconds=offset / speed)
                heapq.heappush(self._pending, (at, next(self._sequence), stream, {"at": at, **row}))
        described = {
            "kind": kind,
            "speed": speed,
            "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + timedelta(seconds=attack.duration_s / speed)),
            "events": len(attack.events),
            "actors": attack.actors,
        }
        self.started.append(described)
        log.info("security attack %s started: %s events", kind, len(attack.events))
        return described

    # --- live ---------------------------------------------------------------------------------------------

    def flush(self) -> int:
        """Append everything due: benign traffic, attack events and new audit entries up to now."""
        with self._lock:
            now = utc_now()
            batches = self._live.until(now) if self._live is not None else {}
            while self._pending and self._pending[0][0] < now:
                _, _, stream, row = heapq.heappop(self._pending)
                batches.setdefault(stream, []).append(row)
            self._flushed_until = now
            batches.setdefault("privileged_access", []).extend(self._new_privileged_rows())
            return self.store.append(batches)

    def _new_privileged_rows(self) -> list[Row]:
        """The audit entries recorded since the last flush, as privileged access by their actors."""
        c = audit_log.c
        with self.store.engine.connect() as conn:
            entries = conn.execute(
                select(c.id, c.at, c.actor, c.action, c.entity_type, c.entity_id)
                .where(c.id > self._audit_after)
                .order_by(c.id)
            ).all()
        if entries:
            self._audit_after = entries[-1].id
        return [
            {
                "at": as_utc(entry.at),
                "actor": entry.actor,
                "role": self._staff_roles.get(entry.actor, "system"),
                "action": entry.action,
                "target_type": entry.entity_type,
                "target_id": entry.entity_id,
            }
            for entry in entries
        ]

    async def run(self) -> None:
        """Flush every `TICK_S` seconds until cancelled."""
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await run_in_threadpool(self.flush)
            except Exception:  # one failed flush must not stop the feed (its events are lost)
                log.exception("appending security events failed")

    async def run_scenario(self) -> None:
        """Start each of the scenario's attacks at its simulated time; returns when all have started."""
        for scripted in sorted(self.scenario.attacks, key=lambda item: item.at_s):
            while (remaining := scripted.at_s - self.clock.elapsed()) > 0:
                await asyncio.sleep(self.clock.to_real_seconds(remaining))
            try:
                await run_in_threadpool(self.start_attack, scripted.kind)
            except Exception:  # one attack that cannot be staged must not stop the others
                log.exception("starting the scenario attack %s failed", scripted.kind)

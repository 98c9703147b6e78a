"""The incidents a scenario declares: at each `[[incident]]`'s simulated time the server opens it, like a
responder would, linked to the scenario's alerts active at that moment.

They are timed on the estate's clock from its start, as the scenario's faults are. A server restarted on
the same data does not declare a second copy while the first is still active.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine, and_, select
from starlette.concurrency import run_in_threadpool

from nexus_refserver.alert_store import ACTIVE_STATES
from nexus_refserver.clock import SimClock
from nexus_refserver.incidents import IncidentStore
from nexus_refserver.schema import alerts
from nexus_refserver.telemetry.scenario import Scenario, ScriptedIncident

log = logging.getLogger(__name__)


class ScenarioIncidents:
    def __init__(self, scenario: Scenario, clock: SimClock, store: IncidentStore, engine: Engine) -> None:
        self.scenario = scenario
        self.clock = clock
        self.store = store
        self.engine = engine

    def active_alert_ids(self) -> list[int]:
        """Pending, firing or acknowledged alerts on the services the scenario touches, oldest first."""
        services = sorted(self.scenario.alert_services())
        if not services:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.id)
                .where(and_(alerts.c.state.in_(ACTIVE_STATES), alerts.c.service.in_(services)))
                .order_by(alerts.c.id)
            ).all()
        return [row.id for row in rows]

    def declare(self, scripted: ScriptedIncident) -> dict[str, Any] | None:
        """Open the incident now; None when the same one is still active from an earlier run."""
        existing = self.store.find_active(scripted.title, scripted.created_by)
        if existing is not None:
            log.info("scenario incident %r is still open as incident %s", scripted.title, existing["id"])
            return None
        fields = {
            "title": scripted.title,
            "severity": scripted.severity,
            "summary": scripted.summary,
            "services": list(scripted.services),
            "alert_ids": self.active_alert_ids(),
        }
        notes = [("custom", scripted.note)] if scripted.note else []
        created = self.store.create(scripted.created_by, fields, extra_entries=notes)
        log.info("scenario %s declared incident %s: %s", self.scenario.name, created["id"], scripted.title)
        return created

    async def run(self) -> None:
        """Declare each incident when its time comes; returns when all are declared."""
        for scripted in sorted(self.scenario.incidents, key=lambda item: item.at_s):
            while (remaining := scripted.at_s - self.clock.elapsed()) > 0:
                await asyncio.sleep(self.clock.to_real_seconds(remaining))
            try:
                await run_in_threadpool(self.declare, scripted)
            except Exception:  # one failed declaration must not stop the others
                log.exception("declaring the scenario incident %r failed", scripted.title)

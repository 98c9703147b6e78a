"""An alert storm on demand (`--alert-storm RATE:SECONDS[@DELAY]`): distinct firing alerts raised at a steady
rate, for measuring how a client keeps up (the alert stream's latency, the console's GUI stalls).

Each storm alert is a real alert of the store: listed, streamed, acknowledged like any other. Its
`starts_at` is the moment the server wrote it, so a client can tell how long it took to reach it. Alerts are
written in small batches (one transaction and one stream wake-up per tick), which is how a real rule
engine delivers a burst.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from nexus_refserver.alerting.observation import AlertObservation

log = logging.getLogger(__name__)

TICK_S = 0.02
SEVERITIES = ("critical", "high", "medium", "medium", "low", "low")
STORM_RULE = "alert_storm"


@dataclass(frozen=True, slots=True)
class AlertStorm:
    rate_per_s: float
    duration_s: float
    delay_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> AlertStorm:
        """`RATE:SECONDS` or `RATE:SECONDS@DELAY` (delay after the server is ready), all positive numbers."""
        head, _, delay = text.partition("@")
        rate, sep, seconds = head.partition(":")
        try:
            storm = cls(float(rate), float(seconds), float(delay) if delay else 0.0)
        except ValueError:
            raise ValueError(f"expected RATE:SECONDS[@DELAY], got {text!r}") from None
        if not sep or storm.rate_per_s <= 0 or storm.duration_s <= 0 or storm.delay_s < 0:
            raise ValueError(f"expected RATE:SECONDS[@DELAY] with a positive rate and duration, got {text!r}")
        return storm

    @property
    def total(self) -> int:
        return round(self.rate_per_s * self.duration_s)


class AlertBatchSink(Protocol):
    def observe_many(self, observations: Sequence[AlertObservation]) -> None: ...


def storm_observation(index: int, service: tuple[str, str], at: datetime) -> AlertObservation:
    name, namespace = service
    severity = SEVERITIES[index % len(SEVERITIES)]
    return AlertObservation(
        fingerprint=f"{STORM_RULE}:{index}",
        rule=STORM_RULE,
        severity=severity,
        state="firing",
        service=name,
        namespace=namespace,
        labels={"alertname": STORM_RULE, "service": name, "storm_index": str(index)},
        summary=f"Storm alert {index + 1} on {name}",
        description="A synthetic alert of the --alert-storm load (raised to measure how clients keep up).",
        runbook_url="",
        value=1.0,
        threshold=0.0,
        at=at,
    )


async def run_storm(storm: AlertStorm, services: Sequence[tuple[str, str]], sink: AlertBatchSink) -> None:
    """Raise `storm.total` alerts over `storm.duration_s`, spread over `services` (name, namespace)."""
    await asyncio.sleep(storm.delay_s)
    log.info("alert storm: %d alerts at %.0f/s", storm.total, storm.rate_per_s)
    started = time.monotonic()
    raised = 0
    while raised < storm.total:
        due = min(storm.total, int((time.monotonic() - started) * storm.rate_per_s) + 1)
        if due > raised:
            at = datetime.now(UTC)
            batch = [storm_observation(i, services[i % len(services)], at) for i in range(raised, due)]
            await run_in_threadpool(sink.observe_many, batch)
            raised = due
        await asyncio.sleep(TICK_S)
    log.info("alert storm over: %d alerts in %.1f s", raised, time.monotonic() - started)

"""Scripted uptime histories with known shapes, for the store's tests and the uptime benchmarks."""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable

from nexus_console.domain.health import ServiceState
from nexus_console.domain.uptime import DAY_S, HOUR_S, BucketTally, Grain, Tally, UptimeRecorder, floor_to

POLL_S = 5.0
MAX_GAP_S = 2 * POLL_S


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, second))


def play(
    recorder: UptimeRecorder, service: str, script: Iterable[tuple[float, float, ServiceState]]
) -> list[BucketTally]:
    """One observation every POLL_S from each segment's start up to (not including) its end."""
    tallies = []
    for start, end, state in script:
        at = start
        while at < end:
            tallies.extend(recorder.observe(service, at, state))
            at += POLL_S
    return tallies


def hourly_year(services: int, end: int, rng: random.Random) -> Iterable[list[BucketTally]]:
    """A year of realistic hourly tallies per service (mostly up, some degraded, rare outages, a few
    seconds of no data), one batch per day, like a console that polled all year."""
    for day in range(end - 365 * DAY_S, end, DAY_S):
        batch = []
        for index in range(services):
            for hour in range(day, day + DAY_S, HOUR_S):
                down = rng.choice([0] * 40 + [rng.randint(1, 900)])
                degraded = rng.choice([0] * 5 + [rng.randint(1, 600)])
                no_data = rng.randint(0, 15)
                up = HOUR_S - down - degraded - no_data
                batch.append(
                    BucketTally(f"svc-{index:02d}", Grain.HOUR, hour, Tally(up, degraded, down, no_data))
                )
        yield batch


def ninety_six_days(services: int, now: int, rng: random.Random) -> Iterable[list[BucketTally]]:
    """Rollups as a console leaves them: day rows, and hour rows for the last 8 days. Every service is
    observed by the same sweeps, so a day's tally is the same for all services (the console ran for part
    of the day, the rest is no data) except on the 5 % of service-days with an incident of their own."""
    recent = floor_to(now - 8 * DAY_S, DAY_S)
    shared = {day: rng.randint(8 * HOUR_S, DAY_S) for day in range(recent - 90 * DAY_S, now, DAY_S)}
    for index in range(services):
        name = f"svc-{index:04d}"
        batch = []
        for day, observed in shared.items():
            down, degraded = (rng.randint(1, 3000), rng.randint(0, 900)) if rng.random() < 0.05 else (0, 0)
            tally = Tally(observed - down - degraded, degraded, down, DAY_S - observed)
            if day < recent:
                batch.append(BucketTally(name, Grain.DAY, day, tally))
            else:
                batch += [
                    BucketTally(name, Grain.HOUR, hour, Tally(up_s=min(3600, max(0, now - hour))))
                    for hour in range(day, min(day + DAY_S, now), HOUR_S)
                ]
        yield batch

"""The console's schedule: a due report runs once, a report first seen waits for its next instant, a missed
instant runs once at start, and a failure is reported and retried at the next instant."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from nexus_console.domain.reports import ReportSpec
from nexus_console.services.report_schedule import ReportScheduler, RunLog

DAILY = ReportSpec("Daily orders", metrics=("orders",), schedule="daily 08:00")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def scheduler(tmp_path: Path, clock: Clock, ran: list[str], fail: bool = False) -> ReportScheduler:
    async def run(spec: ReportSpec) -> str:
        if fail:
            raise OSError("disk full")
        ran.append(spec.name)
        return f"wrote {spec.name}"

    return ReportScheduler(lambda: {DAILY.name: DAILY}, run, RunLog(tmp_path / "runs.json"), clock=clock)


def test_a_daily_report_runs_once_at_its_hour_and_not_again_until_the_next_day(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 7, 7, 0).astimezone())
    ran: list[str] = []
    schedule = scheduler(tmp_path, clock, ran)
    assert asyncio.run(schedule.run_due()) == []  # first seen: waits for 08:00
    clock.at += timedelta(minutes=59)
    assert asyncio.run(schedule.run_due()) == [] and ran == []
    clock.at += timedelta(minutes=1, seconds=30)
    (done,) = asyncio.run(schedule.run_due())
    assert done.ok and done.text == "wrote Daily orders" and ran == ["Daily orders"]
    clock.at += timedelta(hours=3)
    assert asyncio.run(schedule.run_due()) == [] and ran == ["Daily orders"]


def test_days_missed_while_the_console_was_closed_run_once_at_start(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 7, 7, 0).astimezone())
    ran: list[str] = []
    asyncio.run(scheduler(tmp_path, clock, ran).run_due())
    clock.at += timedelta(days=3)  # closed over three 08:00s
    asyncio.run(scheduler(tmp_path, clock, ran).run_due())  # a restart: the run log is on disk
    assert ran == ["Daily orders"]


def test_a_failed_run_is_reported_and_tried_again_at_the_next_instant(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 12, 7, 7, 0).astimezone())
    ran: list[str] = []
    failing = scheduler(tmp_path, clock, ran, fail=True)
    seen = []
    failing.runs.subscribe(seen.append)
    asyncio.run(failing.run_due())
    clock.at += timedelta(hours=1, minutes=1)
    (done,) = asyncio.run(failing.run_due())
    assert not done.ok and done.text == "Daily orders did not run: disk full" and seen == [done]
    clock.at += timedelta(days=1)
    working = scheduler(tmp_path, clock, ran)
    assert [run.ok for run in asyncio.run(working.run_due())] == [True]

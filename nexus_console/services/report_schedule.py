"""When saved reports run by themselves: the next run of a schedule (cron through `cronsim`, the parser
Healthchecks uses, in this machine's local time), and a session task that runs each due report while the
console is open, remembering the last run in the data directory so a restart neither skips nor repeats one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from cronsim import CronSim, CronSimError

from nexus_console.domain.reports import ReportError, ReportSpec, ScheduledRun, schedule_to_cron
from nexus_console.services.feeds import Feed

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0
RUNS_FILE = "report-runs.json"


def next_run(spec: ReportSpec, after: datetime) -> datetime | None:
    """The first scheduled instant after `after` (aware, local time); None for a report without a schedule.
    ReportError (a sentence) for a schedule cron cannot read."""
    if not spec.schedule:
        return None
    cron = schedule_to_cron(spec.schedule)
    try:
        return next(CronSim(cron, after.astimezone()))
    except (CronSimError, StopIteration) as exc:
        raise ReportError(f"“{spec.schedule}” is not a schedule cron can read: {exc}.") from None


class RunLog:
    """The instant each report last ran by schedule (`report-runs.json`), written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, datetime]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {name: datetime.fromisoformat(at) for name, at in raw.items()}

    def record(self, name: str, at: datetime) -> None:
        runs = self.load()
        runs[name] = at
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: t.isoformat() for n, t in runs.items()}), encoding="utf-8")
        tmp.replace(self.path)


class ReportScheduler:
    """Runs every due report (`run(spec)`, which writes and delivers it and returns the sentence) and
    publishes each outcome on `runs`. A report first seen now waits for its next scheduled instant; one whose
    instant passed while the console was closed runs once at start, not once per missed instant."""

    def __init__(
        self,
        load_reports: Callable[[], dict[str, ReportSpec]],
        run: Callable[[ReportSpec], Awaitable[str]],
        run_log: RunLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        check_every_s: float = CHECK_EVERY_S,
    ) -> None:
        self._load_reports = load_reports
        self._run = run
        self.run_log = run_log
        self._clock = clock
        self._check_every_s = check_every_s
        self.runs: Feed[ScheduledRun] = Feed("scheduled reports")

    async def run_forever(self) -> None:
        while True:
            await self.run_due()
            await asyncio.sleep(self._check_every_s)

    async def run_due(self) -> list[ScheduledRun]:
        now = self._clock()
        try:  # small files, read off the loop's thread all the same
            reports = await asyncio.to_thread(self._load_reports)
        except ReportError as exc:
            log.warning("scheduled reports not read: %s", exc)
            return []
        last_runs = await asyncio.to_thread(self.run_log.load)
        done = []
        for spec in reports.values():
            if not spec.schedule:
                continue
            last = last_runs.get(spec.name)
            if last is None:
                await asyncio.to_thread(self.run_log.record, spec.name, now)  # from now on: its next instant
                continue
            try:
                due = next_run(spec, last)
            except ReportError as exc:
                log.warning("report %s: %s", spec.name, exc)
                continue
            if due is None or due > now:
                continue
            await asyncio.to_thread(self.run_log.record, spec.name, now)
            try:
                text, ok = await self._run(spec), True
            except Exception as exc:  # any failure is reported in the console, and the next instant retries
                text, ok = f"{spec.name} did not run: {exc}", False
            outcome = ScheduledRun(spec.name, now, ok, text)
            log.info("scheduled report %s: %s", spec.name, text)
            self.runs.publish(outcome)
            done.append(outcome)
        return done

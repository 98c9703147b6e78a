"""Uptime rollups in SQLite, and the recording that feeds them from the probe sweeps. Qt-free.

Every sweep of the probes poller becomes one observation per service (`domain.uptime.UptimeRecorder`); the
tallies it closes are added into minute, hour and day rows at once, so each grain is complete on its own
and a window is read from the coarsest rows that fit. Minute rows are kept 2 h, hour rows 8 days and day
rows `retention_days` (two years by default): a service costs about 365 day rows a year, a few kB.

All SQLite work runs on one owned worker thread (a SqliteStore); `aclose()` shuts it down.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from nexus_console.domain.uptime import (
    DAY_S,
    HOUR_RETENTION_S,
    HOUR_S,
    MINUTE_RETENTION_S,
    BucketTally,
    Grain,
    Tally,
    covering_rows,
    day_start,
    floor_to,
    hour_start,
    month_bounds,
)
from nexus_console.domain.uptime_windows import ReportWindows, ServiceUptime, padded_tally, sum_tallies
from nexus_console.services.sqlite_store import SqliteStore

T = TypeVar("T")
log = logging.getLogger(__name__)

PAGE_SIZE = 4096
DEFAULT_RETENTION_DAYS = 730
GRAINS = (Grain.MINUTE, Grain.HOUR, Grain.DAY)  # finest first; a table per grain, named after it

_ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    service_id INTEGER NOT NULL,
    start INTEGER NOT NULL,
    up INTEGER NOT NULL,
    degraded INTEGER NOT NULL,
    down INTEGER NOT NULL,
    no_data INTEGER NOT NULL,
    PRIMARY KEY (service_id, start)
) WITHOUT ROWID;
"""
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS service (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);\n"
    + "".join(_ROLLUP_TABLE.format(name=grain.value) for grain in GRAINS)
    + "CREATE TABLE IF NOT EXISTS last_observation"
    " (service_id INTEGER PRIMARY KEY, at REAL NOT NULL, state TEXT NOT NULL);\n"
)

_ADD_ROW = (
    "INSERT INTO {table} (service_id, start, up, degraded, down, no_data) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (service_id, start) DO UPDATE SET up = up + excluded.up,"
    " degraded = degraded + excluded.degraded, down = down + excluded.down,"
    " no_data = no_data + excluded.no_data"
)
_SUMS = "coalesce(sum(up), 0), coalesce(sum(degraded), 0), coalesce(sum(down), 0), coalesce(sum(no_data), 0)"

Row = tuple[int, ...]


class UptimeStore:
    """Minute, hour and day rollups of every service in one SQLite file."""

    def __init__(
        self, path: Path | str, *, retention_days: int = DEFAULT_RETENTION_DAYS, timeout_s: float = 10.0
    ) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._store = SqliteStore(self.path, timeout_s=timeout_s, thread_name="uptime-store")
        self._prepared = False  # only touched on the worker thread
        self._service_ids: dict[str, int] = {}  # only touched on the worker thread

    async def aclose(self) -> None:
        await self._store.aclose()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` on the worker thread, in one transaction."""
        return await self._store.call(self._in_transaction, work)

    def _in_transaction(self, connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        if not self._prepared:
            _prepare(connection)
            self._prepared = True
        try:
            with connection:
                return work(connection)
        except BaseException:
            self._service_ids.clear()  # ids inserted by a rolled-back transaction are gone
            raise

    def _ids(self, connection: sqlite3.Connection, names: set[str]) -> dict[str, int]:
        missing = [(name,) for name in names if name not in self._service_ids]
        if missing:
            connection.executemany("INSERT OR IGNORE INTO service (name) VALUES (?)", missing)
            self._service_ids = {
                name: id_ for id_, name in connection.execute("SELECT id, name FROM service")
            }
        return self._service_ids

    async def record(self, tallies: Sequence[BucketTally], last: Mapping[str, tuple[float, str]]) -> None:
        """Add each tally into its own grain's row and every coarser one (a minute tally goes into its
        minute, hour and day rows), and keep each service's last observation (at, state) for a restart;
        all in one transaction. Tallies are summed per row here first, so a batch is one upsert per row."""
        sums: dict[tuple[Grain, str, int], list[int]] = {}
        for item in tallies:
            tally = item.tally
            for grain in GRAINS[GRAINS.index(item.grain) :]:
                key = (grain, item.service, floor_to(item.start, grain.seconds))
                row = sums.get(key)
                if row is None:
                    sums[key] = [tally.up_s, tally.degraded_s, tally.down_s, tally.no_data_s]
                else:
                    row[0] += tally.up_s
                    row[1] += tally.degraded_s
                    row[2] += tally.down_s
                    row[3] += tally.no_data_s
        names = {item.service for item in tallies} | set(last)
        observations = [(name, float(at), str(state)) for name, (at, state) in last.items()]

        def write(connection: sqlite3.Connection) -> None:
            ids = self._ids(connection, names)
            for grain in GRAINS:
                rows = [(ids[name], start, *row) for (g, name, start), row in sums.items() if g is grain]
                if rows:
                    connection.executemany(_ADD_ROW.format(table=grain.value), rows)
            connection.executemany(
                "INSERT INTO last_observation (service_id, at, state) VALUES (?, ?, ?)"
                " ON CONFLICT (service_id) DO UPDATE SET at = excluded.at, state = excluded.state"
                " WHERE excluded.at > last_observation.at",
                [(ids[name], at, state) for name, at, state in observations],
            )

        await self._run(write)

    async def prune(self, now: float) -> dict[Grain, int]:
        """Drop rows whose bucket starts before their grain's retention (minute 2 h, hour 8 days, day
        `retention_days` before today) and give the freed pages back to the file system; rows deleted."""
        cutoffs = {
            Grain.MINUTE: now - MINUTE_RETENTION_S,
            Grain.HOUR: now - HOUR_RETENTION_S,
            Grain.DAY: day_start(now) - self.retention_days * DAY_S,
        }

        def delete(connection: sqlite3.Connection) -> dict[Grain, int]:
            return {
                grain: connection.execute(f"DELETE FROM {grain.value} WHERE start < ?", (cutoff,)).rowcount
                for grain, cutoff in cutoffs.items()
            }

        deleted = await self._run(delete)
        await self._store.call(_vacuum)
        return deleted

    async def last_observations(self) -> dict[str, tuple[float, str]]:
        def query(connection: sqlite3.Connection) -> dict[str, tuple[float, str]]:
            cursor = connection.execute(
                "SELECT s.name, o.at, o.state FROM last_observation o JOIN service s ON s.id = o.service_id"
            )
            return {name: (at, state) for name, at, state in cursor}

        return await self._run(query)

    async def tally(self, service: str, start: float, end: float) -> Tally:
        """What was recorded for `service` in [start, end) (taken to the minute): day rows for whole UTC
        days, hour rows for whole hours of the ragged ends, minute rows for the rest.

        A finer grain is only kept for its retention (minutes 2 h, hours 8 days): a ragged end older than
        that is only in the coarser rows, which hold more than the window, so it is left out. Windows
        older than 2 h should start and end at whole hours, older than 8 days at whole UTC days."""
        ranges = covering_rows(math.floor(start), math.floor(end))

        def query(connection: sqlite3.Connection) -> Tally:
            found = connection.execute("SELECT id FROM service WHERE name = ?", (service,)).fetchone()
            total = Tally()
            if found is None:
                return total
            for grain, low, high in ranges:
                row = connection.execute(
                    f"SELECT {_SUMS} FROM {grain.value} WHERE service_id = ? AND start >= ? AND start < ?",
                    (found[0], low, high),
                ).fetchone()
                total = total + Tally(*row)
            return total

        return await self._run(query)

    async def report(self, now: float, days: int = 90) -> list[ServiceUptime]:
        """Every known service's figures (see ServiceUptime), by name, from four queries: the services, the
        day rows from the oldest window on, and two sums of hour rows: from `day_ago` on (the last 24 h)
        and the head of the last 7 days up to its first whole day (the rest is day rows). Hour and day rows
        already hold the current hour and day so far, so no minute rows are needed. The hour sums join on
        the services so that each is an index seek per service, not a scan of 8 days of hour rows. All of
        it runs on the worker thread, so the event loop is not held while 90,000 days become tallies."""
        windows = ReportWindows.at(now, days)

        def build(connection: sqlite3.Connection) -> list[ServiceUptime]:
            services = connection.execute("SELECT id, name FROM service ORDER BY name").fetchall()
            by_service: dict[int, dict[int, tuple[int, int, int, int]]] = defaultdict(dict)
            for service_id, start, up, degraded, down, no_data in connection.execute(
                "SELECT service_id, start, up, degraded, down, no_data FROM day"
                " WHERE start >= ? AND start <= ?",
                (windows.oldest_day, windows.today),
            ):
                by_service[service_id][start] = (up, degraded, down, no_data)
            last_24h = _hour_sums(connection, windows.day_ago, hour_start(now) + HOUR_S)
            week_head = _hour_sums(connection, windows.week_ago, windows.week_days_start)
            interned: dict[tuple[int, int, int, int], Tally] = {}
            nothing = (0, 0, 0, 0)
            return [
                windows.service_uptime(
                    name,
                    by_service.get(service_id, {}),
                    last_24h.get(service_id, nothing),
                    week_head.get(service_id, nothing),
                    interned,
                )
                for service_id, name in services
            ]

        return await self._run(build)

    async def month_report(
        self, year: int, month: int, *, now: float | None = None
    ) -> list[tuple[str, Tally, list[Tally]]]:
        """For an SLA report: each service with day rows in the UTC month, by name, with the month's total
        and its daily tallies (first day first). Days are padded with no data up to `now` (default: the
        month's end, i.e. a month that is over)."""
        start, end = month_bounds(year, month)
        now_s = math.floor(end if now is None else now)

        def query(connection: sqlite3.Connection) -> list[Row]:
            return connection.execute(
                "SELECT s.name, d.start, d.up, d.degraded, d.down, d.no_data FROM day d"
                " JOIN service s ON s.id = d.service_id WHERE d.start >= ? AND d.start < ?",
                (start, end),
            ).fetchall()

        by_service: dict[str, dict[int, Row]] = defaultdict(dict)
        for name, day, *row in await self._run(query):
            by_service[name][day] = row
        report = []
        for name in sorted(by_service):
            rows = by_service[name]
            daily = [padded_tally(rows.get(day), min(DAY_S, now_s - day)) for day in range(start, end, DAY_S)]
            report.append((name, sum_tallies(daily), daily))
        return report


def _hour_sums(connection: sqlite3.Connection, start: int, end: int) -> dict[int, list[int]]:
    """Each service's hour rows in [start, end), summed."""
    cursor = connection.execute(
        f"SELECT s.id, {_SUMS} FROM service s JOIN hour h ON h.service_id = s.id"
        " WHERE h.start >= ? AND h.start < ? GROUP BY s.id",
        (start, end),
    )
    return {service_id: sums for service_id, *sums in cursor}


def _vacuum(connection: sqlite3.Connection) -> None:
    """Give the free pages back. Through executescript: `execute` steps a pragma once, and each step of
    incremental_vacuum frees a single page."""
    connection.executescript("PRAGMA incremental_vacuum;")


def _prepare(connection: sqlite3.Connection) -> None:
    """Create the tables; in a new file first switch to incremental auto-vacuum (only possible before the
    first table exists, and SqliteStore has already put the file in WAL mode, hence the VACUUM)."""
    empty = connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
    if empty and connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
        connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
        connection.execute("VACUUM")
    connection.executescript(SCHEMA)

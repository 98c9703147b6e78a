"""Uptime rollups in real SQLite files: scripted probe histories with known answers, retention, file size,
and the recording that follows the probes poller across a console restart."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from nexus_console.domain.freshness import Stamped
from nexus_console.domain.health import Probe, ProbeOutcome, ProbeResult, ProbeSweep, ServiceState
from nexus_console.domain.uptime import DAY_S, HOUR_S, BucketTally, Grain, Tally, UptimeRecorder
from nexus_console.domain.uptime_windows import bar_level, sum_tallies
from nexus_console.services.polling import Poller
from nexus_console.services.tasks import TaskRunner
from nexus_console.services.uptime_recording import UptimeRecording
from nexus_console.services.uptime_store import UptimeStore
from tests.support.uptime_history import MAX_GAP_S, POLL_S, hourly_year, ninety_six_days, play, utc

UP, DEGRADED, DOWN = ServiceState.UP, ServiceState.DEGRADED, ServiceState.DOWN


async def record_script(
    store: UptimeStore, script: Iterable[tuple[float, float, ServiceState]], service: str = "orders"
) -> list[BucketTally]:
    recorder = UptimeRecorder(MAX_GAP_S)
    tallies = play(recorder, service, script)
    last = {name: (at, state.value) for name, (at, state) in recorder.last_observations().items()}
    await store.record(tallies, last)
    return tallies


@pytest.mark.asyncio
async def test_an_outage_across_a_month_end_counts_in_both_months(tmp_path: Path) -> None:
    store = UptimeStore(tmp_path / "uptime.sqlite3")
    month_end = utc(2026, 2, 1)
    try:
        await record_script(
            store,
            [
                (month_end - HOUR_S, month_end - 20 * 60, UP),  # down from 31 January 23:40 ...
                (month_end - 20 * 60, month_end + 30 * 60, DOWN),  # ... to 1 February 00:30
                (month_end + 30 * 60, month_end + HOUR_S + POLL_S, UP),
            ],
        )
        [(name, january, january_days)] = await store.month_report(2026, 1)
        [(_, february, february_days)] = await store.month_report(2026, 2)
    finally:
        await store.aclose()
    assert name == "orders"
    assert (january.up_s, january.down_s) == (40 * 60, 20 * 60)
    assert (february.up_s, february.down_s) == (30 * 60, 30 * 60)
    assert len(january_days) == 31 and len(february_days) == 28
    assert january_days[-1] == Tally(up_s=40 * 60, down_s=20 * 60, no_data_s=DAY_S - HOUR_S)
    assert february_days[0].down_s == 30 * 60 and february_days[1] == Tally(no_data_s=DAY_S)
    assert january.total_s == 31 * DAY_S  # the days nothing was recorded for are no data


@pytest.mark.asyncio
async def test_a_polling_gap_and_degraded_time_read_back_as_no_data_and_available(tmp_path: Path) -> None:
    store = UptimeStore(tmp_path / "uptime.sqlite3")
    t0 = utc(2026, 3, 11, 9)
    try:
        await record_script(
            store,
            [
                (t0, t0 + 600, UP),
                (t0 + 600, t0 + 1200, DEGRADED),  # last observation at t0 + 1195, then 10 min without
                (t0 + 1195 + 600, t0 + 1800 + POLL_S, UP),
            ],
        )
        tally = await store.tally("orders", t0, t0 + 1800)
    finally:
        await store.aclose()
    assert tally == Tally(up_s=600 + 5, degraded_s=595 + 10, no_data_s=590)
    assert tally.uptime_ratio == 1.0
    assert tally.coverage_ratio == pytest.approx(1210 / 1800)


@pytest.mark.asyncio
async def test_the_tally_of_a_window_mixing_day_hour_and_minute_rows_equals_what_was_recorded(
    tmp_path: Path,
) -> None:
    store = UptimeStore(tmp_path / "uptime.sqlite3")
    rng = random.Random(7)
    t0 = utc(2026, 3, 9, 20)
    script, at = [], float(t0)
    while at < t0 + 30 * HOUR_S:
        length = rng.choice([300, 900, 3600, 7200])
        script.append((at, at + length, rng.choice([UP, UP, UP, DEGRADED, DOWN])))
        at += length
        if rng.random() < 0.2:
            at += rng.choice([120, 1800])  # polling stopped for a while
    try:
        tallies = await record_script(store, script)
        start, end = utc(2026, 3, 9, 22, 37), utc(2026, 3, 11, 1, 13)
        tally = await store.tally("orders", start, end)
        whole = await store.tally("orders", t0, t0 + 2 * DAY_S)
        nobody = await store.tally("nobody", t0, t0 + DAY_S)
    finally:
        await store.aclose()
    assert all(item.grain is Grain.MINUTE for item in tallies)
    assert tally == sum_tallies(item.tally for item in tallies if start <= item.start < end)
    assert tally.down_s > 0 and tally.degraded_s > 0 and tally.no_data_s > 0
    assert whole == sum_tallies(item.tally for item in tallies)
    assert nobody == Tally()


@pytest.mark.asyncio
async def test_retention_prunes_minute_and_hour_rows_but_the_day_rows_still_answer_the_month(
    tmp_path: Path,
) -> None:
    store = UptimeStore(tmp_path / "uptime.sqlite3")
    t0 = utc(2026, 3, 11, 9)
    try:
        await record_script(
            store, [(t0, t0 + 1800, UP), (t0 + 1800, t0 + 2400, DOWN), (t0 + 2400, t0 + HOUR_S + 5, UP)]
        )
        before = await store.month_report(2026, 3)
        assert await store.tally("orders", t0 + 1800, t0 + 2400) == Tally(down_s=600)  # minute rows

        deleted = await store.prune(t0 + 3 * HOUR_S)
        assert deleted == {Grain.MINUTE: 60, Grain.HOUR: 0, Grain.DAY: 0}
        assert await store.tally("orders", t0 + 1800, t0 + 2400) == Tally()  # only in coarser rows now
        assert await store.tally("orders", t0, t0 + HOUR_S) == Tally(up_s=3000, down_s=600)  # hour row

        deleted = await store.prune(t0 + 9 * DAY_S)
        assert deleted == {Grain.MINUTE: 0, Grain.HOUR: 1, Grain.DAY: 0}
        assert await store.tally("orders", t0, t0 + HOUR_S) == Tally()
        assert await store.month_report(2026, 3) == before
        [(_, march, _)] = before
        assert (march.up_s, march.down_s) == (3000, 600)

        assert (await store.prune(t0 + 731 * DAY_S))[Grain.DAY] == 1  # two years on, the day goes too
        assert await store.month_report(2026, 3) == []
    finally:
        await store.aclose()


@pytest.mark.asyncio
async def test_the_report_gives_ninety_daily_bars_oldest_first_and_the_windows(tmp_path: Path) -> None:
    store = UptimeStore(tmp_path / "uptime.sqlite3")
    now = utc(2026, 3, 11, 14, 20)
    ten_days_ago = utc(2026, 3, 1, 12)
    try:
        await record_script(
            store,
            [(ten_days_ago, ten_days_ago + 2400, DOWN), (ten_days_ago + 2400, ten_days_ago + 2405, UP)],
            service="billing",
        )
        await record_script(store, [(now - 2 * HOUR_S, now - 1800, UP), (now - 1800, now + 5, DEGRADED)])
        week_ago = utc(2026, 3, 4, 14)  # the last 7 days start at a whole hour: hour rows, then day rows
        for outage in (week_ago - HOUR_S, week_ago + 6 * HOUR_S, utc(2026, 3, 8, 3)):
            await record_script(
                store, [(outage, outage + 600, DOWN), (outage + 600, outage + 605, UP)], "search"
            )
        report = await store.report(now)
    finally:
        await store.aclose()
    assert [figures.service for figures in report] == ["billing", "orders", "search"]
    billing, orders, search = report
    assert len(billing.daily) == 90 and billing.first_day == utc(2026, 3, 11) - 89 * DAY_S
    assert billing.daily[-11] == Tally(down_s=2400, no_data_s=DAY_S - 2400)
    assert bar_level(billing.daily[-11]) == "major outage"
    assert [bar_level(day) for day in billing.daily].count("no data") == 89
    assert billing.this_month.down_s == 2400 and billing.last_30d.down_s == 2400
    assert billing.last_7d.known_s == 0 and billing.last_month == Tally(no_data_s=28 * DAY_S)
    assert orders.daily[-1] == Tally(up_s=5400, degraded_s=1800, no_data_s=14 * HOUR_S + 20 * 60 - 7200)
    assert orders.last_24h == Tally(up_s=5400, degraded_s=1800, no_data_s=24 * HOUR_S + 20 * 60 - 7200)
    assert bar_level(orders.daily[-1]) == "degraded"
    assert orders.last_7d == Tally(up_s=5400, degraded_s=1800, no_data_s=now - week_ago - 7200)
    assert search.last_7d.down_s == 1200 and search.last_7d.total_s == now - week_ago
    assert search.last_30d.down_s == 1800 and search.last_24h.known_s == 0


@pytest.mark.asyncio
async def test_a_new_file_uses_4_kib_pages_and_incremental_auto_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "uptime.sqlite3"
    store = UptimeStore(path)
    try:
        assert await store.last_observations() == {}
    finally:
        await store.aclose()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA page_size").fetchone() == (4096,)
        assert connection.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
    connection.close()


@pytest.mark.asyncio
async def test_a_year_of_fifty_services_costs_under_0_05_mb_per_service_year(tmp_path: Path) -> None:
    path = tmp_path / "uptime.sqlite3"
    end = utc(2026, 3, 11)
    store = UptimeStore(path)
    try:
        for batch in hourly_year(50, end, random.Random(3)):
            last = {item.service: (float(item.start + HOUR_S), "up") for item in batch}
            await store.record(batch, last)
        before_prune = path.stat().st_size
        deleted = await store.prune(end)
        [(_, february, _)] = [row for row in await store.month_report(2026, 2) if row[0] == "svc-07"]
    finally:
        await store.aclose()  # the last connection closing checkpoints the WAL into the file
    size = path.stat().st_size
    per_service_year_mb = size / 50 / 1e6
    print(
        f"\nuptime store: {before_prune / 1e6:.2f} MB before prune, {size / 1e6:.3f} MB after prune and"
        f" incremental vacuum = {per_service_year_mb * 1000:.1f} kB per service-year"
        f" (hour rows deleted: {deleted[Grain.HOUR]:,})"
    )
    assert february.total_s == 28 * DAY_S and february.known_s > 0.99 * february.total_s
    assert size < before_prune
    assert per_service_year_mb < 0.05


@pytest.mark.asyncio
async def test_the_report_of_1000_services_gives_each_its_90_daily_bars_and_windows(tmp_path: Path) -> None:
    store = UptimeStore(tmp_path / "uptime.sqlite3")
    now = utc(2026, 3, 11, 14, 20)
    try:
        for batch in ninety_six_days(1000, now, random.Random(5)):
            await store.record(batch, {batch[0].service: (float(now), "up")})
        report = await store.report(now)
    finally:
        await store.aclose()
    assert len(report) == 1000 and all(len(figures.daily) == 90 for figures in report)
    assert report[0].last_30d.known_s > 0 and report[0].last_24h.known_s > 0
    assert [figures.service for figures in report] == sorted(figures.service for figures in report)


# ---- the recording, through a real poller and a scripted clock -----------------------------------


def sweep(at: float, outcomes: dict[str, ProbeOutcome]) -> ProbeSweep:
    results = tuple(
        ProbeResult(service, probe, outcome, at, 12.0)
        for service, outcome in outcomes.items()
        for probe in (Probe.HEALTH, Probe.READY)
    )
    return ProbeSweep(at - 0.5, at, results)


class Script:
    """A probes poller whose sweeps and clock the test sets."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.outcomes: dict[str, ProbeOutcome] | None = {}
        self.poller: Poller[ProbeSweep] = Poller(
            "probes", self._fetch, POLL_S, timeout_s=5.0, clock=self.clock
        )

    def clock(self) -> float:
        return self.now

    async def _fetch(self) -> ProbeSweep:
        if self.outcomes is None:
            raise ConnectionError("the estate is unreachable")
        return sweep(self.now, self.outcomes)

    async def poll_every_5_s(self, until: float) -> None:
        while self.now < until:
            await self.poller.poll_once()
            self.now += POLL_S


async def until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out waiting")


@pytest.mark.asyncio
async def test_recording_follows_the_probes_and_a_console_restart_gap_counts_as_no_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "uptime.sqlite3"
    t0 = utc(2026, 3, 11, 9)
    script = Script(t0)
    # A sweep from the previous run's cache is shown at start, but it is not an observation.
    script.poller.restore(Stamped(sweep(t0 - 600, {"orders": ProbeOutcome.DOWN}), t0 - 600, t0 - 600, POLL_S))
    tasks = TaskRunner()
    recording = UptimeRecording(
        UptimeStore(path), script.poller, stale_after_s=3 * POLL_S, max_gap_s=MAX_GAP_S, clock=script.clock
    )
    try:
        recording.start(tasks)
        await until(lambda: script.poller.subscriber_count() == 1)
        script.outcomes = {"orders": ProbeOutcome.UP, "billing": ProbeOutcome.UP}
        await script.poll_every_5_s(t0 + 600)
        script.outcomes["billing"] = ProbeOutcome.TIMEOUT  # billing down for 5 min
        await script.poll_every_5_s(t0 + 900)
        script.outcomes = None  # the estate unreachable for 5 min: no observations
        await script.poll_every_5_s(t0 + 1200)
        script.outcomes = {"orders": ProbeOutcome.DEGRADED, "billing": ProbeOutcome.UP}
        await script.poll_every_5_s(t0 + 1800 + POLL_S)
        first_run = await recording.refresh()
        assert recording.feed.latest == first_run
    finally:
        await recording.aclose()
        await tasks.aclose()

    # The console was not running for 2 hours; then the same estate again.
    script.now = t0 + 1800 + 2 * HOUR_S
    tasks = TaskRunner()
    recording = UptimeRecording(
        UptimeStore(path), script.poller, stale_after_s=3 * POLL_S, max_gap_s=MAX_GAP_S, clock=script.clock
    )
    try:
        recording.start(tasks)
        await until(lambda: script.poller.subscriber_count() == 1)
        await script.poll_every_5_s(script.now + 60 + POLL_S)
        report = await recording.refresh()
        orders = await recording.store.tally("orders", t0, t0 + 3 * HOUR_S)
        billing = await recording.store.tally("billing", t0, t0 + 3 * HOUR_S)
        before_start = await recording.store.tally("orders", t0 - HOUR_S, t0)
    finally:
        await recording.aclose()
        await tasks.aclose()

    # Observations at t0 .. t0 + 895 s, none from t0 + 900 s to t0 + 1200 s, then t0 + 1200 s .. t0 + 1800 s;
    # each state holds 10 s past its observation; then 2 h without the console (from t0 + 1810 s).
    restart_gap = 2 * HOUR_S - 10
    assert before_start == Tally()  # the cached sweep from the previous run was not taken as one
    assert orders == Tally(up_s=895 + 10, degraded_s=600 + 10 + 60, no_data_s=295 + restart_gap)
    assert billing == Tally(up_s=600 + 610 + 60, down_s=295 + 10, no_data_s=295 + restart_gap)
    by_name = {figures.service: figures for figures in report}
    assert by_name["billing"].daily[-1].down_s == 305
    assert by_name["orders"].last_24h.uptime_ratio == 1.0
    assert [figures.service for figures in first_run] == ["billing", "orders"]

"""The asyncio loop keeps turning: the heartbeat, the Qt-side watchdog, and start-up repeated often enough to
catch a hang that came once in seven runs."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import time
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from nexus_console.app import ConsoleApp
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.heartbeat import Heartbeat
from nexus_console.services.polling import Poller
from nexus_console.services.races import Interrupted, unless_set
from nexus_console.workers.event_loop import ConsoleEventLoop
from nexus_console.workers.loop_watchdog import LoopWatchdog
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import DEMO_PASSWORD
from tests.console.conftest import QLoop
from tests.console.console_support import answer_login, make_console, write_profile
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer
from tests.support.session import offline_session

ADMIN = "admin@nexus.test"
STARTS = 8
FIRST_MINUTE_S = 3.0  # the first minute, shortened (the sources poll every 0.5-1 s here)
MAX_GAP_S = 2.0
BEAT_S = 0.25
FAST = SessionSettings(
    health=HealthSourceSettings(probes_interval_s=1.0, documents_interval_s=0.5),
    heartbeat_interval_s=BEAT_S,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_heartbeat_records_the_last_beat_and_the_longest_gap(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    heartbeat = Heartbeat(1.0, warn_gap_s=3.0, clock=clock)
    assert heartbeat.last_beat_age_s() is None and not heartbeat.is_stalled()
    heartbeat.beat()
    clock.now += 1.0
    heartbeat.beat()
    assert heartbeat.max_gap_s == pytest.approx(1.0) and heartbeat.stalls == 0
    clock.now += 2.5
    assert heartbeat.last_beat_age_s() == pytest.approx(2.5) and not heartbeat.is_stalled()
    clock.now += 1.5
    assert heartbeat.is_stalled() and heartbeat.is_stalled(threshold_s=3.9)
    heartbeat.beat()
    assert heartbeat.max_gap_s == pytest.approx(4.0) and heartbeat.stalls == 1 and heartbeat.beats == 3
    assert "the event loop stalled: 4.0 s between heartbeats" in caplog.text
    assert heartbeat.describe() == "last beat 0.0 s ago, 3 beats, longest gap 4.00 s, 1 stalls"


def test_the_qt_watchdog_reports_a_loop_that_stopped_beating_once_and_its_return(qapp: Any) -> None:
    clock = Clock()
    heartbeat = Heartbeat(1.0, clock=clock)
    watchdog = LoopWatchdog(heartbeat, stall_s=5.0)
    seen: list[tuple[str, float]] = []
    watchdog.stalled.connect(lambda age: seen.append(("stalled", age)))
    watchdog.recovered.connect(lambda gap: seen.append(("recovered", gap)))
    heartbeat.beat()
    for _ in range(3):
        clock.now += 3.0
        watchdog.check()  # what its QTimer does every second
    heartbeat.beat()
    watchdog.check()
    assert seen == [("stalled", 6.0), ("recovered", 9.0)]
    assert watchdog.stall_count == 1 and not watchdog.is_stalled


def test_a_step_cut_short_by_its_event_is_cancelled(qloop: QLoop) -> None:
    async def scenario() -> tuple[int, bool]:
        event = asyncio.Event()
        finished = await unless_set(event, asyncio.sleep(0, result=7))
        step = asyncio.ensure_future(asyncio.sleep(30))
        asyncio.get_running_loop().call_later(0.05, event.set)
        with pytest.raises(Interrupted):
            await unless_set(event, step)
        return finished, step.cancelled()

    assert qloop.run(scenario(), timeout_s=5) == (7, True)


def test_a_poller_that_swallows_its_cancellation_does_not_keep_the_session_open(
    qloop: QLoop, caplog: pytest.LogCaptureFixture
) -> None:
    swallowed: list[bool] = []

    async def fetch() -> dict[str, bool]:
        try:
            await asyncio.sleep(0.5)  # waiting for a socket to close, say
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)  # what `suppress(CancelledError)` around that wait does, once
        return {"ok": True}

    async def scenario() -> float:
        async with offline_session() as session:
            session.registry.add(Poller("swallower", fetch, 0.1, timeout_s=5.0))
            session.start()
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await session.aclose()
            return time.monotonic() - started

    with caplog.at_level(logging.ERROR):
        took = qloop.run(scenario(), timeout_s=20)
    assert swallowed, "the cancellation landed in the fetch"
    assert 2.5 < took < 5.0
    assert "shutdown: the pollers did not stop within 3 s" in caplog.text
    assert "poller:swallower" in caplog.text


def _task_stacks() -> str:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        print(f"-- {task.get_name()}", file=out)
        task.print_stack(limit=6, file=out)
    return out.getvalue()


def _one_start(app: QApplication, first: bool) -> dict[str, Any]:
    """One run of the whole console on a fresh qasync loop (as each process start has): start-up, sign-in,
    the first "minute", quit. A stalled asyncio loop stops the Qt loop through the watchdog, so a hang fails
    the test instead of freezing it."""
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    console: ConsoleApp = make_console(session_settings=FAST)
    console.watchdog.stall_s = MAX_GAP_S
    stalls: list[float] = []

    def on_stall(age: float) -> None:
        stalls.append(age)
        loop.stop()

    console.watchdog.stalled.connect(on_stall)
    result: dict[str, Any] = {}

    async def scenario() -> int:
        started = time.monotonic()
        run = asyncio.ensure_future(console.run())
        try:
            if first:  # later starts resume from the keychain
                await answer_login(ADMIN, DEMO_PASSWORD, remember=True)
            await wait_until(lambda: console.session is not None and console.session.freshness.all_fresh, 20)
            assert console.session is not None and console.session.heartbeat is console.heartbeat
            result["fresh_after_s"] = time.monotonic() - started
            await asyncio.sleep(FIRST_MINUTE_S)
        finally:
            console.request_quit()
        quit_at = time.monotonic()
        done, _ = await asyncio.wait([run], timeout=15)
        assert done, f"the console did not quit within 15 s; its tasks:\n{_task_stacks()}"
        result["quit_s"] = time.monotonic() - quit_at
        return run.result()

    try:
        with loop:
            result["exit_code"] = loop.run_until_complete(scenario())
    except RuntimeError as exc:
        raise AssertionError(f"the loop stalled ({stalls}): {console.heartbeat.describe()}") from exc
    finally:
        asyncio.set_event_loop(None)
        # A qasync loop is freed only by the cycle collector; collect here, on the GUI thread: a collection
        # triggered in a worker thread would destroy its timer object there ("Timers cannot be stopped from
        # another thread", then a crash when a timer it left registered fires).
        gc.collect()
    result.update(heartbeat=console.heartbeat, stalls=stalls)
    return result


@pytest.mark.slow
@pytest.mark.timeout(240, method="thread")
def test_the_loop_keeps_turning_through_startup_sign_in_and_the_first_minute_start_after_start(
    qapp: Any, refserver_session: RefServer
) -> None:
    write_profile(refserver_session.base_url)
    runs = []
    for start in range(STARTS):
        run = _one_start(qapp, first=start == 0)
        heartbeat: Heartbeat = run["heartbeat"]
        runs.append(f"{run['fresh_after_s']:.1f}/{heartbeat.max_gap_s:.2f}/{run['quit_s']:.2f}")
        assert run["exit_code"] == 0, f"start {start}: the console quits cleanly"
        # within a second, not by way of the shutdown's 3 s fallback for a task that swallowed its cancel
        assert run["quit_s"] < 1.5, f"start {start}: quitting took {run['quit_s']:.1f} s"
        assert run["stalls"] == [], f"start {start}: {heartbeat.describe()}"
        assert heartbeat.max_gap_s < MAX_GAP_S, f"start {start}: {heartbeat.describe()}"
        expected_beats = FIRST_MINUTE_S / BEAT_S
        assert heartbeat.beats >= expected_beats, f"start {start}: {heartbeat.describe()}"
    print("per start, seconds: fresh after / longest heartbeat gap / quit:", ", ".join(runs))

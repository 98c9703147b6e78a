"""GUI stalls while the console replays a large offline outbox and the admin searches at the same time.

- admin_max_stall_ms: the whole console runs in-process on the demo reference server (its embedded SQLite
  data, 50k users), showing the Admin pane. 10k reset_password actions on active demo users (one each,
  pinned to version 1) are written into the console's own outbox, as a bulk action queued while offline
  leaves them, and the admin runtime is woken to replay them against the server. While it replays, a user
  search (name substrings and email prefixes, alternating) is set in the pane's search box and started
  every 250 ms. The row is the longest lateness of a 5 ms QTimer on the GUI thread (benchmarks.demo_console
  StallTimer) from the wake until the outbox has drained or REPLAY_BUDGET_S has passed.
- admin_stall_p99_ms: the 99th percentile of the same timer's lateness (reported, not a requirement).
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.bench_runtime import isolated_dirs
from benchmarks.demo_console import with_demo_console
from benchmarks.stall_meter import StallTimer
from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.outbox_model import OutboxState

ACTIONS = 10_000
REPLAY_BUDGET_S = 90.0
SEARCH_EVERY_S = 0.25
STALL_LIMIT_MS = 50.0
SETTLE_S = 2.0  # after the console has data: the first polls' answers are in before the clock starts


def active_users(users_db: Path, count: int) -> list[tuple[int, str, str]]:
    """(id, name, email) of the first `count` active users still at version 1 in the demo's users db."""
    db = sqlite3.connect(f"file:{users_db}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT id, name, email FROM users WHERE status = 'active' AND version = 1 ORDER BY id LIMIT ?",
            (count,),
        ).fetchall()
    finally:
        db.close()


def search_texts(users: list[tuple[int, str, str]], count: int, seed: int = 7) -> list[str]:
    """What an admin types: alternately a 3-5 letter piece of a name and an email prefix (first.la)."""
    rng = random.Random(seed)
    texts = []
    for index in range(count):
        _id, name, email = rng.choice(users)
        if index % 2 == 0:
            word = rng.choice(name.split()).lower()
            size = min(len(word), rng.randint(3, 5))
            start = rng.randint(0, len(word) - size)
            texts.append(word[start : start + size])
        else:
            local = email.split("@", 1)[0]
            texts.append(local[: local.find(".") + 1 + rng.randint(1, 3)] if "." in local else local[:4])
    return texts


class AdminStallRun:
    """The measurement inside the demo console; its figures are read after the console has quit."""

    def __init__(self) -> None:
        self.stall: StallTimer | None = None
        self.measuring = False
        self.searches_started = 0
        self.search_ms: list[float] = []  # start to done, searches that finished without an error
        self.search_errors = 0  # failed or cancelled while measuring (a search still running at the end
        # is cancelled with the session: not counted)
        self.counts: dict[OutboxState, int] = {}
        self.queued = 0
        self.elapsed_s = 0.0
        self.drained = False
        self.load_before = (0.0, 0.0, 0.0)
        self.load_after = (0.0, 0.0, 0.0)
        self.cpu_s = {"machine": 0.0, "console": 0.0, "server": 0.0}  # CPU used during the measurement

    async def measure(self, console: Any) -> None:
        window, session = console.window, console.session
        runtime = session.admin
        assert runtime is not None and console.demo_server is not None, "the demo admin has an admin runtime"
        await asyncio.wait_for(runtime.ready.wait(), 30)
        assert runtime.outbox is not None and runtime.lookups is not None, runtime.problem
        pane = window.show_pane("Admin")
        users = active_users(console.demo_server.data_dir / "users.sqlite3", ACTIONS)
        assert len(users) == ACTIONS, f"the demo has only {len(users)} active users at version 1"
        texts = search_texts(users, int(REPLAY_BUDGET_S / SEARCH_EVERY_S) + 1)
        # Queued as the offline admin left them: written into the console's own outbox (its thread).
        await runtime.outbox.enqueue_many(
            [
                ActionRequest(
                    EntityRef(EntityType.USER, str(uid)), "reset_password", "benchmark", expected_version=1
                )
                for uid, _name, _email in users
            ]
        )
        self.queued = sum((await runtime.outbox.counts()).values())
        await asyncio.sleep(SETTLE_S)
        self.load_before = os.getloadavg()
        processes = {"console": psutil.Process(), "server": psutil.Process(console.demo_server.proc.pid)}
        cpu_before = {"machine": _busy_s(psutil.cpu_times())} | {
            n: _busy_s(p.cpu_times()) for n, p in processes.items()
        }
        self.stall = StallTimer()
        self.measuring = True
        self.stall.start()
        started = time.perf_counter()
        deadline = started + REPLAY_BUDGET_S
        runtime.wake()  # back online: the pump sends what is queued
        searching = asyncio.ensure_future(self._search_loop(pane, texts, deadline))
        try:
            while time.perf_counter() < deadline:
                await asyncio.sleep(0.5)
                counts = await runtime.outbox.counts()
                if not counts.get(OutboxState.QUEUED) and not counts.get(OutboxState.SENDING):
                    self.drained = True
                    break
        finally:
            self.elapsed_s = time.perf_counter() - started
            self.stall.stop()
            self.measuring = False
            searching.cancel()
            await asyncio.gather(searching, return_exceptions=True)
        self.counts = dict(await runtime.outbox.counts())
        self.cpu_s = {"machine": _busy_s(psutil.cpu_times()) - cpu_before["machine"]} | {
            n: _busy_s(p.cpu_times()) - cpu_before[n] for n, p in processes.items()
        }
        self.load_after = os.getloadavg()

    async def _search_loop(self, pane: Any, texts: list[str], deadline: float) -> None:
        for text in texts:
            if time.perf_counter() >= deadline:
                return
            pane.search_edit.setText(text)  # what the admin typed; Return starts the search
            task = pane.start_search()
            if task is not None:
                self.searches_started += 1
                task.add_done_callback(self._search_done(time.perf_counter()))
            await asyncio.sleep(SEARCH_EVERY_S)

    def _search_done(self, started: float) -> Any:
        def done(task: asyncio.Task[Any]) -> None:
            if not self.measuring:
                return
            if task.cancelled() or task.exception() is not None:
                self.search_errors += 1
            else:
                self.search_ms.append((time.perf_counter() - started) * 1000)

        return done


def _busy_s(times: Any) -> float:
    """CPU seconds used, from psutil cpu_times of a process or of the machine (guest time is in user)."""
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))


def _rows(run: AdminStallRun) -> list[dict[str, Any]]:
    stall = run.stall
    assert stall is not None and stall.gaps, "the measurement did not run"
    worst = stall.worst
    applied = run.counts.get(OutboxState.APPLIED, 0)
    others = ", ".join(
        f"{count} {state.value}"
        for state, count in run.counts.items()
        if count and state is not OutboxState.APPLIED
    )
    searches = f"{run.searches_started} searches started, {len(run.search_ms)} completed" + (
        f" (median {statistics.median(run.search_ms):.0f} ms, max {max(run.search_ms):.0f} ms)"
        if run.search_ms
        else ""
    )
    note = (
        f"demo console on the Admin pane; {run.queued:,} reset_password actions queued offline, "
        f"{applied:,} applied in {run.elapsed_s:.1f} s ({applied / run.elapsed_s:.0f}/s"
        f"{'; drained' if run.drained else f'; budget {REPLAY_BUDGET_S:.0f} s spent'}"
        f"{'; ' + others if others else ''}); {searches}"
        f"{f', {run.search_errors} failed' if run.search_errors else ''}, one every "
        f"{SEARCH_EVERY_S * 1000:.0f} ms; {len(stall.gaps)} ticks of a {stall.tick_ms} ms QTimer, "
        f"{stall.over(STALL_LIMIT_MS)} gaps over {STALL_LIMIT_MS:.0f} ms; GUI-thread CPU in the worst gap "
        f"{stall.busy[worst]:.0f} ms (the rest of it the thread was not running), most CPU in one gap "
        f"{max(stall.busy):.0f} ms; load average {run.load_before[0]:.2f} before, "
        f"{run.load_after[0]:.2f} after, on {os.cpu_count()} cores; CPU in the run: console "
        f"{run.cpu_s['console']:.1f} s, reference server {run.cpu_s['server']:.1f} s, other processes "
        f"{max(0.0, run.cpu_s['machine'] - run.cpu_s['console'] - run.cpu_s['server']):.1f} s"
    )
    return [
        {
            "name": "admin_max_stall_ms",
            "value": round(max(stall.gaps), 1),
            "unit": "ms",
            "target": "<= 50",
            "note": note,
        },
        {
            "name": "admin_stall_p99_ms",
            "value": round(stall.percentile(0.99), 1),
            "unit": "ms",
            "target": "none set",
            "note": "99th percentile of the same timer's lateness during the replay and searches "
            "(reported, not a requirement)",
        },
    ]


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-admin-stall-") as tmp, isolated_dirs(Path(tmp)):
        measurement = AdminStallRun()
        with_demo_console(measurement.measure)
        return _rows(measurement)


if __name__ == "__main__":
    for row in run():
        print(row)

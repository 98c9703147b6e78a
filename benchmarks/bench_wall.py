"""Wall display benchmarks: memory over a week of rotation, GUI stalls while switching, silent re-sign-in.

Each row runs in a child process of its own (`python -m benchmarks.bench_wall --child MODE`): a real
`ConsoleApp` (session, pollers, main window, offscreen) signed in as the demo admin through its login dialog
with "Remember me" ticked (an in-memory keyring, never the developer's keychain), against a real reference
server (`nexus_refserver` subprocess, `--seed 7 --scale 0.02 --scenario none`) that the child starts. A fresh
process per row keeps the other benchmarks' objects out of its RSS and its event loop. The scenario is
`none` so that no incident or critical alert holds the wall on one item.

- wall_rss_growth_pct_7d: a `WallController` over every wall pane the account has (`default_config`), driven
  by a fake clock through 7 days at 30 s an item (20,160 switches). Every item is one fake-clock jump (a tick
  at 1 s before the switch prepares the next item, as the real wall does 1.5 s ahead; a tick at 0 s
  switches), and after each switch the qasync loop turns so Qt paints the pane and the live session (polling
  the server at its normal intervals) delivers its data. RSS (psutil, after gc.collect()) after a warm-up
  turn of every item vs at the end, in percent; the QObject and QTimer counts under the wall window before
  and after are in the note.
- wall_switch_max_stall_ms: the longest lateness of a 5 ms QTimer on the GUI thread while the wall switches
  items every 0.5 s for 30 s (a 250 ms QTimer calls the wall's tick(), as its own 500 ms timer does; the fake
  clock makes every other tick prepare the next item and the ones between show it), the live session
  polling as usual. Baseline wall_no_switch_max_stall_ms: the same
  measure for 30 s just before, the same wall ticking without switching. Both after a warm-up turn that
  builds every pane (its own worst gap is in the note).
- wall_relogin_s: a server with `--access-ttl 3 --refresh-ttl 6`, the wall open. The server is SIGKILLed and
  kept down until every token the console holds has expired (refresh TTL + 1 s), then started again on the
  same port; from its listening line until the `me` and `probes` sources are OK again, with no user action
  (the console's first authenticated request meets a 401, its refresh token is refused, it signs in again
  with the remembered password). `me` polls at the probes interval (5 s, the session default for probes;
  `me` defaults to 60 s and would otherwise not notice the restart); the target is two of those intervals.
  Worst of CYCLES cycles. Baseline wall_relogin_poll_interval_s: that interval, so the ratio column is
  in poll intervals.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER_ARGS = ("--seed", "7", "--scale", "0.02", "--scenario", "none")
TOKEN_ARGS = ("--access-ttl", "3", "--refresh-ttl", "6")
REFRESH_TTL_S = 6.0
ADMIN = "admin@nexus.test"
ITEM_S = 30.0
DAYS = 7
PREPARE_BEFORE_S = 1.0  # the first of an item's two ticks: within the wall's PREPARE_AHEAD_S
STALL_TICK_MS = 5
SWITCH_TICK_MS = 250  # two ticks an item: prepare, then switch (every 0.5 s)
STALL_PHASE_S = 30.0
RELOGIN_INTERVAL_S = 5.0  # HealthSourceSettings().probes_interval_s; `me` is set to the same
CYCLES = 3
CHILD_TIMEOUT_S = {"rss": 1800.0, "stall": 400.0, "relogin": 400.0}  # the rotation alone: 9-14 min


# ---- the benchmark process ------------------------------------------------------------------------


def _child_env(base: Path) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6", PYTHONUNBUFFERED="1")
    env.update({f"XDG_{n.upper()}_HOME": str(base / "xdg" / n) for n in ("config", "cache", "data", "state")})
    return env


def _run_child(mode: str, base: Path) -> dict[str, Any]:
    out = base / f"{mode}.json"
    started, load_before = time.monotonic(), os.getloadavg()[0]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_wall",
            "--child",
            mode,
            "--out",
            str(out),
            "--data-dir",
            str(base / mode / "refserver"),
        ],
        cwd=ROOT,
        env=_child_env(base / mode),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S[mode],
    )
    if result.returncode != 0 or not out.exists():
        raise RuntimeError(f"the {mode} child exited {result.returncode}:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(out.read_text())
    data["child_s"] = time.monotonic() - started
    data["load"] = [load_before, os.getloadavg()[0]]
    return data


def _load(m: dict[str, Any]) -> str:
    before, after = m["load"]
    return (
        f"load average (1 min) {before:.2f} before and {after:.2f} after this row's "
        f"{m['child_s']:.0f} s, on {os.cpu_count()} cores"
    )


def _rss_row(m: dict[str, Any]) -> dict[str, Any]:
    before, after = m["rss_before_mb"], m["rss_after_mb"]
    growth = (after - before) / before * 100
    trend = ", ".join(
        f"{int(h) // 24} d {mb:.1f}" if int(h) % 24 == 0 else f"{h} h {mb:.1f}"
        for h, mb in m["rss_at_hour_mb"].items()
    )
    return {
        "name": "wall_rss_growth_pct_7d",
        "value": round(growth, 2),
        "unit": "%",
        "target": "<= 5",
        "note": f"{m['switches']:,} switches of {m['items']} items ({', '.join(m['panes'])}) at "
        f"{ITEM_S:.0f} s an item on a fake clock ({m['fake_days']:.1f} days), each painted "
        f"({m['paints']:,} pane paints) with the live session polling the server; RSS {before:.1f} -> "
        f"{after:.1f} MB (after a warm-up turn of every item vs the end, both after gc.collect(); on the "
        f"way, fake time: {trend} MB); wall window "
        f"QObjects {m['qobjects_before']} -> {m['qobjects_after']}, QTimers {m['qtimers_before']} -> "
        f"{m['qtimers_after']}; held by attention: {m['held_ticks']} ticks; "
        f"{m['rotation_s']:.0f} s of wall-clock time "
        f"({m['rotation_s'] / max(1, m['switches']) * 1000:.1f} ms a switch); {_load(m)}",
        "details": {
            key: m[key] for key in ("qobjects_before", "qobjects_after", "qtimers_before", "qtimers_after")
        },
    }


def _stall_row(m: dict[str, Any]) -> dict[str, Any]:
    switching, idle, warm = m["switching"], m["idle"], m["warm_up"]
    by_pane = ", ".join(f"{pane} {n}" for pane, n in sorted(switching["over_50_by_pane"].items()))
    return {
        "name": "wall_switch_max_stall_ms",
        "value": round(switching["max_ms"], 1),
        "unit": "ms",
        "target": "<= 50",
        "baseline": {"name": "wall_no_switch_max_stall_ms", "value": round(idle["max_ms"], 1)},
        "note": f"lateness of a {STALL_TICK_MS} ms QTimer, {STALL_PHASE_S:.0f} s switching every "
        f"{2 * SWITCH_TICK_MS / 1000:.1f} s ({m['switched']} switches of {', '.join(m['panes'])}; "
        f"{switching['ticks']} ticks, {switching['over_50']} over 50 ms (by the pane just shown: "
        f"{by_pane or 'none'}), p99 {switching['p99_ms']:.1f} ms; the worst with {switching['worst_pane']} "
        f"just shown, GUI-thread CPU in it {switching['worst_cpu_ms']:.0f} ms; longest wall tick "
        f"{m['longest_tick_ms']:.1f} ms, median switch tick {m['median_switch_tick_ms']:.1f} ms) vs "
        f"{STALL_PHASE_S:.0f} s of the same wall ticking without switching (p99 {idle['p99_ms']:.1f} ms); "
        f"the live session polling at its default intervals; warm-up turn that built the panes: worst gap "
        f"{warm['max_ms']:.1f} ms (not counted); {_load(m)}",
    }


def _relogin_row(m: dict[str, Any]) -> dict[str, Any]:
    cycles = m["cycles"]
    values = [c["fresh_s"] for c in cycles]
    worst = max(cycles, key=lambda c: c["fresh_s"])
    return {
        "name": "wall_relogin_s",
        "value": round(max(values), 2),
        "unit": "s",
        "target": f"<= {2 * RELOGIN_INTERVAL_S:g} (2 poll intervals)",
        "baseline": {"name": "wall_relogin_poll_interval_s", "value": RELOGIN_INTERVAL_S},
        "note": f"access TTL 3 s, refresh TTL 6 s; server SIGKILLed, down {REFRESH_TTL_S + 1:.0f} s, "
        f"restarted on the same port; its listening line to `me` and `probes` OK, worst of {len(values)} "
        f"({', '.join(f'{v:.2f}' for v in values)} s, median {statistics.median(values):.2f}); me and probes "
        f"every {RELOGIN_INTERVAL_S:g} s; in the worst: me {worst['me_s']:.2f} s, probes "
        f"{worst['probes_s']:.2f} s, silent sign-in {worst['login_s']:.2f} s after the restart; refresh "
        f"refused (401) in {sum(c['refresh_refused'] for c in cycles)} of {len(cycles)} cycles, silent "
        f"sign-ins {sum(c['logins'] for c in cycles)}, login dialogs {m['dialogs']}, wall notice "
        f"{m['notice']!r}; server boot {statistics.median(c['boot_s'] for c in cycles):.1f} s (not "
        f"counted); {_load(m)}",
    }


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-wall-") as tmp:
        base = Path(tmp)
        rss = _run_child("rss", base)
        stall = _run_child("stall", base)
        relogin = _run_child("relogin", base)
    return [_rss_row(rss), _stall_row(stall), _relogin_row(relogin)]


# ---- the console process (--child) ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _gaps(ticks: list[tuple[float, float, float, str]], since: float, until: float) -> dict[str, Any]:
    """(epoch, lateness ms, GUI-thread CPU ms, pane shown) ticks within [since, until): the stall figures,
    and how many gaps over 50 ms ended while each pane was the one shown."""
    phase = [t for t in ticks if since <= t[0] < until]
    if not phase:
        return {"ticks": 0, "max_ms": float("nan"), "p99_ms": float("nan"), "over_50": 0, "worst_cpu_ms": 0}
    ordered = sorted(t[1] for t in phase)
    worst = max(phase, key=lambda t: t[1])
    over: dict[str, int] = {}
    for t in phase:
        if t[1] > 50.0:
            over[t[3]] = over.get(t[3], 0) + 1
    return {
        "ticks": len(phase),
        "max_ms": worst[1],
        "p99_ms": ordered[int(len(ordered) * 0.99)],
        "over_50": sum(over.values()),
        "over_50_by_pane": over,
        "worst_pane": worst[3],
        "worst_cpu_ms": worst[2],
    }


def _child(mode: str, out: Path, data_dir: Path) -> None:
    import keyring
    from PySide6.QtWidgets import QApplication

    from nexus_console.app import ConsoleApp
    from nexus_console.launch_options import parse_args
    from nexus_console.services.health_sources import HealthSourceSettings
    from nexus_console.workers.event_loop import ConsoleEventLoop
    from nexus_console.workers.session import SessionSettings
    from tests.console.console_support import write_profile
    from tests.support.memory_keyring import MemoryKeyring
    from tests.support.refserver import RefServer

    keyring.set_keyring(MemoryKeyring())
    app = QApplication([sys.argv[0]])
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    settings = None
    server_args = SERVER_ARGS
    if mode == "relogin":
        server_args += TOKEN_ARGS
        probes = HealthSourceSettings(probes_interval_s=RELOGIN_INTERVAL_S)
        settings = SessionSettings(health=probes, me_interval_s=RELOGIN_INTERVAL_S)
    server = RefServer(data_dir, *server_args)
    server.start(timeout_s=180)
    try:
        write_profile(server.base_url)
        console = ConsoleApp(parse_args([]), app, session_settings=settings)
        measure = {"rss": _measure_rss, "stall": _measure_stall, "relogin": _measure_relogin}[mode]
        with loop:
            result = loop.run_until_complete(_with_console(console, server, measure))
    finally:
        asyncio.set_event_loop(None)
        server.stop()
    out.write_text(json.dumps(result))


async def _with_console(console: Any, server: Any, measure: Any) -> dict[str, Any]:
    """Sign in through the dialog (remember me), wait for every source, measure, quit like a user."""
    from nexus_console.domain.freshness import SourceState
    from nexus_console.services.demo_server import DEMO_PASSWORD
    from tests.console.console_support import answer_login
    from tests.console.helpers import wait_until

    run = asyncio.ensure_future(console.run())
    try:
        await answer_login(ADMIN, DEMO_PASSWORD, remember=True, timeout_s=60)

        def all_ok() -> bool:
            if run.done():
                raise RuntimeError(f"the console stopped: {run.result()}")
            statuses = console.session.statuses() if console.session is not None else {}
            return bool(statuses) and all(s.state is SourceState.OK for s in statuses.values())

        try:
            await wait_until(all_ok, timeout_s=90, interval_s=0.1)
        except TimeoutError:
            states = {n: s.state.name for n, s in console.session.statuses().items()}
            raise RuntimeError(f"the console did not get data: {states}") from None
        result = await measure(console, server)
    finally:
        console.request_quit()
    code = await asyncio.wait_for(run, 30)
    if code != 0:
        raise RuntimeError(f"the console exited {code}")
    return result


def _open_wall(console: Any, clock: FakeClock) -> Any:
    """A wall over every wall pane the account has, on a fake clock, ticked by the caller only."""
    from nexus_console.domain.wall_playlist import default_config
    from nexus_console.launch_options import default_pane_types, settings_for_console
    from nexus_console.views.wall.controller import WallController

    session = console.session
    pane_types = default_pane_types()
    titles = [t.title for t in pane_types if session.me.may_access(t.required_roles)]
    wall = WallController(session, pane_types, default_config(titles), settings_for_console(), clock=clock)
    console.window.hide()  # as ConsoleApp.open_wall does
    wall.start()
    wall.timer.stop()
    return wall


async def _measure_rss(console: Any, server: Any) -> dict[str, Any]:
    import psutil
    from PySide6.QtCore import QEvent, QObject, QTimer

    class PaintCounter(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.paints = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.paints += 1
            return False

    process = psutil.Process()
    clock = FakeClock()
    wall = _open_wall(console, clock)
    try:
        name, window = next(iter(wall.windows.items()))
        items = len(wall.rotations[name].playlist.items)
        held = [0]

        async def switch() -> None:
            clock.now += ITEM_S - PREPARE_BEFORE_S
            wall.tick()  # prepares the next item
            clock.now += PREPARE_BEFORE_S
            wall.tick()  # shows it
            if wall.attention is not None:
                held[0] += 1
            await asyncio.sleep(0)  # the loop turns: Qt paints, the session's answers arrive

        for _ in range(items):  # the warm-up turn: every pane built and shown once
            await switch()
        await asyncio.sleep(0.5)

        def counts() -> tuple[int, int]:
            return len(window.findChildren(QObject)), len(window.findChildren(QTimer))

        counter = PaintCounter()
        for pane in window.panes.values():
            pane.installEventFilter(counter)
        gc.collect()
        rss_before = process.memory_info().rss / 2**20
        qobjects_before, qtimers_before = counts()
        switches_before = wall.switches
        total = int(DAYS * 86400 / ITEM_S)
        per_hour = int(3600 / ITEM_S)
        rss_at_hour: dict[int, float] = {}  # fake hours -> RSS (MB), at 1 h, 6 h and the end of each day
        started = time.monotonic()
        for step in range(1, total + 1):
            await switch()
            hours, rest = divmod(step, per_hour)
            if rest == 0 and (hours in (1, 6) or hours % 24 == 0):
                rss_at_hour[hours] = process.memory_info().rss / 2**20
        rotation_s = time.monotonic() - started
        await asyncio.sleep(0.5)
        gc.collect()
        rss_after = process.memory_info().rss / 2**20
        qobjects_after, qtimers_after = counts()
        switches = wall.switches - switches_before
        if switches != total:
            raise RuntimeError(f"{switches} switches instead of {total} (held: {wall.attention})")
        return {
            "panes": [item.view.pane for item in wall.rotations[name].playlist.items],
            "items": items,
            "switches": switches,
            "fake_days": (clock.now - 0.0) / 86400,
            "paints": counter.paints,
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_after,
            "rss_at_hour_mb": rss_at_hour,
            "qobjects_before": qobjects_before,
            "qobjects_after": qobjects_after,
            "qtimers_before": qtimers_before,
            "qtimers_after": qtimers_after,
            "held_ticks": held[0],
            "rotation_s": rotation_s,
        }
    finally:
        wall.close()
        wall.deleteLater()


async def _measure_stall(console: Any, server: Any) -> dict[str, Any]:
    from PySide6.QtCore import QTimer

    clock = FakeClock()
    wall = _open_wall(console, clock)
    try:
        name = next(iter(wall.windows))
        items = len(wall.rotations[name].playlist.items)
        ticks: list[tuple[float, float, float, str]] = []
        last = [0.0, 0.0]
        shown = [wall.rotations[name].current().pane]

        def probe() -> None:
            now, cpu = time.perf_counter(), time.thread_time()
            if last[0]:
                lateness, busy = (now - last[0]) * 1000 - STALL_TICK_MS, (cpu - last[1]) * 1000
                ticks.append((time.time(), lateness, busy, shown[0]))
            last[0], last[1] = now, cpu

        switching = [False]
        phase = [0]
        tick_ms: list[float] = []
        switch_tick_ms: list[float] = []

        def drive() -> None:
            """The wall's tick, every 250 ms; while switching, the fake clock makes every other one a
            switch and the ones between prepare the next item."""
            switches = wall.switches
            if switching[0]:
                clock.now += ITEM_S - 0.5 if phase[0] == 0 else 0.5
                phase[0] ^= 1
            started = time.perf_counter()
            wall.tick()
            elapsed = (time.perf_counter() - started) * 1000
            tick_ms.append(elapsed)
            if wall.switches != switches:
                switch_tick_ms.append(elapsed)
                shown[0] = wall.rotations[name].current().pane

        stall_timer = QTimer()
        stall_timer.setInterval(STALL_TICK_MS)
        stall_timer.timeout.connect(probe)
        driver = QTimer()
        driver.setInterval(SWITCH_TICK_MS)
        driver.timeout.connect(drive)
        stall_timer.start()
        driver.start()
        try:
            warm_from = time.time()
            switching[0] = True
            while wall.switches < 1 + items:  # the warm-up turn builds every pane
                await asyncio.sleep(0.05)
            switching[0] = False
            await asyncio.sleep(1.0)
            idle_from = time.time()
            await asyncio.sleep(STALL_PHASE_S)
            switch_from = time.time()
            first = wall.switches
            tick_ms.clear()
            switch_tick_ms.clear()
            switching[0] = True
            await asyncio.sleep(STALL_PHASE_S)
            switching[0] = False
            until = time.time()
            switched = wall.switches - first
        finally:
            driver.stop()
            stall_timer.stop()
        if wall.attention is not None:
            raise RuntimeError(f"the wall was held: {wall.attention}")
        return {
            "panes": [item.view.pane for item in wall.rotations[name].playlist.items],
            "warm_up": _gaps(ticks, warm_from, idle_from),
            "idle": _gaps(ticks, idle_from, switch_from),
            "switching": _gaps(ticks, switch_from, until),
            "switched": switched,
            "longest_tick_ms": max(tick_ms),
            "median_switch_tick_ms": statistics.median(switch_tick_ms),
        }
    finally:
        wall.close()
        wall.deleteLater()


async def _measure_relogin(console: Any, server: Any) -> dict[str, Any]:
    from nexus_console.domain.freshness import SourceState
    from tests.console.console_support import visible_login_dialog
    from tests.console.helpers import wait_until

    records: list[tuple[float, str]] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((time.monotonic(), record.getMessage()))

    auth_log = logging.getLogger("nexus_console.services.auth")
    auth_log.setLevel(logging.INFO)
    recorder = Recorder(logging.INFO)
    auth_log.addHandler(recorder)
    logins: list[float] = []
    console.auth.on_login.append(lambda me: logins.append(time.monotonic()))
    console.open_wall()
    assert console.wall is not None
    dialogs: list[float] = []

    async def watch_dialogs() -> None:
        while True:
            if visible_login_dialog() is not None:
                dialogs.append(time.monotonic())
            await asyncio.sleep(0.05)

    watcher = asyncio.ensure_future(watch_dialogs())
    session = console.session
    cycles = []
    try:
        for _ in range(CYCLES):
            await asyncio.sleep(2.0)
            killed = time.monotonic()
            await asyncio.to_thread(server.kill)
            await wait_until(
                lambda: all(session.statuses()[n].state is SourceState.ERROR for n in ("me", "probes")),
                timeout_s=30,
            )
            await asyncio.sleep(max(0.0, killed + REFRESH_TTL_S + 1.0 - time.monotonic()))
            spawned = time.monotonic()
            await asyncio.to_thread(server.start, 120.0)
            up = time.monotonic()
            fresh: dict[str, float] = {}  # source -> seconds from the restart until it was OK again
            while len(fresh) < 2:
                for name in ("me", "probes"):
                    if name not in fresh and session.statuses()[name].state is SourceState.OK:
                        fresh[name] = time.monotonic() - up
                if time.monotonic() > up + 120:
                    states = {n: s.state.name for n, s in session.statuses().items()}
                    raise RuntimeError(f"not fresh again 120 s after the restart: {states}")
                await asyncio.sleep(0.005)
            after = [message for at, message in records if at >= killed]
            cycles.append(
                {
                    "fresh_s": max(fresh.values()),
                    "me_s": fresh["me"],
                    "probes_s": fresh["probes"],
                    "boot_s": up - spawned,
                    "logins": sum(1 for at in logins if at >= up),
                    "login_s": min((at - up for at in logins if at >= up), default=float("nan")),
                    "refresh_refused": any("token refresh failed" in m for m in after),
                }
            )
    finally:
        watcher.cancel()
        auth_log.removeHandler(recorder)
    return {"cycles": cycles, "dialogs": len(dialogs), "notice": console.wall.account_notice}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="wall benchmarks; --child runs one measurement")
    parser.add_argument("--child", choices=sorted(CHILD_TIMEOUT_S))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--data-dir", type=Path, help="the reference server's data directory")
    args = parser.parse_args(argv)
    if args.child:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ.setdefault("QT_API", "pyside6")
        _child(args.child, args.out, args.data_dir)
        return 0
    for row in run():
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A console whose API turns hostile: RSS growth and the longest GUI stall while its real pollers receive
50 MB bodies from the API, against the same figures while the API answers normally (measured in the same run).

Setup: the reference server (a subprocess), in front of it the project's hostile server as a proxy
(`tests/support/hostile_server.py`: every path forwarded to the reference server until told otherwise), and a
real console process (`benchmarks/hostile_console.py`: `ConsoleApp` with its session, pollers and window,
offscreen) whose profile points at the proxy. After a warm-up, the API answers normally for one phase, then
every JSON document the console polls (the catalogue, the three health documents, /auth/me, /alerts) is a
50 MB JSON list sent chunked without a Content-Length, so the console has to read up to its limit before it
can refuse, then normally again. The benchmark samples the console's RSS (psutil) every 100 ms; the console
records the lateness of a 5 ms QTimer on its GUI thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from nexus_console.services.demo_server import DEMO_EMAIL, DEMO_PASSWORD, DemoServer
from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore
from tests.support.hostile_server import HostileServer, huge_json

ROOT = Path(__file__).resolve().parents[1]
WARM_UP_S = 10.0
PHASE_S = 20.0
RECOVERY_S = 8.0
BODY_MB = 50
HOSTILE_PATHS = (
    "/monitoring/services",
    "/monitoring/api/health",
    "/monitoring/database/health",
    "/monitoring/sync/quality",
    "/auth/me",
    "/alerts",
)


def _sample_rss(process: psutil.Process, seconds: float) -> list[float]:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(process.memory_info().rss / 2**20)
        time.sleep(0.1)
    return samples


def _wait_ready(child: subprocess.Popen[str], timeout_s: float = 120.0) -> None:
    lines: queue.Queue[str] = queue.Queue()
    assert child.stdout is not None
    stdout = child.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=0.5).startswith("READY"):
                return
        except queue.Empty:
            if child.poll() is not None:
                break
    raise RuntimeError(f"the console did not become ready (exit code {child.poll()})")


def _measure(base: Path) -> dict[str, Any]:
    loop = asyncio.new_event_loop()
    server = DemoServer(base / "server", scenario="none")
    base_url = loop.run_until_complete(server.start())
    try:
        with HostileServer(upstream=base_url) as proxy:
            config = base / "profiles.toml"
            profile = Profile("bench", proxy.base_url, email=DEMO_EMAIL, replicas=server.replica_urls())
            ProfileStore(config).save(ProfileBook({"bench": profile}, default="bench"))
            env = dict(
                os.environ, QT_QPA_PLATFORM="offscreen", QT_API="pyside6", NEXUS_BENCH_PASSWORD=DEMO_PASSWORD
            )
            env.update(
                {f"XDG_{n.upper()}_HOME": str(base / "xdg" / n) for n in ("config", "cache", "data", "state")}
            )
            out = base / "console.json"
            run_s = WARM_UP_S + 2 * PHASE_S + RECOVERY_S
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.hostile_console",
                    "--config",
                    str(config),
                    "--profile",
                    "bench",
                    "--run-s",
                    str(run_s),
                    "--out",
                    str(out),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            try:
                _wait_ready(child)
                console = psutil.Process(child.pid)
                time.sleep(WARM_UP_S)
                normal_from = time.time()
                normal_rss = _sample_rss(console, PHASE_S)
                hostile_from = time.time()
                before = {path: proxy.count(path) for path in HOSTILE_PATHS}
                for path in HOSTILE_PATHS:
                    proxy.answer(path, huge_json(BODY_MB, chunked=True))
                hostile_rss = _sample_rss(console, PHASE_S)
                hostile_until = time.time()
                answers = {path: proxy.count(path) - before[path] for path in HOSTILE_PATHS}
                for path in HOSTILE_PATHS:
                    proxy.forget(path)
                recovered_rss = _sample_rss(console, RECOVERY_S - 1.0)
                child.wait(timeout=60)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            result = json.loads(out.read_text())
    finally:
        loop.run_until_complete(server.stop())
        loop.close()
    ticks = result["ticks"]
    normal = [t for t in ticks if normal_from <= t[0] < hostile_from]
    hostile = [t for t in ticks if hostile_from <= t[0] < hostile_until]
    refusals = sorted({text.split(": ", 1)[1] for text in result["errors"] if "; refused" in text})
    if not refusals:
        raise RuntimeError(f"the console refused nothing; its errors: {sorted(result['errors'])}")
    collections = result["gc"]
    return {
        "normal_gc": [c for c in collections if normal_from <= c[0] < hostile_from],
        "hostile_gc": [c for c in collections if hostile_from <= c[0] < hostile_until],
        "refusals": refusals,
        "normal_rss": normal_rss,
        "hostile_rss": hostile_rss,
        "recovered_rss": recovered_rss,
        "normal_ticks": normal,
        "hostile_ticks": hostile,
        "answers": answers,
    }


def _stall(ticks: list[list[float]], collections: list[list[float]]) -> tuple[float, str]:
    worst = max(ticks, key=lambda t: t[1])
    over = sum(1 for t in ticks if t[1] > 50.0)
    # a garbage collection that ended within the worst gap (tick epochs mark a gap's end)
    in_gap = [c for c in collections if worst[0] - (worst[1] + 5) / 1000 <= c[0] <= worst[0]]
    gc_text = "".join(f", a generation-{int(g)} garbage collection of {ms:.0f} ms" for _, g, ms in in_gap)
    longest_gc = max((ms for _, _, ms in collections), default=0.0)
    return worst[1], (
        f"{len(ticks)} ticks, {over} over 50 ms; in the worst, CPU of the GUI thread {worst[2]:.0f} ms and "
        f"of the whole console process {worst[3]:.0f} ms{gc_text}; longest collection {longest_gc:.0f} ms"
    )


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        m = _measure(Path(tmp))
    normal_growth = max(m["normal_rss"]) - m["normal_rss"][0]
    hostile_growth = max(m["hostile_rss"]) - m["hostile_rss"][0]
    normal_stall, normal_note = _stall(m["normal_ticks"], m["normal_gc"])
    hostile_stall, hostile_note = _stall(m["hostile_ticks"], m["hostile_gc"])
    hostile_rss, normal_rss = m["hostile_rss"], m["normal_rss"]
    after = m["recovered_rss"][-1]
    load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    setup = (
        "a real console process (every API poller at a 5 s interval) polling the reference server through a "
        f"hostile proxy; for {PHASE_S:.0f} s "
        f"every polled API document ({len(HOSTILE_PATHS)} paths) answered {BODY_MB} MB of JSON, chunked "
        f"without a Content-Length ({sum(m['answers'].values())} such answers: "
        + ", ".join(f"{path} {count}" for path, count in m["answers"].items())
        + "); the console's errors: "
        + "; ".join(f"'{text}'" for text in m["refusals"])
    )
    return [
        {
            "name": "hostile_50mb_body_rss_growth_mb",
            "value": round(hostile_growth, 1),
            "unit": "MB",
            "target": "<= 30",
            "baseline": {"name": "normal_api_rss_growth_mb", "value": round(normal_growth, 1)},
            "note": f"{setup}; peak RSS minus RSS at the phase's start (hostile {hostile_rss[0]:.0f} -> "
            f"{max(hostile_rss):.0f} MB, {after:.0f} MB {RECOVERY_S - 1:.0f} s after the API recovered; "
            f"normal {normal_rss[0]:.0f} -> {max(normal_rss):.0f} MB); {load}",
        },
        {
            "name": "hostile_50mb_body_max_stall_ms",
            "value": round(hostile_stall, 1),
            "unit": "ms",
            "target": "<= 50",
            "baseline": {"name": "normal_api_max_stall_ms", "value": round(normal_stall, 1)},
            "note": f"lateness of a 5 ms QTimer on the console's GUI thread; hostile: {hostile_note}; "
            f"normal: {normal_note}; {load}",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

"""The console under measurement for bench_hostile: a real `ConsoleApp` (its session, pollers, panes and
window) in a process of its own, signed in with a password from an in-memory keychain, with a 5 ms QTimer
whose lateness is the GUI stall (as in bench_runtime). Its settings are the defaults but for the catalogue and
`me`, polled every 5 s like the health documents.

    NEXUS_BENCH_PASSWORD=... python -m benchmarks.hostile_console --config PROFILES --profile NAME
        --run-s S --out PATH

It prints `READY <epoch>` once every source is OK, keeps running for `--run-s` seconds, quits like a user,
and writes `{"ticks": [[epoch, lateness_ms, gui_thread_cpu_ms, process_cpu_ms], ...], "errors": {"source:
error": first seen epoch}, "gc": [[epoch, generation, ms], ...], "exit_code": n}` to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

TICK_MS = 5
API_INTERVAL_S = 5.0
READY_DEADLINE_S = 90.0


class PresetKeyring(KeyringBackend):
    """Secrets in memory, preset by the benchmark (the console's own keychain code reads them)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, secrets: dict[tuple[str, str], str]) -> None:
        super().__init__()
        self.secrets = dict(secrets)

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no secret for {service}/{username}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--run-s", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nexus_console.app import ConsoleApp
    from nexus_console.domain.freshness import SourceState
    from nexus_console.launch_options import parse_args
    from nexus_console.services.health_sources import HealthSourceSettings
    from nexus_console.services.keychain import password_key
    from nexus_console.services.profiles import ProfileStore
    from nexus_console.workers.event_loop import ConsoleEventLoop
    from nexus_console.workers.session import SessionSettings

    profile = ProfileStore(args.config).load().pick(args.profile)
    assert profile.email is not None
    keyring.set_keyring(
        PresetKeyring(
            {(profile.keychain_service, password_key(profile.email)): os.environ["NEXUS_BENCH_PASSWORD"]}
        )
    )

    app = QApplication([])
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    # Every API poller every 5 s (the catalogue and `me` poll every 60 s by default), so that each of them
    # meets the hostile answers within a phase; the health documents already poll every 5 s.
    settings = SessionSettings(
        health=HealthSourceSettings(services_interval_s=API_INTERVAL_S), me_interval_s=API_INTERVAL_S
    )
    console = ConsoleApp(
        parse_args(["--config", str(args.config), "--profile", args.profile]), app, session_settings=settings
    )
    ticks: list[tuple[float, float, float, float]] = []
    errors: dict[str, float] = {}  # "source: error" -> first seen (epoch)
    last = [0.0, 0.0, 0.0]

    def tick() -> None:
        now, cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
        if last[0]:
            lateness = (now - last[0]) * 1000 - TICK_MS
            ticks.append((time.time(), lateness, (cpu - last[1]) * 1000, (process_cpu - last[2]) * 1000))
        last[0], last[1], last[2] = now, cpu, process_cpu

    collections: list[tuple[float, int, float]] = []  # (epoch at the end, generation, ms) of each gc run
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif info["generation"] >= 1:
            collections.append(
                (time.time(), info["generation"], (time.perf_counter() - gc_started[0]) * 1000)
            )

    gc.callbacks.append(on_gc)
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    async def measure() -> int:
        run = asyncio.ensure_future(console.run())
        deadline = time.monotonic() + READY_DEADLINE_S
        while not (
            console.window is not None
            and console.session is not None
            and (statuses := console.session.statuses())
            and all(s.state is SourceState.OK for s in statuses.values())
        ):
            if time.monotonic() > deadline or run.done():
                states = console.session.statuses() if console.session else {}
                raise RuntimeError(f"the console did not get data: {states}")
            await asyncio.sleep(0.1)
        timer.start()
        print(f"READY {time.time():.3f}", flush=True)
        stop_at = time.monotonic() + args.run_s
        while time.monotonic() < stop_at:  # the sources' error texts, as the status bar shows them
            for name, status in console.session.statuses().items():
                if status.error:
                    errors.setdefault(f"{name}: {status.error}", time.time())
            await asyncio.sleep(0.25)
        timer.stop()
        console.request_quit()
        return await run

    try:
        with loop:
            exit_code = loop.run_until_complete(measure())
    finally:
        asyncio.set_event_loop(None)
    args.out.write_text(
        json.dumps({"ticks": ticks, "errors": errors, "gc": collections, "exit_code": exit_code})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

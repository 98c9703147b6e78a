"""Render the README's screenshots from the running console on the demo scenario.

Run on a real X display (the Makefile target wraps it in xvfb-run):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/docs_screenshots.py --out docs

It starts the console with `--demo`, lets the demo incident develop for `--settle` seconds (the order
processor's latency and 5xx climb within two minutes), then shows each view the way a user would reach it and
saves the window as PNG.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

from nexus_console.app import ConsoleApp, parse_args
from nexus_console.domain.freshness import SourceState
from nexus_console.views.theme import apply_theme

INCIDENT_SERVICE = "puabo-nuki-order-processor"


async def settle(seconds: float) -> None:
    """Let Qt paint and the pollers deliver for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def shoot(console: ConsoleApp, out: Path, settle_s: float) -> None:
    try:
        while console.window is None:
            await asyncio.sleep(0.1)
        window = console.window
        window.resize(1600, 1000)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = list(window.ctx.hub.statuses().values())
            if statuses and all(s.state is SourceState.OK for s in statuses):
                break
            await asyncio.sleep(0.2)
        print(f"sources up; letting the demo incident develop for {settle_s:.0f} s", file=sys.stderr)
        await settle(settle_s)

        out.mkdir(parents=True, exist_ok=True)
        health = next(p for p in window.panes if p.title == "Health")
        window.show_pane("Health")
        health.select_service(INCIDENT_SERVICE)
        await settle(2)
        save(window, out / "health.png")

        health.tabs.setCurrentWidget(health.overview)
        await settle(2)
        save(window, out / "health-overview.png")
        health.tabs.setCurrentIndex(0)

        window.show_pane("Alerts")
        await settle(2)
        alerts = next(p for p in window.panes if p.title == "Alerts")
        if alerts.proxy.rowCount():
            alerts.select_row(0)
        await settle(1)
        save(window, out / "alerts.png")
    finally:
        console.request_quit(0)


def save(window: object, path: Path) -> None:
    if not window.grab().save(str(path), "PNG"):  # type: ignore[attr-defined]
        raise SystemExit(f"could not save {path}")
    print(f"saved {path}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--settle", type=float, default=150.0, help="seconds of demo before the shots")
    options = parser.parse_args()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    console = ConsoleApp(parse_args(["--demo"]), app)
    with loop:
        shots = loop.create_task(shoot(console, options.out, options.settle))
        code = loop.run_until_complete(console.run())
        if shots.done() and shots.exception() is not None:
            raise shots.exception()  # type: ignore[misc]
    return code


if __name__ == "__main__":
    raise SystemExit(main())

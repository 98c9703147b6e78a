"""The screenshot matrix: the whole console on a real X screen of a given size, every pane shown in turn.

The parent (a test) starts one Xvfb screen per size and runs this module in a child process on it:

    python -m tests.support.screen_matrix --server URL --data-dir DIR --out DIR

(QT_SCALE_FACTOR=2 in the child's environment for a 4K screen at scale 2: it works on Xvfb, where there is
no desktop to set Xft.dpi.) The child signs in as the demo admin with a remembered password, opens the main
window the way the app does, waits for every source, then fills the screen with the window (as a user
maximising it would) and shows each pane and each page of its tabs. Per view it saves the window as PNG
and measures the panes' tables; everything goes into `report.json` in `--out`, which the test reads:

    screen      size, available geometry and device pixel ratio (logical pixels)
    opened      the window as the app opened it: geometry, frame, minimumSize, minimumSizeHint
    filled      the window after filling the screen
    shots       per pane (and tab page): the PNG, the pane's rectangle in the window, whether it is
                visible, and every visible table: its header sections (text, size, the style's size
                hint for the text, position) and whether it is the pane's main table (the largest)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 150.0
PROFILE = "matrix"
SOURCES_DEADLINE_S = 60.0
# Panes whose table fills in the demo scenario's first 20 s (its first alert, its incident): waited for.
WAIT_FOR_ROWS = ("Alerts", "Incidents")
WAIT_FOR_ROWS_S = 25.0


@dataclass(frozen=True)
class Screen:
    """An Xvfb screen: its size in device pixels and the scale the console runs at on it."""

    width: int
    height: int
    scale: int = 1

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}" + (f"@{self.scale}x" if self.scale != 1 else "")


def run_on_screen(screen: Screen, server_url: str, server_data: Path, out: Path) -> dict[str, Any]:
    """Run the console on a private Xvfb `screen` against the server; the child's report, with its
    stderr in `out/console.log`. Fresh config, cache, data and state directories under `out`."""
    from tests.support.xvfb import Xvfb

    out.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("QT_", "XDG_"))}
    for name in ("config", "cache", "data", "state"):
        (out / "xdg" / name).mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name.upper()}_HOME"] = str(out / "xdg" / name)
    env.update(QT_QPA_PLATFORM="xcb", QT_API="pyside6", PYTHONUNBUFFERED="1")
    if screen.scale != 1:
        env["QT_SCALE_FACTOR"] = str(screen.scale)
    xvfb = Xvfb(screen.width, screen.height)
    env["DISPLAY"] = xvfb.start()
    command = [sys.executable, "-m", "tests.support.screen_matrix"]
    command += ["--server", server_url, "--data-dir", str(server_data), "--out", str(out)]
    try:
        with open(out / "console.log", "wb") as log:
            result = subprocess.run(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=CHILD_TIMEOUT_S
            )
    finally:
        xvfb.stop()
    log_text = (out / "console.log").read_text(encoding="utf-8", errors="replace")
    report_file = out / "report.json"
    report = json.loads(report_file.read_text(encoding="utf-8")) if report_file.exists() else {}
    if result.returncode != 0 or "failure" in report or "shots" not in report:
        raise AssertionError(
            f"the console on {screen.name} exited with {result.returncode}: "
            f"{report.get('failure', '')}{log_text[-3000:]}"
        )
    return dict(report)


def _rect(rect: Any) -> list[int]:
    return [rect.x(), rect.y(), rect.width(), rect.height()]


def _size(size: Any) -> list[int]:
    return [size.width(), size.height()]


def table_facts(view: Any, pane: Any) -> dict[str, Any]:
    """What a user sees of one table's horizontal header."""
    from PySide6.QtCore import QPoint, Qt

    header = view.horizontalHeader()
    model = view.model()
    sections = []
    for logical in range(header.count()):
        text = model.headerData(logical, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        sections.append(
            {
                "index": logical,
                "text": "" if text is None else str(text),
                "hidden": header.isSectionHidden(logical),
                "size": header.sectionSize(logical),
                "hint": header.sectionSizeFromContents(logical).width(),
                "position": header.sectionViewportPosition(logical),
            }
        )
    top_left = view.mapTo(pane, QPoint(0, 0))
    return {
        "name": view.objectName() or type(view).__name__,
        "kind": type(view).__name__,
        "rect": [top_left.x(), top_left.y(), view.width(), view.height()],
        "rows": model.rowCount(),
        "header_visible": header.isVisible(),
        "viewport_width": view.viewport().width(),
        "header_length": header.length(),
        "horizontal_scrollbar": view.horizontalScrollBar().isVisible(),
        "sections": sections,
    }


def visible_tables(pane: Any) -> list[Any]:
    from PySide6.QtWidgets import QTableView, QTreeView

    views = [v for v in pane.findChildren(QTableView) + pane.findChildren(QTreeView) if v.isVisible()]
    return sorted(views, key=lambda v: v.width() * v.height(), reverse=True)


async def settle(seconds: float) -> None:
    """Let Qt lay out and paint, and the pollers deliver, for a while."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def wait_for(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def prepare(window: Any, pane: Any) -> None:
    """What a user does first on a pane so that it shows something: search, choose a row."""
    if pane.title == "Admin":
        await asyncio.wait_for(window.session.admin.ready.wait(), 30)
        pane.search_edit.setText("patel")
        task = pane.start_search()
        if task is not None:
            await asyncio.wait([task], timeout=10)
    elif pane.title == "Audit":
        task = pane.start_search()
        if task is not None:
            await asyncio.wait([task], timeout=10)
    elif pane.title == "Uptime":
        await asyncio.wait_for(window.session.uptime.refresh(), 10)
    elif pane.title in WAIT_FOR_ROWS:
        # the demo scenario's first alert and its incident come within its first 20 s
        await wait_for(lambda: any(t.model().rowCount() for t in visible_tables(pane)), WAIT_FOR_ROWS_S)
    await settle(0.3)
    if pane.title == "Health":
        services = pane.matrix.visible_services()
        if services:
            pane.select_service(services[0])
        return
    tables = visible_tables(pane)
    if tables and tables[0].model().rowCount() and not tables[0].selectionModel().hasSelection():
        tables[0].selectRow(0)


def shot(window: Any, pane: Any, tab: str | None, out: Path, number: int) -> dict[str, Any]:
    from PySide6.QtCore import QPoint

    stem = f"{number:02d}-{pane.title}" + (f"-{tab}" if tab else "")
    path = out / (stem.lower().replace(" ", "-").replace("/", "-") + ".png")
    saved = window.grab().save(str(path), "PNG")
    tables = visible_tables(pane)
    facts = [table_facts(view, pane) for view in tables]
    if facts:
        facts[0]["main"] = True
    top_left = pane.mapTo(window, QPoint(0, 0))
    return {
        "pane": pane.title,
        "tab": tab,
        "png": str(path) if saved else None,
        "visible": pane.isVisible(),
        "rect": [top_left.x(), top_left.y(), pane.width(), pane.height()],
        "minimum_size_hint": _size(pane.minimumSizeHint()),
        "window_minimum_size_hint": _size(window.minimumSizeHint()),
        "window_geometry": _rect(window.geometry()),
        "tables": facts,
    }


async def drive(console: Any, out: Path, settle_s: float, report: dict[str, Any]) -> None:
    from PySide6.QtWidgets import QTabWidget

    from nexus_console.domain.freshness import SourceState

    started = time.monotonic()
    try:
        await wait_for(lambda: console.window is not None and console.window.isVisible(), 60)
        window = console.window
        await settle(0.5)
        screen = window.screen()
        report["screen"] = {
            "size": _size(screen.size()),
            "available": _rect(screen.availableGeometry()),
            "device_pixel_ratio": screen.devicePixelRatio(),
        }
        report["opened"] = {
            "geometry": _rect(window.geometry()),
            "frame": _rect(window.frameGeometry()),
            "minimum_size": _size(window.minimumSize()),
            "minimum_size_hint": _size(window.minimumSizeHint()),
        }
        report["panes"] = window.pane_titles()
        report["seconds_to_window"] = round(time.monotonic() - started, 1)
        report["sources_ok"] = await wait_for(
            lambda: all(s.state is SourceState.OK for s in window.session.statuses().values()),
            SOURCES_DEADLINE_S,
        )
        report["seconds_to_sources"] = round(time.monotonic() - started, 1)
        window.setGeometry(screen.availableGeometry())
        await settle(settle_s)
        report["filled"] = {"geometry": _rect(window.geometry()), "frame": _rect(window.frameGeometry())}
        shots = report["shots"] = []
        for pane in window.panes:
            window.show_pane(pane.title)
            await prepare(window, pane)
            await settle(settle_s)
            shots.append(shot(window, pane, None, out, len(shots)))
            for tabs in pane.findChildren(QTabWidget):
                if not tabs.isVisible():
                    continue
                first = tabs.currentIndex()
                for index in range(tabs.count()):
                    if index == first:
                        continue
                    tabs.setCurrentIndex(index)
                    await settle(settle_s)
                    shots.append(shot(window, pane, tabs.tabText(index), out, len(shots)))
                tabs.setCurrentIndex(first)
        report["seconds_to_done"] = round(time.monotonic() - started, 1)
    except Exception:
        report["failure"] = traceback.format_exc()
    finally:
        console.request_quit(0)


def sign_in_remembered(data_dir: Path, base_url: str) -> None:
    """A profile for the server (its SQLite files as the admin replicas) and the admin's remembered
    password in an in-memory keychain: the console signs in without a dialog, as after "Remember me"."""
    import keyring

    from nexus_console.services.demo_server import DEMO_EMAIL, DEMO_PASSWORD, DEMO_REPLICA_DATABASES
    from nexus_console.services.keychain import password_key
    from nexus_console.services.profiles import Profile, ProfileBook, ProfileStore
    from tests.support.memory_keyring import MemoryKeyring

    replicas = {name: (f"sqlite:///{data_dir / (name + '.sqlite3')}",) for name in DEMO_REPLICA_DATABASES}
    profile = Profile(PROFILE, base_url, email=DEMO_EMAIL, replicas=replicas)
    ProfileStore().save(ProfileBook({PROFILE: profile}, default=PROFILE))
    backend = MemoryKeyring()
    backend.set_password(profile.keychain_service, password_key(DEMO_EMAIL), DEMO_PASSWORD)
    keyring.set_keyring(backend)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the reference server's base URL")
    parser.add_argument("--data-dir", required=True, type=Path, help="the reference server's data dir")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--settle", type=float, default=0.5, help="seconds per view before the shot")
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    sign_in_remembered(options.data_dir, options.server)

    from PySide6.QtWidgets import QApplication

    from nexus_console.app import ConsoleApp
    from nexus_console.launch_options import parse_args
    from nexus_console.views.theme import apply_theme
    from nexus_console.workers.event_loop import ConsoleEventLoop

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("Nexus Console")
    apply_theme(app)
    loop = ConsoleEventLoop(app)
    asyncio.set_event_loop(loop)
    console = ConsoleApp(parse_args(["--profile", PROFILE]), app)
    report: dict[str, Any] = {"platform": app.platformName()}
    with loop:
        driving = loop.create_task(drive(console, options.out, options.settle, report))
        code = loop.run_until_complete(console.run())
        if not driving.done():
            driving.cancel()
    report["exit_code"] = code
    (options.out / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0 if code == 0 and "failure" not in report else 1


if __name__ == "__main__":
    raise SystemExit(main())

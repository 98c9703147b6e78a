"""`nexus-console` as a user runs it: a real process, the demo server as its child, a screenshot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from PySide6.QtGui import QImage

from nexus_console import __version__
from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.outbox_model import OutboxEntry
from nexus_console.services.admin_runtime import outbox_path_for
from nexus_console.services.alert_runtime import HISTORY_FILE
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.profiles import data_dir

NOISE = ("Traceback", "Event loop stopped", "Task was destroyed", "was never awaited", "Unclosed")


def console_env(display: str | None = None) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    if display is not None:
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    return env


def run_console(
    *args: str, timeout_s: float = 120, display: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nexus_console", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=console_env(display),
        stdin=subprocess.DEVNULL,
    )


class RunningConsole:
    """`nexus-console` as a running process: its stderr (the log) collected line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nexus_console", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=console_env(),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no line with {text!r}; the log so far:\n{self.log[-3000:]}")
            time.sleep(0.05)

    def wait(self, timeout_s: float) -> int:
        code = self.proc.wait(timeout_s)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """After a failure: the console and what it started (the demo server runs in its own session)."""
        if self.proc.poll() is None:
            children = psutil.Process(self.proc.pid).children(recursive=True)
            self.proc.kill()
            self.proc.wait(5)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()


def test_version_prints_the_package_version() -> None:
    result = run_console("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"nexus-console {__version__}"


def test_without_a_profile_the_console_says_where_to_put_one(isolated_dirs: dict[str, Path]) -> None:
    result = run_console()
    assert result.returncode == 2
    assert "no connection profile in" in result.stderr and "profiles.toml" in result.stderr
    assert "--demo" in result.stderr
    assert not any(noise in result.stderr for noise in NOISE), result.stderr


@pytest.mark.slow
def test_demo_screenshot_waits_for_data_saves_the_window_and_stops_the_server(
    tmp_path: Path, isolated_dirs: dict[str, Path]
) -> None:
    shot = tmp_path / "demo.png"
    result = run_console("--demo", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr[-3000:]
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 640 and image.height() >= 480
    assert "screenshot saved" in result.stderr
    assert not any(noise in result.stderr for noise in NOISE), result.stderr[-3000:]
    demo_data = str(isolated_dirs["cache"])
    leftovers = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any(demo_data in part for part in (p.info["cmdline"] or []))
    ]
    assert leftovers == [], "the demo server stops with the console"
    log_file = isolated_dirs["state"] / "nexus-console" / "log" / "console.log"
    assert "nexus-demo" not in log_file.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.xvfb
def test_demo_on_a_real_x_display_opens_on_the_chosen_pane(tmp_path: Path, xvfb_display: str) -> None:
    shot = tmp_path / "alerts.png"
    result = run_console("--demo", "--pane", "Alerts", "--screenshot", str(shot), display=xvfb_display)
    assert result.returncode == 0, result.stderr[-3000:]
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 640
    # Sampled finely enough that a window sized to the screen (not only a wide one) shows its variety.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 20, "a rendered window, not a blank surface"
    assert "opened on pane Alerts" in result.stderr
    assert not any(noise in result.stderr for noise in NOISE), result.stderr[-3000:]


def test_an_unknown_pane_is_refused_with_the_available_ones(isolated_dirs: dict[str, Path]) -> None:
    result = run_console("--demo", "--pane", "Nowhere")
    assert result.returncode == 2
    assert "no pane 'Nowhere'" in result.stderr
    assert "Health" in result.stderr and "Alerts" in result.stderr
    assert not any(noise in result.stderr for noise in NOISE), result.stderr[-3000:]


async def _queue_an_action(path: Path) -> OutboxEntry:
    """What the Admin pane does when the admin confirms: one entry in the outbox file (here from a second
    process while the console holds the file open, as SQLite's WAL allows)."""
    outbox = await AsyncOutbox.open(path)
    try:
        request = ActionRequest(
            EntityRef(EntityType.USER, "999999"), "verify_email", reason="signal test", expected_version=1
        )
        return await outbox.enqueue(request)
    finally:
        await outbox.aclose()


async def _entries(path: Path) -> list[OutboxEntry]:
    outbox = await AsyncOutbox.open(path)
    try:
        return await outbox.entries()
    finally:
        await outbox.aclose()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_runs_the_same_clean_shutdown_as_closing_the_window(
    sig: signal.Signals, isolated_dirs: dict[str, Path]
) -> None:
    console = RunningConsole("--demo")
    try:
        console.wait_for_line("every source fresh", timeout_s=90)
        outbox_file = outbox_path_for("demo")
        queued = asyncio.run(_queue_an_action(outbox_file))
        sent_at = time.monotonic()
        console.proc.send_signal(sig)
        code = console.wait(timeout_s=15)
        took_s = time.monotonic() - sent_at
    finally:
        console.kill()
    log = console.log
    assert code == 0, log[-3000:]
    assert took_s < 5.0, f"the console took {took_s:.1f} s to stop"
    # the window's own quit path, in its order: the session (pollers, tasks, history, outbox), then the rest
    shutdown = [
        f"{sig.name} received: shutting down",
        "session closed: pollers and tasks stopped; the alert history and the action queue closed",
        "closed the HTTP clients, the local cache, the executor and the demo server",
        "console stopped (exit code 0;",
    ]
    positions = [log.find(line) for line in shutdown]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), log[-3000:]
    assert "KeyboardInterrupt" not in log and "uncaught error" not in log, log[-3000:]
    assert "Error calling Python override" not in log, log[-3000:]
    assert not any(noise in log for noise in NOISE), log[-3000:]
    # Files closed, not abandoned: the last connection to a WAL database folds the log back in and removes it.
    for database in (outbox_file, data_dir() / HISTORY_FILE):
        assert database.exists()
        assert not Path(f"{database}-wal").exists(), f"{database.name} was not closed"
    # Nothing queued is lost: the outbox opens cleanly and the entry is there, under its idempotency key.
    entries = {entry.id: entry for entry in asyncio.run(_entries(outbox_file))}
    assert queued.id in entries
    assert entries[queued.id].idempotency_key == queued.idempotency_key
    assert entries[queued.id].request == queued.request
    demo_data = str(isolated_dirs["cache"])
    leftovers = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any(demo_data in part for part in (p.info["cmdline"] or []))
    ]
    assert leftovers == [], "the demo server stops with the console"

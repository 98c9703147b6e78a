"""`nexus-console` as a user runs it: a real process, the demo server as its child, a screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from PySide6.QtGui import QImage

from nexus_console import __version__

NOISE = ("Traceback", "Event loop stopped", "Task was destroyed", "was never awaited", "Unclosed")


def run_console(
    *args: str, timeout_s: float = 120, display: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    if display is not None:
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    return subprocess.run(
        [sys.executable, "-m", "nexus_console", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        stdin=subprocess.DEVNULL,
    )


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

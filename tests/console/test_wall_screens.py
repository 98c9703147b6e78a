"""Two screens at once: Qt's offscreen platform with two virtual screens (its `configfile` option), in a
process of its own because the test process's QApplication has one screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENS = {
    "screens": [
        {"name": "HDMI-1", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "dpr": 1},
        {"name": "DP-2", "x": 1920, "y": 0, "width": 1366, "height": 768, "logicalDpi": 96, "dpr": 1},
    ]
}
PLAYLISTS = """
default = "room"

[[playlist.room.item]]
pane = "Status"
seconds = 5

[[playlist.room.item]]
pane = "Health"
seconds = 5

[[playlist.lobby.item]]
pane = "Health"
tab = "Overview"
seconds = 5

[screens]
"DP-2" = "lobby"
"""
SCRIPT = """
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from nexus_console.domain.wall_playlist import parse_config
from nexus_console.launch_options import settings_for_console
from nexus_console.views.health import HealthPane
from nexus_console.views.status.pane import StatusPane
from nexus_console.views.wall.controller import WallController
from tests.support.session import window_session

with window_session("viewer") as session:
    config = parse_config(sys.argv[1])
    wall = WallController(session, [StatusPane, HealthPane], config, settings_for_console())
    wall.start()
    app.processEvents()
    print(json.dumps({
        name: {
            "heading": w.heading.text(),
            "geometry": [w.geometry().x(), w.geometry().y(), w.width(), w.height()],
            "full_screen": w.isFullScreen(),
            "font_px": w.font().pixelSize(),
        }
        for name, w in wall.windows.items()
    }))
    wall.close()
"""


def test_each_screen_gets_its_own_full_screen_window_and_playlist(tmp_path: Path) -> None:
    config = tmp_path / "screens.json"
    config.write_text(json.dumps(SCREENS))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, PLAYLISTS], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    windows = json.loads(done.stdout.strip().splitlines()[-1])
    assert windows["HDMI-1"]["heading"] == "room 1/2 · Status"
    assert windows["DP-2"]["heading"] == "lobby 1/1 · Health — Overview"
    assert windows["HDMI-1"]["geometry"] == [0, 0, 1920, 1080]
    assert windows["DP-2"]["geometry"] == [1920, 0, 1366, 768]
    # Large type follows each screen: 1/45 of its height.
    assert (windows["HDMI-1"]["font_px"], windows["DP-2"]["font_px"]) == (24, 17)

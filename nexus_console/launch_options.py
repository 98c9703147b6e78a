"""What the command line can ask of the console, the panes it has, and where window settings live."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings

from nexus_console import __version__
from nexus_console.services.profiles import config_dir
from nexus_console.views.pane import Pane

SETTINGS_FILE = "console.ini"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nexus-console", description="Nexus operations console")
    parser.add_argument(
        "--demo", action="store_true", help="start the reference server with its demo scenario"
    )
    parser.add_argument("--profile", metavar="NAME", help="connection profile to use")
    parser.add_argument("--config", metavar="PATH", type=Path, help="profiles file (default: the config dir)")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="once data has arrived, save the main window as PNG and exit",
    )
    parser.add_argument(
        "--pane",
        metavar="TITLE",
        help="open on this pane (e.g. Health, Alerts; a wall display's starting view)",
    )
    parser.add_argument(
        "--wall", action="store_true", help="wall display: every screen full screen, rotating its playlist"
    )
    parser.add_argument("--playlist", metavar="NAME", help="with --wall: this playlist on every screen")
    parser.add_argument(
        "--wall-config",
        metavar="PATH",
        type=Path,
        help="wall playlists file (default: wall.toml in the config dir)",
    )
    levels = ("debug", "info", "warning")
    parser.add_argument("--log-level", choices=levels, default="info", help="log detail (default: info)")
    parser.add_argument("--version", action="version", version=f"nexus-console {__version__}")
    return parser.parse_args(argv)


def default_pane_types() -> list[type[Pane]]:
    from nexus_console.views.admin import AdminPane, AuditPane, QueuePane
    from nexus_console.views.alerts import AlertsPane
    from nexus_console.views.analytics import AnalyticsPane
    from nexus_console.views.health import HealthPane
    from nexus_console.views.incidents import IncidentsPane
    from nexus_console.views.status.pane import StatusPane
    from nexus_console.views.uptime.pane import UptimePane

    return [
        HealthPane,
        StatusPane,
        AlertsPane,
        IncidentsPane,
        UptimePane,
        AnalyticsPane,
        AdminPane,
        QueuePane,
        AuditPane,
    ]


def settings_for_console() -> QSettings:
    """QSettings in an explicit INI file in the config dir (window geometry and layout only)."""
    return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)

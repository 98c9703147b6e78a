"""What the command line can ask of the console, the panes it has, and where window settings live."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from nexus_console import __version__
from nexus_console.domain.admin_flow import ADMIN_ROLES, AUDIT_ROLES
from nexus_console.domain.auth import (
    ALERT_READERS,
    ANALYTICS_READERS,
    COMPLIANCE_READERS,
    MONITORING_READERS,
    SECURITY_READERS,
)
from nexus_console.domain.incident_flow import INCIDENT_WRITERS
from nexus_console.services.profiles import config_dir
from nexus_console.views.pane import Pane
from nexus_console.workers.session import ConsoleSession

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


@dataclass(frozen=True, slots=True)
class LazyPane:
    """A pane the main window lists (title, icon, roles) before its code is loaded: the module is imported
    when the pane is first built, so only the pane shown first is imported before the first frame.
    `tests/console/test_main_window.py` checks each entry against its class."""

    module: str
    class_name: str
    title: str
    icon_name: str
    required_roles: frozenset[str]

    def load(self) -> type[Pane]:
        pane_type: type[Pane] = getattr(importlib.import_module(self.module), self.class_name)
        return pane_type

    def __call__(self, session: ConsoleSession) -> Pane:
        return self.load()(session)


def default_pane_types() -> list[LazyPane]:
    views = "nexus_console.views"
    return [
        LazyPane(f"{views}.health.pane", "HealthPane", "Health", "health", MONITORING_READERS),
        LazyPane(f"{views}.status.pane", "StatusPane", "Status", "status", MONITORING_READERS),
        LazyPane(f"{views}.alerts.pane", "AlertsPane", "Alerts", "alerts", ALERT_READERS),
        LazyPane(f"{views}.incidents.pane", "IncidentsPane", "Incidents", "incidents", INCIDENT_WRITERS),
        LazyPane(f"{views}.uptime.pane", "UptimePane", "Uptime", "uptime", MONITORING_READERS),
        LazyPane(
            f"{views}.infrastructure.pane",
            "InfrastructurePane",
            "Infrastructure",
            "infrastructure",
            MONITORING_READERS,
        ),
        LazyPane(f"{views}.database.pane", "DatabasePane", "Database", "database", MONITORING_READERS),
        LazyPane(f"{views}.analytics.pane", "AnalyticsPane", "Analytics", "analytics", ANALYTICS_READERS),
        LazyPane(f"{views}.security.pane", "SecurityPane", "Security", "security", SECURITY_READERS),
        LazyPane(
            f"{views}.compliance.pane", "CompliancePane", "Compliance", "compliance", COMPLIANCE_READERS
        ),
        LazyPane(f"{views}.admin.lookup_pane", "AdminPane", "Admin", "admin", ADMIN_ROLES),
        LazyPane(f"{views}.admin.queue_pane", "QueuePane", "Action queue", "queue", ADMIN_ROLES),
        LazyPane(f"{views}.admin.audit_pane", "AuditPane", "Audit", "audit", AUDIT_ROLES),
    ]


def settings_for_console() -> QSettings:
    """QSettings in an explicit INI file in the config dir (window geometry and layout only)."""
    return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)

"""Reading `alerts.toml` (the Alerts pane's notification and runbook settings) from the config directory.

The alert runtime reads it once per session; a broken file gives the defaults plus the problem, which the
pane shows, so a typo never keeps the console from starting.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from nexus_console.domain.alert_settings import (
    SETTINGS_FILE,
    AlertPaneSettings,
    AlertSettingsError,
    parse_alert_settings,
)
from nexus_console.services.profiles import config_dir

log = logging.getLogger(__name__)


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_alert_settings(path: Path | None = None) -> AlertPaneSettings:
    """The settings file, or the defaults when it does not exist. Raises AlertSettingsError."""
    path = path or settings_path()
    if not path.exists():
        return AlertPaneSettings()
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AlertSettingsError(f"{path.name}: {exc}") from None
    return parse_alert_settings(document, path.name)


def read_alert_settings(path: Path | None = None) -> tuple[AlertPaneSettings, str | None]:
    """The settings and None, or the defaults and the problem when the file cannot be used."""
    try:
        return load_alert_settings(path), None
    except AlertSettingsError as exc:
        log.warning("alert settings ignored: %s", exc)
        return AlertPaneSettings(), str(exc)

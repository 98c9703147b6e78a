"""The Alerts pane's settings: `alerts.toml` in the config directory.

```toml
[notifications]
tray = true
tray_severities = ["critical", "high"]
sound = true
sound_severities = ["critical", "high"]
repeat_critical_s = 30
quiet_hours = "22:00-07:00"

[notifications.sounds]          # a WAV per severity; missing ones use a built-in tone
critical = "/path/to/siren.wav"

[runbooks]
# runbook://NAME links open the packaged runbook unless a base is set; "{name}" is replaced.
base = "https://wiki.example/runbooks/{name}"
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_console.domain.alerts import Severity
from nexus_console.services.profiles import config_dir
from nexus_console.views.notifications import NotificationSettings, QuietHours

SETTINGS_FILE = "alerts.toml"


class AlertSettingsError(ValueError):
    """alerts.toml cannot be used; the text names the key."""


@dataclass(frozen=True, slots=True)
class AlertPaneSettings:
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    runbook_base: str = ""  # empty: the packaged runbooks


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


def parse_alert_settings(document: dict[str, Any], origin: str = SETTINGS_FILE) -> AlertPaneSettings:
    notes = document.get("notifications", {})
    defaults = NotificationSettings()

    def severities(key: str, default: frozenset[Severity]) -> frozenset[Severity]:
        value = notes.get(key)
        if value is None:
            return default
        try:
            return frozenset(Severity(str(item).lower()) for item in value)
        except ValueError:
            raise AlertSettingsError(
                f"{origin}: notifications.{key} must list severities (critical, high, medium, low)"
            ) from None

    quiet = None
    if notes.get("quiet_hours"):
        try:
            quiet = QuietHours.parse(str(notes["quiet_hours"]))
        except ValueError as exc:
            raise AlertSettingsError(f"{origin}: notifications.quiet_hours: {exc}") from None
    sounds = {}
    for name, file in (notes.get("sounds") or {}).items():
        try:
            sounds[Severity(name)] = Path(str(file)).expanduser()
        except ValueError:
            raise AlertSettingsError(f"{origin}: notifications.sounds.{name} is not a severity") from None
    repeat = notes.get("repeat_critical_s", defaults.repeat_critical_s)
    if not isinstance(repeat, int | float) or repeat < 1:
        raise AlertSettingsError(f"{origin}: notifications.repeat_critical_s must be a number >= 1")
    notifications = NotificationSettings(
        tray=bool(notes.get("tray", defaults.tray)),
        tray_severities=severities("tray_severities", defaults.tray_severities),
        sound=bool(notes.get("sound", defaults.sound)),
        sound_severities=severities("sound_severities", defaults.sound_severities),
        sound_files=sounds,
        repeat_critical_s=float(repeat),
        quiet_hours=quiet,
    )
    runbooks = document.get("runbooks", {})
    return AlertPaneSettings(notifications=notifications, runbook_base=str(runbooks.get("base", "")))

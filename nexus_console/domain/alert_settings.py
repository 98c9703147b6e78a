"""The Alerts pane's settings, as read from `alerts.toml` in the config directory (the runtime reads the file:
`services.alert_settings`).

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

from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from nexus_console.domain.alerts import Severity

SETTINGS_FILE = "alerts.toml"


class AlertSettingsError(ValueError):
    """alerts.toml cannot be used; the text names the key."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (local time) without sound; it may cross midnight (22:00–07:00)."""

    start: clock_time
    end: clock_time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """From "22:00-07:00"; raises ValueError."""
        try:
            start_text, end_text = (part.strip() for part in text.split("-"))
            return cls(clock_time.fromisoformat(start_text), clock_time.fromisoformat(end_text))
        except ValueError:
            raise ValueError(f"quiet hours must look like 22:00-07:00, got {text!r}") from None

    def contains(self, epoch_s: float) -> bool:
        now = datetime.fromtimestamp(epoch_s).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    tray: bool = True
    tray_severities: frozenset[Severity] = frozenset({Severity.CRITICAL, Severity.HIGH})
    sound: bool = True
    sound_severities: frozenset[Severity] = frozenset({Severity.CRITICAL, Severity.HIGH})
    sound_files: dict[Severity, Path] = field(default_factory=dict)  # missing: a built-in tone
    repeat_critical_s: float = 30.0  # the critical sound repeats until no critical alert is unhandled
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True, slots=True)
class AlertPaneSettings:
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    runbook_base: str = ""  # empty: the packaged runbooks


def parse_alert_settings(document: dict[str, Any], origin: str = SETTINGS_FILE) -> AlertPaneSettings:
    """The settings of a parsed alerts.toml; raises AlertSettingsError naming the file and the key."""
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

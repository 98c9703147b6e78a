"""Alert notifications: a tray message for each new critical or high alert, a sound per severity (the
critical one repeats until the alert is acknowledged), quiet hours, and the unhandled-alert badge.

PySide6-Essentials has no QtMultimedia, so `CommandSoundPlayer` plays a WAV through paplay or aplay
(found with shutil.which) and falls back to QApplication.beep(). Everything that makes noise or reads the
clock is injected, so tests observe "played the critical sound" without audio hardware.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import time
import wave
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from nexus_console.domain.alert_settings import NotificationSettings
from nexus_console.domain.alerts import Alert, AlertState, Severity, StoreChange
from nexus_console.views.navigation import pane_icon

log = logging.getLogger(__name__)


class SoundPlayer(Protocol):
    def play(self, severity: Severity) -> None: ...

    def close(self) -> None: ...


SUMMARY_ABOVE = 3  # more new alerts than this in one batch: one summary message
BADGE_RECOUNT_MS = 250
SLOW_RECOUNT_S = 0.004  # a badge recount slower than this (a huge queue) is throttled to BADGE_RECOUNT_MS
_TONES = {Severity.CRITICAL: (880.0, 0.6), Severity.HIGH: (660.0, 0.35), Severity.MEDIUM: (520.0, 0.2)}


def write_tone(path: Path, frequency_hz: float, duration_s: float, rate: int = 22050) -> Path:
    """A short sine tone as a 16-bit mono WAV (the built-in sound for a severity)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = bytearray()
    count = int(rate * duration_s)
    for i in range(count):
        fade = min(1.0, i / 400, (count - i) / 400)
        frames += struct.pack("<h", int(12000 * fade * math.sin(2 * math.pi * frequency_hz * i / rate)))
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(bytes(frames))
    return path


class CommandSoundPlayer:
    """Plays the severity's WAV with paplay or aplay in a child process; beeps when neither exists."""

    def __init__(self, sound_files: dict[Severity, Path], tone_dir: Path) -> None:
        self.sound_files = dict(sound_files)
        self.tone_dir = tone_dir
        self.command = next((found for name in ("paplay", "aplay") if (found := shutil.which(name))), None)
        self._children: list[subprocess.Popen[bytes]] = []

    def sound_file(self, severity: Severity) -> Path:
        chosen = self.sound_files.get(severity)
        if chosen is not None and chosen.exists():
            return chosen
        frequency, duration = _TONES.get(severity, (440.0, 0.15))
        path = self.tone_dir / f"tone-{severity.value}.wav"
        return path if path.exists() else write_tone(path, frequency, duration)

    def play(self, severity: Severity) -> None:
        self._children = [child for child in self._children if child.poll() is None]
        if self.command is None:
            QApplication.beep()
            return
        if len(self._children) >= 2:
            return  # never pile up players when the sound device hangs
        args = [self.command, str(self.sound_file(severity))]
        if Path(self.command).name == "aplay":  # not paplay, which has no -q and refuses to play with it
            args.insert(1, "-q")
        try:
            self._children.append(
                subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        except OSError as exc:
            log.warning("cannot play a sound with %s: %s", self.command, exc)
            QApplication.beep()

    def close(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(2)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(2)
        self._children.clear()


@dataclass(frozen=True, slots=True)
class Notification:
    at: float
    title: str
    body: str
    severity: Severity


class AlertNotifier(QObject):
    """Follows the queue's changes (`on_change`, which the Alerts pane feeds from its watcher of
    `AlertQueue.changes`, also while hidden); shows, sounds and counts. `badge_changed` carries the number of
    unhandled (firing, neither acknowledged nor silenced) alerts."""

    badge_changed = Signal(int)
    notified = Signal(object)  # Notification

    def __init__(
        self,
        settings: NotificationSettings,
        player: SoundPlayer,
        *,
        alerts: Callable[[], Iterable[Alert]],
        clock: Callable[[], float] = time.time,
        tray: QSystemTrayIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.player = player
        self.alerts = alerts
        self.clock = clock
        self.tray = tray
        self.shown: deque[Notification] = deque(maxlen=200)
        self.sounds_played: list[tuple[float, Severity]] = []
        self.badge = 0
        self._notified: set[str] = set()
        self.repeat_timer = QTimer(self)
        self.repeat_timer.setObjectName("criticalSoundRepeat")
        self.repeat_timer.setInterval(int(settings.repeat_critical_s * 1000))
        self.repeat_timer.timeout.connect(self.repeat_critical_sound)
        # The badge counts over the whole queue: while a recount is slow (tens of thousands of alerts, a
        # storm), it is done at most every BADGE_RECOUNT_MS, not for each batch.
        self._badge_timer = QTimer(self)
        self._badge_timer.setSingleShot(True)
        self._badge_timer.setInterval(BADGE_RECOUNT_MS)
        self._badge_timer.timeout.connect(self.update_badge)
        self._recount_slow = False

    @staticmethod
    def system_tray(parent: QObject | None = None) -> QSystemTrayIcon | None:
        """A tray icon when the desktop has a tray, else None (the messages are still recorded)."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(pane_icon("nexus-console"), parent)
        tray.show()
        return tray

    def is_quiet(self) -> bool:
        quiet = self.settings.quiet_hours
        return quiet is not None and quiet.contains(self.clock())

    def on_change(self, change: StoreChange) -> None:
        """A queue subscriber: notify each alert once, when it first fires. A batch with many new alerts
        (the first load, a storm) is one summary message and one sound, not a message per alert."""
        fired = []
        for transition in change.transitions:
            alert = transition.alert
            if transition.after is AlertState.RESOLVED:
                self._notified.discard(alert.key)
            elif transition.after is AlertState.FIRING and alert.key not in self._notified:
                self._notified.add(alert.key)
                fired.append(alert)
        settings = self.settings
        shown = [a for a in fired if settings.tray and a.severity in settings.tray_severities]
        if len(shown) > SUMMARY_ABOVE:
            worst = max(shown, key=lambda a: a.severity.rank)
            services = sorted({a.service for a in shown if a.service})
            body = ", ".join(services[:5]) + (f" and {len(services) - 5} more" if len(services) > 5 else "")
            self._show(f"{len(shown)} new critical/high alerts", body, worst.severity)
        else:
            for alert in shown:
                body = " · ".join(part for part in (alert.service, alert.summary) if part)
                self._show(f"{alert.severity.value.upper()}: {alert.name}", body, alert.severity)
        sounding = [a.severity for a in fired if settings.sound and a.severity in settings.sound_severities]
        if sounding:
            self._play(max(sounding, key=lambda severity: severity.rank))  # one sound per batch
        if not self._recount_slow:
            self.update_badge()
        elif not self._badge_timer.isActive():
            self._badge_timer.start()

    def _show(self, title: str, body: str, severity: Severity) -> None:
        notification = Notification(self.clock(), title, body, severity)
        self.shown.append(notification)
        if self.tray is not None:
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if severity is Severity.CRITICAL
                else QSystemTrayIcon.MessageIcon.Warning
            )
            self.tray.showMessage(title, body, icon, 10_000)
        self.notified.emit(notification)

    def _play(self, severity: Severity) -> None:
        if self.is_quiet():
            return
        self.sounds_played.append((self.clock(), severity))
        self.player.play(severity)

    def unhandled(self) -> list[Alert]:
        return [alert for alert in self.alerts() if alert.state is AlertState.FIRING]

    def update_badge(self) -> None:
        started = time.perf_counter()
        unhandled = self.unhandled()
        self._recount_slow = time.perf_counter() - started > SLOW_RECOUNT_S
        count = len(unhandled)
        critical_waiting = any(a.severity is Severity.CRITICAL for a in unhandled)
        if critical_waiting and self.settings.sound and Severity.CRITICAL in self.settings.sound_severities:
            if not self.repeat_timer.isActive():
                self.repeat_timer.start()
        elif self.repeat_timer.isActive():
            self.repeat_timer.stop()
        if count != self.badge:
            self.badge = count
            if self.tray is not None:
                self.tray.setToolTip(f"Nexus Console — {count} unhandled alert{'s' if count != 1 else ''}")
            self.badge_changed.emit(count)

    def repeat_critical_sound(self) -> None:
        """The repeat timer: sound again while a critical alert is firing and nobody acknowledged it."""
        if any(a.severity is Severity.CRITICAL for a in self.unhandled()):
            self._play(Severity.CRITICAL)
        else:
            self.repeat_timer.stop()

    def shutdown(self) -> None:
        self.repeat_timer.stop()
        self._badge_timer.stop()
        self.player.close()
        if self.tray is not None:
            self.tray.hide()

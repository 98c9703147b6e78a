"""Alert notifications with a fake clock and a fake player: once per new critical/high alert, the critical
sound repeats until acknowledged, quiet hours are silent, the badge counts unhandled alerts."""

from __future__ import annotations

import asyncio
import shutil
import wave
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from nexus_console.domain.alert_settings import (
    AlertPaneSettings,
    AlertSettingsError,
    NotificationSettings,
    QuietHours,
    parse_alert_settings,
)
from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity
from nexus_console.services.alert_settings import read_alert_settings
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.views.notifications import AlertNotifier, CommandSoundPlayer
from nexus_console.workers.bridge import FeedWatcher

# 2026-01-05 12:00 local time: outside 22:00-07:00.
NOON = datetime(2026, 1, 5, 12, 0).timestamp()
NIGHT = datetime(2026, 1, 5, 23, 30).timestamp()


@dataclass
class FakePlayer:
    played: list[Severity] = field(default_factory=list)
    closed: bool = False

    def play(self, severity: Severity) -> None:
        self.played.append(severity)

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def alert(i: int, severity: Severity, state: AlertState = AlertState.FIRING) -> Alert:
    return Alert(
        fingerprint=f"fp{i}",
        source="local",
        name=f"Rule{i}",
        severity=severity,
        state=state,
        service="orders",
        summary=f"alert {i}",
        starts_at=NOON - 60,
    )


@pytest.fixture
def setup(qapp: Any) -> Any:
    clock = Clock(NOON)
    queue = AlertQueue(clock=clock)
    player = FakePlayer()
    settings = NotificationSettings(quiet_hours=QuietHours.parse("22:00-07:00"), repeat_critical_s=30)
    notifier = AlertNotifier(settings, player, alerts=lambda: queue.store, clock=clock)
    watcher = FeedWatcher(queue.changes, notifier.on_change, batch_ms=None)  # as the pane wires it
    yield clock, queue, player, notifier
    watcher.close()
    notifier.shutdown()


def test_each_new_critical_or_high_alert_is_announced_once(setup: Any) -> None:
    _clock, queue, player, notifier = setup
    badges: list[int] = []
    notifier.badge_changed.connect(badges.append)
    queue.apply(AlertDiff((alert(1, Severity.CRITICAL), alert(2, Severity.HIGH), alert(3, Severity.MEDIUM))))
    assert [n.title for n in notifier.shown] == ["CRITICAL: Rule1", "HIGH: Rule2"]
    assert player.played == [Severity.CRITICAL]  # one sound per batch: the most severe
    # The same alerts again (a poll repeats them, a summary changes): no second announcement.
    queue.apply(AlertDiff((alert(1, Severity.CRITICAL), alert(2, Severity.HIGH))))
    changed = Alert(**{**_fields(alert(1, Severity.CRITICAL)), "summary": "worse"})
    queue.apply(AlertDiff((changed,)))
    assert len(notifier.shown) == 2
    assert badges == [3]
    # Resolved, then raised again: a new announcement.
    queue.apply(AlertDiff(removals=(alert(1, Severity.CRITICAL).key,)))
    assert badges[-1] == 2
    queue.apply(AlertDiff((alert(1, Severity.CRITICAL),)))
    assert [n.title for n in notifier.shown][-1] == "CRITICAL: Rule1" and len(notifier.shown) == 3


def test_a_storm_of_new_alerts_is_one_summary_message_and_one_sound(setup: Any) -> None:
    _clock, queue, player, notifier = setup
    queue.apply(AlertDiff(tuple(alert(i, Severity.HIGH if i % 2 else Severity.CRITICAL) for i in range(40))))
    assert [n.title for n in notifier.shown] == ["40 new critical/high alerts"]
    assert notifier.shown[0].severity is Severity.CRITICAL and notifier.shown[0].body == "orders"
    assert player.played == [Severity.CRITICAL]
    assert notifier.badge == 40


def test_a_pending_alert_is_announced_when_it_starts_firing(setup: Any) -> None:
    _clock, queue, player, notifier = setup
    queue.apply(AlertDiff((alert(1, Severity.HIGH, AlertState.PENDING),)))
    assert not notifier.shown and not player.played
    queue.apply(AlertDiff((alert(1, Severity.HIGH),)))
    assert [n.title for n in notifier.shown] == ["HIGH: Rule1"]


def test_the_critical_sound_repeats_until_the_alert_is_acknowledged(setup: Any) -> None:
    clock, queue, player, notifier = setup
    queue.apply(AlertDiff((alert(1, Severity.CRITICAL),)))
    queue.apply(AlertDiff((alert(2, Severity.HIGH),)))
    assert notifier.repeat_timer.isActive()
    assert notifier.repeat_timer.interval() == 30_000
    for _ in range(3):
        clock.now += 30
        notifier.repeat_critical_sound()
    assert player.played == [Severity.CRITICAL, Severity.HIGH] + [Severity.CRITICAL] * 3
    asyncio.run(queue.acknowledge(queue.store.get(alert(1, Severity.CRITICAL).key), owner="olive"))
    assert not notifier.repeat_timer.isActive()
    assert notifier.badge == 1  # the high one is still firing and unhandled
    clock.now += 30
    notifier.repeat_critical_sound()
    assert player.played.count(Severity.CRITICAL) == 4


def test_quiet_hours_keep_the_tray_message_and_drop_every_sound(setup: Any) -> None:
    clock, queue, player, notifier = setup
    clock.now = NIGHT
    queue.apply(AlertDiff((alert(1, Severity.CRITICAL),)))
    assert [n.title for n in notifier.shown] == ["CRITICAL: Rule1"]
    notifier.repeat_critical_sound()
    assert player.played == []
    clock.now = NOON + 86400  # the next day at noon: the repeat sounds again
    notifier.repeat_critical_sound()
    assert player.played == [Severity.CRITICAL]


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet.contains(NIGHT)
    assert quiet.contains(datetime(2026, 1, 6, 6, 59).timestamp())
    assert not quiet.contains(datetime(2026, 1, 6, 7, 0).timestamp())
    assert not quiet.contains(NOON)
    with pytest.raises(ValueError, match="22:00-07:00"):
        QuietHours.parse("late")


def test_settings_file_sections_are_read_and_checked(tmp_path: Path) -> None:
    settings = parse_alert_settings(
        {
            "notifications": {
                "tray_severities": ["critical"],
                "sound": False,
                "repeat_critical_s": 10,
                "quiet_hours": "23:00-06:00",
                "sounds": {"critical": str(tmp_path / "siren.wav")},
            },
            "runbooks": {"base": "https://wiki.example/rb/{name}"},
        }
    )
    notes = settings.notifications
    assert notes.tray_severities == frozenset({Severity.CRITICAL})
    assert notes.sound is False and notes.repeat_critical_s == 10
    assert notes.sound_files[Severity.CRITICAL] == tmp_path / "siren.wav"
    assert settings.runbook_base == "https://wiki.example/rb/{name}"
    with pytest.raises(AlertSettingsError, match="quiet_hours"):
        parse_alert_settings({"notifications": {"quiet_hours": "soon"}})
    with pytest.raises(AlertSettingsError, match="tray_severities"):
        parse_alert_settings({"notifications": {"tray_severities": ["loud"]}})


def test_the_settings_file_is_read_once_and_a_broken_one_gives_the_defaults_and_the_problem(
    tmp_path: Path,
) -> None:
    path = tmp_path / "alerts.toml"
    assert read_alert_settings(path) == (AlertPaneSettings(), None)  # no file: the defaults
    path.write_text('[notifications]\nsound = false\n[runbooks]\nbase = "https://wiki/{name}"\n')
    settings, problem = read_alert_settings(path)
    assert problem is None and settings.notifications.sound is False
    assert settings.runbook_base == "https://wiki/{name}"
    path.write_text('[notifications]\nquiet_hours = "soon"\n')
    settings, problem = read_alert_settings(path)
    assert settings == AlertPaneSettings()
    assert problem is not None and problem.startswith("alerts.toml: notifications.quiet_hours")
    path.write_text("[notifications\n")
    settings, problem = read_alert_settings(path)
    assert settings == AlertPaneSettings() and problem is not None and problem.startswith("alerts.toml: ")


def test_the_command_player_writes_a_tone_per_severity_and_uses_the_configured_file(tmp_path: Path) -> None:
    chosen = tmp_path / "siren.wav"
    player = CommandSoundPlayer({Severity.CRITICAL: chosen}, tmp_path / "tones")
    assert player.sound_file(Severity.CRITICAL) != chosen  # missing file: the built-in tone
    tone = player.sound_file(Severity.HIGH)
    with wave.open(str(tone)) as handle:
        assert handle.getnchannels() == 1 and handle.getnframes() > 1000
    shutil.copy(tone, chosen)
    assert player.sound_file(Severity.CRITICAL) == chosen
    assert player.command in (shutil.which("paplay"), shutil.which("aplay"))
    player.close()


def _fields(a: Alert) -> dict[str, Any]:
    return {f.name: getattr(a, f.name) for f in fields(a) if f.init}

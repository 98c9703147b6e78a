"""Alert notifications on the real desktop back ends, observed from outside the console as a person would:

- The tray: a private Xvfb screen with `trayer`, a real XEmbed system tray. The console's notifier runs in a
  child process on Qt's xcb platform (`tests.support.tray_app`); the tests read the X server's window tree
  (`xwininfo`, `xprop`) and its pixels to find the icon embedded in the tray and the message shown beside it.
- The sound: a private PulseAudio daemon with a null sink. The console's own `CommandSoundPlayer` plays
  through it (paplay, reaching the daemon through PULSE_SERVER) while `parec` records the sink's monitor, so
  the tests hear the critical tone, its repeats while nobody acknowledges the alert, and the silence after.

They skip only when a program they need is not installed (`make setup` installs xvfb, x11-utils, trayer,
pulseaudio and pulseaudio-utils).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtGui import QImage

from nexus_console.domain.alert_settings import NotificationSettings
from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.views.notifications import AlertNotifier, CommandSoundPlayer
from nexus_console.workers.bridge import FeedWatcher
from tests.support.desktop_notifications import (
    SOUND_BINARIES,
    TRAY_BINARIES,
    Burst,
    MonitorRecording,
    PulseNullSink,
    TrayApp,
    XembedTrayDesktop,
    XWindow,
    ancestors,
    missing_binaries,
    x_windows,
)

T = TypeVar("T")

CRITICAL_TONE_HZ = 880.0  # the built-in critical sound: 0.6 s of 880 Hz
REPEAT_S = 1.5  # the critical sound's repeat interval in these tests (30 s by default)
SILENT = 16  # the loudest sample allowed in "silence" (a null sink's silence is exactly 0)


def wait_for(find: Callable[[], T | None], what: str, timeout_s: float = 15.0) -> T:
    deadline = time.monotonic() + timeout_s
    while (found := find()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout_s} s: {what}")
        time.sleep(0.1)
    return found


# ---- the tray ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tray_desktop() -> Iterator[XembedTrayDesktop]:
    missing = missing_binaries(TRAY_BINARIES)
    if missing:
        pytest.skip(
            f"not installed: {', '.join(missing)} (Debian packages xvfb, trayer, x11-utils; make setup)"
        )
    desktop = XembedTrayDesktop().start()
    yield desktop
    desktop.stop()


@pytest.fixture
def tray_app(tray_desktop: XembedTrayDesktop, tmp_path: Path) -> Iterator[tuple[TrayApp, dict[str, Any]]]:
    app = TrayApp(tray_desktop, tmp_path)
    try:
        ready = app.read()
        yield app, ready
    finally:
        assert app.close() == 0, app.log.read_text(errors="replace")[-2000:]


def embedded_icon(desktop: XembedTrayDesktop, pid: int) -> XWindow | None:
    """The app's window that the tray's panel holds: the tray icon, embedded by XEmbed."""
    windows = x_windows(desktop.display)
    panel = desktop.tray_panel(windows)
    for window in windows:
        if (
            window.pid == pid
            and window.viewable
            and panel is not None
            and panel in ancestors(window, windows)
        ):
            return window
    return None


def popups(desktop: XembedTrayDesktop, pid: int) -> list[XWindow]:
    """The app's shown top-level windows that bypass the window manager (a balloon message is one)."""
    return [
        w
        for w in x_windows(desktop.display)
        if w.pid == pid and w.parent == 0 and w.viewable and w.override_redirect
    ]


def pixels(image: QImage, area: XWindow) -> dict[tuple[int, int], int]:
    return {
        (x, y): image.pixel(x, y)
        for x in range(area.x, min(area.x + area.width, image.width()))
        for y in range(area.y, min(area.y + area.height, image.height()))
    }


def changed_share(before: QImage, after: QImage, area: XWindow) -> float:
    old, new = pixels(before, area), pixels(after, area)
    return sum(old[xy] != new[xy] for xy in new) / max(len(new), 1)


@pytest.mark.xvfb
def test_the_tray_icon_is_embedded_in_a_real_xembed_system_tray(
    tray_desktop: XembedTrayDesktop, tray_app: tuple[TrayApp, dict[str, Any]]
) -> None:
    app, ready = tray_app
    assert ready["platform"] == "xcb"
    assert ready["tray_available"] is True, "Qt finds trayer's tray: QSystemTrayIcon.isSystemTrayAvailable()"
    assert ready["tray"] and ready["tray_visible"] and ready["icon"], ready
    icon = wait_for(lambda: embedded_icon(tray_desktop, app.pid), "the console's icon inside trayer's panel")
    panel = tray_desktop.tray_panel()
    assert panel is not None and icon.distance_to(panel) == 0  # on the panel, at the top right
    assert icon.width >= 16 and icon.height >= 16
    assert panel.x + panel.width > 900 and panel.y < 40


@pytest.mark.xvfb
def test_a_critical_alert_shows_its_message_beside_the_tray_icon(
    tray_desktop: XembedTrayDesktop, tray_app: tuple[TrayApp, dict[str, Any]], tmp_path: Path
) -> None:
    app, ready = tray_app
    assert ready["tray_available"] is True and ready["supports_messages"] is True
    icon = wait_for(lambda: embedded_icon(tray_desktop, app.pid), "the console's icon inside trayer's panel")
    assert popups(tray_desktop, app.pid) == []
    assert app.ask(f"grab {tmp_path / 'before.png'}")["saved"] is True

    fired = app.ask("fire")
    assert fired["notified"] == [["CRITICAL: OrdersDown", "order-processor · no order processed for 5 min"]]
    assert fired["tooltip"] == "Nexus Console — 1 unhandled alert"
    # No StatusNotifier / notification daemon here: Qt shows the message as a balloon of its own, a real X
    # window next to the icon, drawn on the screen.
    balloon = wait_for(lambda: next(iter(popups(tray_desktop, app.pid)), None), "the message's balloon")
    assert balloon.distance_to(icon) < 100, (balloon, icon)
    assert balloon.width >= 100 and balloon.height >= 40
    assert app.ask(f"grab {tmp_path / 'after.png'}")["saved"] is True
    before, after = QImage(str(tmp_path / "before.png")), QImage(str(tmp_path / "after.png"))
    assert changed_share(before, after, balloon) > 0.5, "the balloon is drawn where the screen was bare"
    assert len(set(pixels(after, balloon).values())) > 10, "its frame, icon and text"

    acked = app.ask("ack")
    assert acked["badge"] == 0 and acked["tooltip"] == "Nexus Console — 0 unhandled alerts"


# ---- the sound -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def null_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseNullSink]:
    missing = missing_binaries(SOUND_BINARIES)
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (Debian packages pulseaudio, pulseaudio-utils)")
    sink = PulseNullSink(tmp_path_factory.mktemp("pulse")).start()
    yield sink
    sink.stop()


@dataclass
class SoundingConsole:
    """The notifier as the Alerts pane builds it, with the console's own player (paplay)."""

    queue: AlertQueue
    notifier: AlertNotifier
    watcher: FeedWatcher[Any]

    ALERT = Alert(
        fingerprint="sound-test",
        source="local",
        name="OrdersDown",
        severity=Severity.CRITICAL,
        state=AlertState.FIRING,
        service="order-processor",
    )

    def fire(self) -> None:
        self.queue.apply(AlertDiff((self.ALERT,)))

    def acknowledge(self) -> None:
        current = self.queue.store.get(self.ALERT.key)
        assert current is not None
        asyncio.run(self.queue.acknowledge(current, owner="olive"))


@pytest.fixture
def sounding(
    null_sink: PulseNullSink, qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[float], SoundingConsole]]:
    monkeypatch.setenv("PULSE_SERVER", null_sink.server)
    built: list[SoundingConsole] = []

    def build(repeat_critical_s: float) -> SoundingConsole:
        player = CommandSoundPlayer({}, tmp_path / "tones")
        assert player.command == shutil.which("paplay")
        queue = AlertQueue()
        notifier = AlertNotifier(
            NotificationSettings(repeat_critical_s=repeat_critical_s), player, alerts=lambda: queue.store
        )
        console = SoundingConsole(
            queue, notifier, FeedWatcher(queue.changes, notifier.on_change, batch_ms=None)
        )
        built.append(console)
        return console

    yield build
    for console in built:
        console.watcher.close()
        console.notifier.shutdown()


def whole_tones(recording: MonitorRecording) -> list[Burst]:
    """The bursts heard to their end (followed by a moment of silence)."""
    now = recording.seconds()
    return [b for b in recording.bursts() if b.end_s < now - 0.3]


def assert_critical_tone(burst: Burst) -> None:
    assert burst.peak > 8000, f"loud: {burst}"
    assert abs(burst.frequency_hz - CRITICAL_TONE_HZ) < CRITICAL_TONE_HZ * 0.05, f"880 Hz: {burst}"
    assert 0.4 < burst.duration_s < 1.0, f"the whole 0.6 s tone, once: {burst}"


def test_a_critical_alert_plays_the_critical_tone_through_the_sound_server(
    null_sink: PulseNullSink, sounding: Callable[[float], SoundingConsole], qtbot: Any, tmp_path: Path
) -> None:
    console = sounding(30.0)
    with MonitorRecording(null_sink, tmp_path / "monitor.raw") as recording:
        console.fire()
        qtbot.waitUntil(lambda: len(whole_tones(recording)) >= 1, timeout=15_000)
        bursts = recording.bursts()
    assert len(bursts) == 1, bursts  # the next one is 30 s away
    assert_critical_tone(bursts[0])
    assert recording.peak(0, bursts[0].start_s) <= SILENT, "silence until the alert fired"


def test_the_critical_sound_repeats_while_the_alert_is_unacknowledged(
    null_sink: PulseNullSink, sounding: Callable[[float], SoundingConsole], qtbot: Any, tmp_path: Path
) -> None:
    console = sounding(REPEAT_S)
    with MonitorRecording(null_sink, tmp_path / "monitor.raw") as recording:
        console.fire()
        qtbot.waitUntil(lambda: len(whole_tones(recording)) >= 3, timeout=20_000)
        bursts = whole_tones(recording)[:3]
    for burst in bursts:
        assert_critical_tone(burst)
    onsets = [b.start_s for b in bursts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(onsets)]
    assert all(gap > REPEAT_S / 2 for gap in gaps), f"one tone per repeat, not a pile-up: {gaps}"
    assert console.notifier.badge == 1


def test_the_critical_sound_stops_when_the_alert_is_acknowledged(
    null_sink: PulseNullSink, sounding: Callable[[float], SoundingConsole], qtbot: Any, tmp_path: Path
) -> None:
    console = sounding(REPEAT_S)
    with MonitorRecording(null_sink, tmp_path / "monitor.raw") as recording:
        console.fire()
        qtbot.waitUntil(lambda: len(recording.bursts()) >= 2, timeout=20_000)  # sounding, and repeating
        console.acknowledge()
        acked_at = recording.seconds()
        quiet_from = acked_at + 2.0  # a tone already playing may finish
        heard_until = quiet_from + 2 * REPEAT_S + 0.5  # two repeats' worth of silence, and some
        qtbot.waitUntil(lambda: recording.seconds() >= heard_until, timeout=20_000)
        bursts = recording.bursts()
    assert len([b for b in bursts if b.start_s < acked_at]) >= 2
    assert all(b.start_s < quiet_from for b in bursts), f"nothing sounds after the acknowledgement: {bursts}"
    assert recording.peak(quiet_from) <= SILENT, "silence after the acknowledgement"
    assert console.notifier.badge == 0

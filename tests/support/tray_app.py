"""The console's alert notifier on a real X display, as the Alerts pane builds it
(`AlertNotifier.system_tray`, the queue's changes watched with `FeedWatcher(..., batch_ms=None)`), driven line
by line over stdin by the tray tests, which watch the X server from outside. Run as
`python -m tests.support.tray_app` with QT_QPA_PLATFORM=xcb and DISPLAY set.

Commands (one JSON line answers each): `fire` raises a critical alert, `ack` acknowledges it, `grab PATH`
saves what the X screen shows, `quit`. The first line, unasked, says whether Qt found a system tray.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from nexus_console.domain.alert_settings import NotificationSettings
from nexus_console.domain.alerts import Alert, AlertDiff, AlertState, Severity
from nexus_console.services.alert_sources import AlertQueue
from nexus_console.views.notifications import AlertNotifier, Notification
from nexus_console.workers.bridge import FeedWatcher

ALERT = Alert(
    fingerprint="tray-test",
    source="local",
    name="OrdersDown",
    severity=Severity.CRITICAL,
    state=AlertState.FIRING,
    service="order-processor",
    summary="no order processed for 5 min",
    starts_at=time.time() - 60,
)


class Silent:
    def play(self, severity: Severity) -> None:
        pass

    def close(self) -> None:
        pass


def say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("nexus-console-tray-test")
    deadline = time.monotonic() + 10  # the tray may still be taking its selection
    while not QSystemTrayIcon.isSystemTrayAvailable() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)
    queue = AlertQueue()
    notifier = AlertNotifier(
        NotificationSettings(sound=False),
        Silent(),
        alerts=lambda: queue.store,
        tray=AlertNotifier.system_tray(),
    )
    watcher = FeedWatcher(queue.changes, notifier.on_change, batch_ms=None)
    notified: list[Notification] = []
    notifier.notified.connect(notified.append)
    tray = notifier.tray
    say(
        event="ready",
        platform=app.platformName(),
        tray_available=QSystemTrayIcon.isSystemTrayAvailable(),
        supports_messages=QSystemTrayIcon.supportsMessages(),
        tray=tray is not None,
        tray_visible=tray is not None and tray.isVisible(),
        icon=tray is not None and not tray.icon().isNull(),
    )

    def tooltip() -> str:
        return tray.toolTip() if tray is not None else ""

    def command() -> None:
        line = sys.stdin.readline()  # the tests send a command and wait for its answer: one line at a time
        word, _, argument = line.strip().partition(" ")
        if word == "fire":
            queue.apply(AlertDiff((ALERT,)))
            say(event="fired", notified=[[n.title, n.body] for n in notified], tooltip=tooltip())
        elif word == "ack":
            current = queue.store.get(ALERT.key)
            assert current is not None
            asyncio.run(queue.acknowledge(current, owner="olive"))
            say(event="acked", badge=notifier.badge, tooltip=tooltip())
        elif word == "grab":
            screen = QGuiApplication.primaryScreen()
            saved = screen.grabWindow(0).save(argument)
            say(event="grabbed", saved=saved)
        else:  # quit, or stdin closed
            reader.setEnabled(False)
            watcher.close()
            notifier.shutdown()
            say(event="bye")
            QTimer.singleShot(0, app.quit)

    reader = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    reader.activated.connect(command)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

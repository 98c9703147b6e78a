"""systemd's notification protocol (sd_notify) and the watchdog of the wall display.

A wall display (`nexus-console --wall` as a `Type=notify` user service with `WatchdogSec=`) runs unattended
for weeks; if its asyncio loop stops turning, the window still paints its last picture and nobody notices.
systemd's watchdog restarts a service that stops sending "WATCHDOG=1" within `WatchdogSec`, so the pings
come from the loop itself (`notify_watchdog`): a frozen loop stops them, and a loop that turns while its
heartbeat task died stops them too, because a ping is sent only while the heartbeat is fresh.

The protocol is one datagram of "KEY=VALUE" lines to the unix socket named by `$NOTIFY_SOCKET` (a name
starting with "@" is in the abstract namespace), so it is written here rather than taken from a library:
the python-systemd binding (`systemd-python`) needs libsystemd's headers and a compiler to build,
`cysystemd` is a Cython binary wheel for the same one call, `sdnotify` on PyPI has had no release since
2017, and `systemd-watchdog` raises its socket errors into the caller and times its pings with the wall
clock. Sending never raises: a failure is logged once, since the console must keep running without
systemd (no `$NOTIFY_SOCKET`: every call does nothing).

`arm_freeze_switch` is a test hook: `NEXUS_CONSOLE_TEST_FREEZE_AFTER_S=<seconds>` makes the process block
its own loop after that long, which is what a watchdog test needs to see a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping

from nexus_console.services.heartbeat import Heartbeat

log = logging.getLogger(__name__)

FREEZE_ENV = "NEXUS_CONSOLE_TEST_FREEZE_AFTER_S"
# A beat older than this many heartbeat intervals means the loop (or its heartbeat task) has stopped.
FRESH_BEATS = 2.0


class SystemdNotifier:
    """Sends sd_notify messages to one socket address; inactive (every call a no-op) without one."""

    def __init__(
        self, address: str | None, *, watchdog_usec: str | None = None, watchdog_pid: str | None = None
    ) -> None:
        self.address = address
        self._watchdog_usec = watchdog_usec
        self._watchdog_pid = watchdog_pid
        self._socket: socket.socket | None = None
        self._failed = False
        self.sent_count = 0  # messages that went out

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """The notifier for `$NOTIFY_SOCKET` (inactive when unset or empty: not started by systemd)."""
        env = os.environ if environ is None else environ
        return cls(
            env.get("NOTIFY_SOCKET") or None,
            watchdog_usec=env.get("WATCHDOG_USEC"),
            watchdog_pid=env.get("WATCHDOG_PID"),
        )

    @property
    def active(self) -> bool:
        return self.address is not None

    def watchdog_interval_s(self) -> float | None:
        """systemd's `WatchdogSec` in seconds, or None when the watchdog is off or meant for another process
        (`$WATCHDOG_PID` names the process systemd watches; a child that inherited the variables must not
        ping for its parent)."""
        if not self.active or not self._watchdog_usec:
            return None
        if self._watchdog_pid:
            try:
                if int(self._watchdog_pid) != os.getpid():
                    return None
            except ValueError:
                log.warning("ignoring an unreadable WATCHDOG_PID %r", self._watchdog_pid)
                return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            log.warning("ignoring an unreadable WATCHDOG_USEC %r", self._watchdog_usec)
            return None
        return usec / 1_000_000 if usec > 0 else None

    def ready(self) -> bool:
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A one-line status that `systemctl --user status` shows."""
        return self.notify("STATUS=" + " ".join(text.splitlines()))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def notify(self, message: str) -> bool:
        """Send one datagram; True when it went out. Never raises (a failure is logged once)."""
        if self.address is None:
            return False
        try:
            if self._socket is None:
                # Non-blocking: this runs on the GUI's loop, and a full queue at systemd's end must cost a
                # lost ping (logged), not a frozen window.
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)
            self._socket.sendto(message.encode(), _socket_address(self.address))
        except (OSError, ValueError) as exc:
            if not self._failed:
                self._failed = True
                log.warning(
                    "cannot notify systemd at %s (%s); further failures are not logged", self.address, exc
                )
            return False
        self.sent_count += 1
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _socket_address(name: str) -> str | bytes:
    """`$NOTIFY_SOCKET` as a socket address: "@name" is "name" in the abstract namespace (a leading NUL)."""
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


async def notify_watchdog(
    notifier: SystemdNotifier,
    heartbeat: Heartbeat,
    *,
    every_s: float | None = None,
) -> None:
    """READY=1 at once, then WATCHDOG=1 every `every_s` (default: half of systemd's `WatchdogSec`) while the
    heartbeat is fresh, and STOPPING=1 when cancelled.

    READY=1 comes when the loop first turns, not after sign-in: a login dialog may wait longer than systemd's
    start timeout. This coroutine runs on the loop it vouches for, so a blocked loop silences it by itself;
    the heartbeat check adds the case of a loop that turns while the heartbeat task has died (the Qt-side
    `LoopWatchdog` would then report a stall that never ends). A heartbeat that has not beaten yet counts as
    fresh: it starts in the same loop turn.
    """
    interval = every_s if every_s is not None else _half(notifier.watchdog_interval_s())
    notifier.ready()
    withheld = False
    try:
        while interval is not None:
            if not heartbeat.is_stalled(FRESH_BEATS * heartbeat.interval_s):
                if withheld:
                    withheld = False
                    log.warning("the heartbeat is fresh again: resuming systemd watchdog pings")
                    notifier.status("running")
                notifier.watchdog()
            elif not withheld:
                withheld = True
                age = heartbeat.last_beat_age_s() or 0.0
                log.error(
                    "no heartbeat for %.1f s: withholding systemd watchdog pings (a restart follows)", age
                )
                notifier.status(f"heartbeat stalled for {age:.0f} s; withholding watchdog pings")
            await asyncio.sleep(interval)
        await asyncio.Event().wait()  # no watchdog: READY=1 was all, wait for STOPPING=1
    finally:
        notifier.stopping()


def _half(interval_s: float | None) -> float | None:
    return interval_s / 2 if interval_s is not None else None


def arm_freeze_switch(
    loop: asyncio.AbstractEventLoop, environ: Mapping[str, str] | None = None
) -> asyncio.TimerHandle | None:
    """Test hook: with `NEXUS_CONSOLE_TEST_FREEZE_AFTER_S=<seconds>` set, block the loop for good after that
    long (a `time.sleep` inside a loop callback), as a hung callback would. Unset: nothing happens."""
    env = os.environ if environ is None else environ
    value = env.get(FREEZE_ENV)
    if not value:
        return None
    try:
        delay_s = float(value)
    except ValueError:
        log.warning("ignoring %s=%r: not a number of seconds", FREEZE_ENV, value)
        return None
    log.warning(
        "%s is set: the event loop will block itself after %.1f s (a watchdog test)", FREEZE_ENV, delay_s
    )
    return loop.call_later(max(delay_s, 0.0), _freeze_forever)


def _freeze_forever() -> None:
    log.warning("%s: blocking the event loop now, for good", FREEZE_ENV)
    while True:
        time.sleep(3600)

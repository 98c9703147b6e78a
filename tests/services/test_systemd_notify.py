"""The wall display's systemd watchdog: the sd_notify datagrams on a real unix socket, the pings that stop
when the heartbeat stalls, and a real systemd user manager restarting a frozen console.

The last two tests (a probe script, then the real console with its demo server and wall under the shipped
unit) start `systemd --user` privately, with no systemd as PID 1 (this machine and CI have none):
in a private mount namespace a bind mount makes `/run/systemd/system` exist (systemd refuses to start
otherwise), the manager runs in a cgroup of its own (a user manager takes its cgroup as its root and moves
every process in it into its `init.scope`; started in the machine's root cgroup, that is every process on the
machine), its units come only from the test's directory, and its log goes to a file bound over `/dev/kmsg` in
that namespace (a user manager's console log reopens `/dev/console` and wants a terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from nexus_console.launch_options import SETTINGS_FILE
from nexus_console.services.heartbeat import Heartbeat
from nexus_console.services.logging_setup import LOG_FILE
from nexus_console.services.profiles import config_dir, log_dir
from nexus_console.services.systemd_notify import (
    FREEZE_ENV,
    SystemdNotifier,
    arm_freeze_switch,
    notify_watchdog,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_UNIT = ROOT / "packaging" / "systemd" / "nexus-console-wall.service"

# The console's watchdog loop in miniature: heartbeat, pings, and the freeze switch, on a plain asyncio loop.
# It appends its PID to argv[1] at each start; faulthandler prints where it was when systemd's SIGABRT came.
PROBE = """\
import asyncio, faulthandler, os, sys
from nexus_console.services.heartbeat import Heartbeat
from nexus_console.services.systemd_notify import SystemdNotifier, arm_freeze_switch, notify_watchdog

async def main() -> None:
    with open(sys.argv[1], "a") as starts:
        starts.write(f"{os.getpid()}\\n")
    heartbeat = Heartbeat(0.2)
    beating = asyncio.ensure_future(heartbeat.run())
    arm_freeze_switch(asyncio.get_running_loop())
    await notify_watchdog(SystemdNotifier.from_environment(), heartbeat)
    beating.cancel()

faulthandler.enable()
asyncio.run(main())
"""


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a unix socket's path must fit in 108 bytes; tmp_path's may not."""
    with tempfile.TemporaryDirectory(prefix="nexus-sd-") as name:
        yield Path(name)


def listen(address: str | bytes) -> socket.socket:
    """A datagram socket where systemd's would be, bound to `address` (bytes with a NUL first: abstract)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(2.0)
    return sock


def received(sock: socket.socket, *, quiet_s: float = 0.2) -> list[str]:
    """Every datagram that arrives until none came for `quiet_s`."""
    messages = []
    sock.settimeout(quiet_s)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except TimeoutError:
        return messages


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_notify_socket_the_notifier_is_inactive_and_every_call_does_nothing() -> None:
    notifier = SystemdNotifier.from_environment({})
    assert not notifier.active
    assert notifier.ready() is False and notifier.watchdog() is False and notifier.stopping() is False
    assert notifier.watchdog_interval_s() is None
    assert SystemdNotifier.from_environment({"NOTIFY_SOCKET": ""}).active is False


def test_ready_watchdog_status_and_stopping_arrive_as_datagrams_on_the_notify_socket(short_dir: Path) -> None:
    path = str(short_dir / "notify")
    with listen(path) as systemd:
        notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path})
        sent = [notifier.ready(), notifier.watchdog(), notifier.status("all\nfine"), notifier.stopping()]
        notifier.close()
        assert sent == [True] * 4
        assert received(systemd) == ["READY=1", "WATCHDOG=1", "STATUS=all fine", "STOPPING=1"]
        assert notifier.sent_count == 4


def test_a_notify_socket_name_starting_with_at_is_reached_in_the_abstract_namespace() -> None:
    name = f"nexus-sd-test-{os.getpid()}-{time.monotonic_ns()}"
    with listen(b"\0" + name.encode()) as systemd:
        notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready()
        notifier.close()
        assert received(systemd) == ["READY=1"]


def test_the_watchdog_interval_is_watchdog_usec_and_only_for_the_process_watchdog_pid_names() -> None:
    def interval(**env: str) -> float | None:
        return SystemdNotifier.from_environment({"NOTIFY_SOCKET": "@x", **env}).watchdog_interval_s()

    assert interval(WATCHDOG_USEC="30000000") == 30.0
    assert interval(WATCHDOG_USEC="30000000", WATCHDOG_PID=str(os.getpid())) == 30.0
    assert interval(WATCHDOG_USEC="30000000", WATCHDOG_PID=str(os.getpid() + 1)) is None
    assert interval(WATCHDOG_USEC="0") is None and interval(WATCHDOG_USEC="soon") is None
    assert interval() is None
    assert SystemdNotifier.from_environment({"WATCHDOG_USEC": "30000000"}).watchdog_interval_s() is None


def test_a_send_that_fails_never_raises_and_is_logged_once(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": str(short_dir / "nobody-listens")})
    with caplog.at_level(logging.WARNING, logger="nexus_console.services.systemd_notify"):
        assert notifier.ready() is False and notifier.watchdog() is False and notifier.watchdog() is False
    notifier.close()
    assert [r.message.split(" (")[0] for r in caplog.records] == [
        f"cannot notify systemd at {short_dir}/nobody-listens"
    ]


@pytest.mark.asyncio
async def test_notify_watchdog_says_ready_then_pings_while_the_heartbeat_beats_and_stopping_at_the_end(
    short_dir: Path,
) -> None:
    path = str(short_dir / "notify")
    with listen(path) as systemd:
        notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path})
        heartbeat = Heartbeat(0.02)
        beating = asyncio.ensure_future(heartbeat.run())
        notifying = asyncio.ensure_future(notify_watchdog(notifier, heartbeat, every_s=0.05))
        await asyncio.sleep(0.3)
        notifying.cancel()
        beating.cancel()
        await asyncio.gather(notifying, beating, return_exceptions=True)
        notifier.close()
        messages = received(systemd)
    assert messages[0] == "READY=1" and messages[-1] == "STOPPING=1"
    assert set(messages[1:-1]) == {"WATCHDOG=1"} and len(messages[1:-1]) >= 4


@pytest.mark.asyncio
async def test_a_stalled_heartbeat_withholds_the_pings_until_it_beats_again(short_dir: Path) -> None:
    path = str(short_dir / "notify")
    clock = Clock()
    heartbeat = Heartbeat(1.0, clock=clock)  # beaten by hand: the loop turns, the heartbeat task is "dead"
    heartbeat.beat()
    with listen(path) as systemd:
        notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path})
        notifying = asyncio.ensure_future(notify_watchdog(notifier, heartbeat, every_s=0.02))
        await asyncio.sleep(0.1)
        assert set(received(systemd, quiet_s=0.05)) == {"READY=1", "WATCHDOG=1"}  # 0 s old: fresh

        clock.now += 2.5  # older than two beats
        await asyncio.sleep(0.05)
        received(systemd, quiet_s=0.05)  # the pings sent before the next check saw the age
        await asyncio.sleep(0.2)
        stalled = received(systemd, quiet_s=0.05)
        assert "WATCHDOG=1" not in stalled

        heartbeat.beat()
        await asyncio.sleep(0.1)
        resumed = received(systemd, quiet_s=0.05)
        notifying.cancel()
        await asyncio.gather(notifying, return_exceptions=True)
        notifier.close()
    assert "WATCHDOG=1" in resumed and "STATUS=running" in resumed


@pytest.mark.asyncio
async def test_the_freeze_switch_is_armed_only_by_a_number_of_seconds_in_its_variable() -> None:
    loop = asyncio.get_running_loop()
    assert arm_freeze_switch(loop, {}) is None
    assert arm_freeze_switch(loop, {FREEZE_ENV: "later"}) is None
    handle = arm_freeze_switch(loop, {FREEZE_ENV: "3600"})
    assert handle is not None and handle.when() - loop.time() == pytest.approx(3600, abs=5)
    handle.cancel()


def test_a_console_loop_that_freezes_goes_silent_on_the_notify_socket(short_dir: Path) -> None:
    """What systemd sees (no systemd needed): READY=1, pings every half interval, then nothing at all."""
    path = str(short_dir / "notify")
    probe = short_dir / "probe.py"
    probe.write_text(PROBE)
    env = dict(
        os.environ,
        NOTIFY_SOCKET=path,
        WATCHDOG_USEC="400000",
        PYTHONPATH=str(ROOT),
        **{FREEZE_ENV: "0.8"},
    )
    with listen(path) as systemd:
        child = subprocess.Popen(
            [sys.executable, str(probe), str(short_dir / "starts")], env=env, stderr=subprocess.DEVNULL
        )
        try:
            systemd.settimeout(10.0)
            assert systemd.recv(4096) == b"READY=1"
            before_freeze = received(systemd, quiet_s=0.6)  # 0.6 s: three missed pings
            after_freeze = received(systemd, quiet_s=1.0)
            assert child.poll() is None  # alive, frozen: only a watchdog ends it
        finally:
            child.kill()
            child.wait(5)
    assert set(before_freeze) == {"WATCHDOG=1"} and len(before_freeze) >= 2
    assert after_freeze == []


# ---- a real systemd user manager ----


def systemd_binary() -> str | None:
    found = shutil.which("systemd")
    if found is None and Path("/lib/systemd/systemd").exists():
        return "/lib/systemd/systemd"
    return found


def shipped_unit_with(overrides: dict[str, str], extra: list[str]) -> str:
    """The shipped unit with some of its settings replaced and `extra` lines added ([Install] dropped): the
    tests exercise Type=notify, NotifyAccess=main and Restart=always as shipped."""
    overrides = dict(overrides)
    lines = []
    for line in SHIPPED_UNIT.read_text().splitlines():
        if line.strip() == "[Install]":
            break
        key = line.split("=", 1)[0]
        lines.append(f"{key}={overrides.pop(key)}" if key in overrides else line)
    assert overrides == {}, f"the shipped unit lacks {sorted(overrides)}"
    for kept in ("Type=notify", "NotifyAccess=main", "Restart=always"):
        assert kept in lines, kept
    return "\n".join(lines + extra) + "\n"


def unit_for_the_probe(starts: Path, service_log: Path) -> str:
    """The shipped unit with the probe as ExecStart and its times shortened."""
    overrides = {
        "ExecStart": f'"{sys.executable}" "{starts.parent / "probe.py"}" "{starts}"',
        "WatchdogSec": "3",
        "RestartSec": "0.5",
    }
    return shipped_unit_with(
        overrides,
        [
            f'Environment="PYTHONPATH={ROOT}" "{FREEZE_ENV}=1"',
            f"StandardOutput=append:{service_log}",
            f"StandardError=append:{service_log}",
            "TimeoutStartSec=5",
            "LimitCORE=0",
        ],
    )


def cgroup_mounts_tracking_processes() -> list[Path]:
    """The cgroup hierarchies systemd tracks processes with: name=systemd (v1) and the cgroup2 one."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, after = line.split(" - ", 1)
        fstype, _source, options = after.split()
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options.split(",")):
            mounts.append(Path(before.split()[4]))
    return mounts


def own_cgroup_path() -> str:
    """This process's cgroup in the name=systemd hierarchy, else in the cgroup2 one."""
    paths = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
    return paths.get("name=systemd", paths.get("", "/"))


@dataclass
class UserManager:
    """A private `systemd --user`: its runtime directory, units, cgroup and log all in `base`."""

    base: Path
    binary: str
    process: subprocess.Popen[bytes] | None = None
    cgroups: list[Path] = field(default_factory=list)
    _stderr: IO[bytes] | None = None

    @property
    def runtime(self) -> Path:
        return self.base / "run"

    @property
    def units(self) -> Path:
        return self.base / "units"

    @property
    def log(self) -> Path:
        return self.base / "manager.log"

    def env(self) -> dict[str, str]:
        return dict(os.environ, XDG_RUNTIME_DIR=str(self.runtime), SYSTEMD_UNIT_PATH=str(self.units))

    def start(self) -> None:
        self.runtime.mkdir(mode=0o700)
        self.units.mkdir()
        # The targets every service depends on by default; nothing else starts (no sockets, no agents).
        for target in ("default", "basic", "shutdown"):
            (self.units / f"{target}.target").write_text(f"[Unit]\nDescription=test {target}\n")
        booted = self.base / "run-systemd"
        (booted / "system").mkdir(parents=True)
        self.log.write_text("")
        relative = own_cgroup_path().strip("/")
        for mount in cgroup_mounts_tracking_processes():
            group = mount / relative / f"nexus-console-test-{self.base.name}"
            group.mkdir()
            self.cgroups.append(group)
        join = " ".join(f'echo $$ > "{group}/cgroup.procs" &&' for group in self.cgroups)
        script = (
            f'{join} mount --bind "{booted}" /run/systemd && mount --bind "{self.log}" /dev/kmsg && '
            f'exec "{self.binary}" --user --log-target=kmsg --log-level=info'
        )
        self._stderr = self.log.open("ab")
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + 10.0
        while not (self.runtime / "systemd" / "private").exists():
            assert self.process.poll() is None, f"systemd --user ended at once: {self.log.read_text()}"
            assert time.monotonic() < deadline, f"systemd --user did not come up: {self.log.read_text()}"
            time.sleep(0.05)

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["systemctl", "--user", *args], env=self.env(), capture_output=True, text=True, timeout=15
        )

    def stop(self) -> None:
        """Stop the units, end the manager, and leave no process and no cgroup behind."""
        if self.process is not None:
            if self.process.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.systemctl("stop", "nexus-console-wall.service")
                self.process.kill()
            self.process.wait(10)
        if self._stderr is not None:
            self._stderr.close()
        groups = [d for group in self.cgroups for d in [group, *group.rglob("*")] if d.is_dir()]
        for group in groups:
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        for group in sorted(groups, key=lambda d: len(d.parts), reverse=True):
            deadline = time.monotonic() + 5.0
            while True:
                try:
                    group.rmdir()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)


@pytest.fixture
def user_manager(short_dir: Path) -> Iterator[UserManager]:
    binary = systemd_binary()
    if binary is None:
        pytest.skip("no systemd binary on this machine (Debian: apt-get install systemd)")
    if os.geteuid() != 0:
        pytest.skip("a private systemd --user manager needs root here (a bind mount and a cgroup of its own)")
    manager = UserManager(short_dir, binary)
    try:
        manager.start()
        yield manager
    finally:
        manager.stop()


def started_pids(starts: Path) -> list[str]:
    return starts.read_text().split() if starts.exists() else []


def test_systemd_restarts_the_wall_unit_when_its_event_loop_freezes(user_manager: UserManager) -> None:
    starts = user_manager.base / "starts"
    service_log = user_manager.base / "service.log"
    (user_manager.base / "probe.py").write_text(PROBE)
    (user_manager.units / "nexus-console-wall.service").write_text(unit_for_the_probe(starts, service_log))
    assert user_manager.systemctl("daemon-reload").returncode == 0

    # Type=notify: `start` returns once READY=1 has arrived (TimeoutStartSec=5 fails it otherwise).
    started = user_manager.systemctl("start", "nexus-console-wall.service")
    assert started.returncode == 0, started.stderr + user_manager.log.read_text()

    deadline = time.monotonic() + 12.0  # frozen after 1 s, killed 3 s after the last ping, back 0.5 s later
    while len(pids := started_pids(starts)) < 2:
        assert time.monotonic() < deadline, f"no restart:\n{user_manager.log.read_text()}"
        time.sleep(0.1)

    assert pids[0] != pids[1]
    shown = user_manager.systemctl("show", "nexus-console-wall.service", "-p", "NRestarts,WatchdogUSec")
    properties = dict(line.split("=", 1) for line in shown.stdout.splitlines())
    assert properties["WatchdogUSec"] == "3s" and int(properties["NRestarts"]) >= 1, properties
    log = user_manager.log.read_text()
    assert "nexus-console-wall.service: Watchdog timeout (limit 3s)!" in log
    assert "nexus-console-wall.service: Failed with result 'watchdog'." in log
    # faulthandler's dump on systemd's SIGABRT: it came while the loop was stuck in the frozen callback
    assert "in _freeze_forever" in service_log.read_text()


# ---- the real console under the shipped unit ----

# Two short items, then one that outlasts the run: the wall moves off its first item about two seconds after
# it appears, and by the freeze it rests on item 2 or 3, so resuming there is not resuming at the start.
WALL_PLAYLISTS = """\
default = "watchdog"

[[playlist.watchdog.item]]
pane = "Status"
seconds = 2

[[playlist.watchdog.item]]
pane = "Health"
seconds = 2

[[playlist.watchdog.item]]
pane = "Uptime"
seconds = 120
"""
# Measured on a 2-CPU machine: the loop turns (READY=1) ~2 s after exec, the demo server listens 5-6 s later
# (1.6 s on the restart: its data dir exists) and the wall shows 1-2 s after that, 7-9 s after the loop
# started. The freeze leaves the wall 5 s or more to leave item 1, and the restart 10 s to show its wall.
CONSOLE_FREEZE_AFTER_S = 14
# Pings every 2.5 s; the longest loop stall measured while the console starts is 1.2-2.9 s.
CONSOLE_WATCHDOG_S = 5
WALL_STARTED = re.compile(
    r"wall: screen (?P<screen>.*) \(\d+x\d+\) shows playlist (?P<playlist>\S+) from item (?P<item>\d+)$",
    re.MULTILINE,
)
FROZEN = f"{FREEZE_ENV}: blocking the event loop now, for good"


def unit_for_the_console(base: Path, service_log: Path) -> str:
    """The shipped unit running the real console: the demo server, the wall on Qt's offscreen screen, every
    XDG directory (settings, log, cache, the demo's data) in `base`, and the freeze switch armed."""
    wall = base / "wall.toml"
    overrides = {
        "ExecStart": (
            f'"{sys.executable}" -m nexus_console.app --demo --wall --wall-config "{wall}" --log-level info'
        ),
        "WatchdogSec": str(CONSOLE_WATCHDOG_S),
        "RestartSec": "0.5",
    }
    environment = {
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
        **{f"XDG_{kind}_HOME": str(base / kind.lower()) for kind in ("CONFIG", "CACHE", "DATA", "STATE")},
        FREEZE_ENV: str(CONSOLE_FREEZE_AFTER_S),
    }
    return shipped_unit_with(
        overrides,
        [
            "Environment=" + " ".join(f'"{key}={value}"' for key, value in environment.items()),
            f"StandardOutput=append:{service_log}",
            f"StandardError=append:{service_log}",
            "TimeoutStartSec=20",  # READY=1 comes when the loop turns, before the demo server is started
            "TimeoutStopSec=10",  # a console that froze again before the stop is killed, not waited for
            "LimitCORE=0",
        ],
    )


def demo_servers_of(base: Path) -> list[int]:
    """The reference servers the consoles of this test started (their data dir is in `base`)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = cmdline.read_bytes().split(b"\0")
            if b"nexus_refserver" in argv and any(str(base).encode() in arg for arg in argv):
                pids.append(int(cmdline.parent.name))
    return pids


def saved_wall_index(settings_file: Path, screen: str) -> int | None:
    """The playlist item the wall saved for `screen` (0-based), read as the console reads it."""
    from PySide6.QtCore import QSettings

    value = QSettings(str(settings_file), QSettings.Format.IniFormat).value(f"wall/{screen}/index")
    return None if value is None else int(value)  # type: ignore[call-overload]


def test_systemd_restarts_the_frozen_wall_console_and_it_comes_back_on_the_same_playlist_item(
    user_manager: UserManager,
) -> None:
    base = user_manager.base
    service_log = base / "service.log"
    (base / "wall.toml").write_text(WALL_PLAYLISTS)
    with pytest.MonkeyPatch.context() as env:  # where the console's own code puts its files
        env.setenv("XDG_CONFIG_HOME", str(base / "config"))
        env.setenv("XDG_STATE_HOME", str(base / "state"))
        settings_file = config_dir() / SETTINGS_FILE
        console_log = log_dir() / LOG_FILE
    (user_manager.units / "nexus-console-wall.service").write_text(unit_for_the_console(base, service_log))
    assert user_manager.systemctl("daemon-reload").returncode == 0

    def logs() -> str:
        console = console_log.read_text() if console_log.exists() else ""
        return f"manager:\n{user_manager.log.read_text()}\nconsole:\n{console}"

    def wait_for(what: str, done: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s\n{logs()}"
            time.sleep(0.1)

    def wall_starts() -> list[re.Match[str]]:
        return list(WALL_STARTED.finditer(console_log.read_text())) if console_log.exists() else []

    started = user_manager.systemctl("start", "nexus-console-wall.service")
    assert started.returncode == 0, started.stderr + logs()

    # Frozen 14 s after the loop started, killed at most WatchdogSec after the last ping.
    watchdog_failure = "nexus-console-wall.service: Failed with result 'watchdog'."
    wait_for("no watchdog kill", lambda: watchdog_failure in user_manager.log.read_text(), 40.0)
    # The first console is dead and the second has not shown its wall (which saves the item again) yet.
    first_run = console_log.read_text()
    [first] = wall_starts()
    saved = saved_wall_index(settings_file, first["screen"])
    assert first["item"] == "1", first.group(0)
    assert first_run.index(first.group(0)) < first_run.index(FROZEN), "the loop froze before the wall showed"
    assert len(wall_starts()) == 1, "the restarted console showed its wall before the saved item was read"
    assert saved is not None and saved >= 1, f"the wall had not left item 1 before the freeze: {saved}"

    wait_for("the restarted console shows no wall", lambda: len(wall_starts()) == 2, 40.0)
    second = wall_starts()[1]
    assert (second["screen"], second["playlist"]) == (first["screen"], first["playlist"])
    assert int(second["item"]) - 1 == saved, f"saved item {saved}, came back with: {second.group(0)}"

    shown = user_manager.systemctl("show", "nexus-console-wall.service", "-p", "NRestarts,WatchdogUSec")
    properties = dict(line.split("=", 1) for line in shown.stdout.splitlines())
    assert properties["WatchdogUSec"] == f"{CONSOLE_WATCHDOG_S}s" and int(properties["NRestarts"]) >= 1
    manager_log = user_manager.log.read_text()
    assert f"nexus-console-wall.service: Watchdog timeout (limit {CONSOLE_WATCHDOG_S}s)!" in manager_log
    assert "in _freeze_forever" in service_log.read_text()  # faulthandler's dump on systemd's SIGABRT
    assert console_log.read_text().count("console starting with profile demo") == 2
    # The first console's demo server went with its control group; the second console's is running.
    assert len(demo_servers_of(base)) == 1, demo_servers_of(base)

    stopped = user_manager.systemctl("stop", "nexus-console-wall.service")
    assert stopped.returncode == 0, stopped.stderr + logs()
    assert demo_servers_of(base) == []

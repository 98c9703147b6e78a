"""The real desktop back ends of the alert notifications, for tests that observe them from outside:

- `XembedTrayDesktop`: a private Xvfb screen with Debian's `trayer`, a real XEmbed system tray (it owns the
  `_NET_SYSTEM_TRAY_S0` selection, so Qt's xcb platform finds a tray); `x_windows` reads the X server's window
  tree (`xwininfo`, `xprop`) the way a person's desktop would hold the console's windows.
- `PulseNullSink`: a private PulseAudio daemon (run as whoever runs the tests, root included) with one null
  sink and an anonymous native socket; `MonitorRecording` records the sink's monitor with `parec`, so what
  the console played can be read back as samples (`bursts`).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.refserver import SESSION_PIDS
from tests.support.xvfb import Xvfb

TRAY_BINARIES = ("Xvfb", "trayer", "xwininfo", "xprop")
SOUND_BINARIES = ("pulseaudio", "pactl", "paplay", "parec")


def missing_binaries(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    SESSION_PIDS.discard(proc.pid)


# ---- the X side: a tray, and the windows on the screen -------------------------------------------------


@dataclass(frozen=True, slots=True)
class XWindow:
    id: int
    parent: int  # 0 for the root window
    x: int  # absolute, on the screen
    y: int
    width: int
    height: int
    viewable: bool
    override_redirect: bool
    pid: int | None  # _NET_WM_PID
    wm_class: tuple[str, ...]

    def distance_to(self, other: XWindow) -> int:
        """The gap in pixels between two windows' rectangles (0 when they touch or overlap)."""
        dx = max(other.x - (self.x + self.width), self.x - (other.x + other.width), 0)
        dy = max(other.y - (self.y + self.height), self.y - (other.y + other.height), 0)
        return max(dx, dy)


_TREE_LINE = re.compile(r"^(\s*)(0x[0-9a-f]+) ")


def _run(display: str, *args: str) -> str:
    result = subprocess.run(
        args, env=dict(os.environ, DISPLAY=display), capture_output=True, text=True, timeout=10, check=False
    )
    return result.stdout


def x_windows(display: str) -> list[XWindow]:
    """Every window on the screen but the root, with its parent (from `xwininfo -root -tree`'s
    indentation), absolute geometry, map state, override-redirect flag, owner pid and class."""
    tree = _run(display, "xwininfo", "-root", "-tree")
    root_match = re.search(r"Root window id: (0x[0-9a-f]+)", tree)
    root = int(root_match.group(1), 16) if root_match else 0
    stack: list[tuple[int, int]] = []  # (indent, window id) of the open ancestors
    parents: dict[int, int] = {}
    for line in tree.splitlines():
        match = _TREE_LINE.match(line)
        if match is None or "(the root window)" in line:
            continue
        indent, wid = len(match.group(1)), int(match.group(2), 16)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents[wid] = stack[-1][1] if stack else root
        stack.append((indent, wid))
    windows = []
    for wid, parent in parents.items():
        info = _run(display, "xwininfo", "-id", hex(wid))
        if not info:
            continue  # gone meanwhile

        def field(name: str, text: str = info) -> str:
            found = re.search(rf"^\s*{re.escape(name)}:\s*(.*)$", text, re.MULTILINE)
            return found.group(1).strip() if found else ""

        props = _run(display, "xprop", "-id", hex(wid), "_NET_WM_PID", "WM_CLASS")
        pid_match = re.search(r"_NET_WM_PID\(CARDINAL\) = (\d+)", props)
        class_match = re.search(r"WM_CLASS\(STRING\) = (.*)$", props, re.MULTILINE)
        windows.append(
            XWindow(
                id=wid,
                parent=0 if parent == root else parent,
                x=int(field("Absolute upper-left X") or 0),
                y=int(field("Absolute upper-left Y") or 0),
                width=int(field("Width") or 0),
                height=int(field("Height") or 0),
                viewable=field("Map State") == "IsViewable",
                override_redirect=field("Override Redirect State") == "yes",
                pid=int(pid_match.group(1)) if pid_match else None,
                wm_class=tuple(re.findall(r'"([^"]*)"', class_match.group(1))) if class_match else (),
            )
        )
    return windows


def ancestors(window: XWindow, windows: list[XWindow]) -> list[XWindow]:
    by_id = {w.id: w for w in windows}
    chain, parent = [], by_id.get(window.parent)
    while parent is not None:
        chain.append(parent)
        parent = by_id.get(parent.parent)
    return chain


class XembedTrayDesktop:
    """Xvfb on a free display and `trayer`, a GTK XEmbed system tray, docked at its top right."""

    def __init__(self) -> None:
        self.xvfb = Xvfb(1024, 768)
        self.display = ""
        self.tray: subprocess.Popen[bytes] | None = None

    @property
    def tray_pid(self) -> int:
        assert self.tray is not None
        return self.tray.pid

    def start(self, timeout_s: float = 15.0) -> XembedTrayDesktop:
        self.display = self.xvfb.start()
        env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        self.tray = subprocess.Popen(
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
                "--height",
                "32",
                "--transparent",
                "false",
                "--SetDockType",
                "true",
            ],
            env=dict(env, DISPLAY=self.display),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        SESSION_PIDS.add(self.tray.pid)
        deadline = time.monotonic() + timeout_s
        while self.tray_panel() is None:
            if self.tray.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"trayer did not put its panel on {self.display}")
            time.sleep(0.1)
        return self

    def tray_panel(self, windows: list[XWindow] | None = None) -> XWindow | None:
        """trayer's panel window (class "panel", "trayer"), the one that embeds the tray icons."""
        for window in x_windows(self.display) if windows is None else windows:
            if window.pid == self.tray_pid and window.wm_class == ("panel", "trayer") and window.viewable:
                return window
        return None

    def stop(self) -> None:
        _stop(self.tray)
        self.tray = None
        self.xvfb.stop()


# ---- the sound side: a null sink and its monitor --------------------------------------------------------


class PulseNullSink:
    """A PulseAudio daemon of its own (`-n`: no default.pa; no D-Bus, no X, no hardware) with one null sink
    and an anonymous native socket in a private runtime directory. As root the daemon warns that it is
    "not intended to be run as root" and runs all the same: only HOME and the XDG / PULSE directories need
    to be its own. Clients reach it through `PULSE_SERVER` (`server`)."""

    SINK = "nexus_test"
    RATE = 22050  # the console's tones are 22.05 kHz mono: nothing is resampled on the way

    def __init__(self, base: Path) -> None:
        self.base = base
        self.socket = base / "run" / "native"
        self.log = base / "pulseaudio.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def start(self, timeout_s: float = 15.0) -> PulseNullSink:
        home, run, state = self.base / "home", self.base / "run", self.base / "state"
        for path in (home, run, state):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)
        drop = {"DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "PULSE_SERVER"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(run),
            XDG_CONFIG_HOME=str(home / ".config"),
            PULSE_RUNTIME_PATH=str(run),
            PULSE_STATE_PATH=str(state),
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    "pulseaudio",
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "-n",  # no default.pa: only the two modules below
                    "--use-pid-file=no",
                    "--disable-shm=yes",
                    "--realtime=no",
                    "--high-priority=no",
                    "--log-target=stderr",
                    f"--load=module-null-sink sink_name={self.SINK} rate={self.RATE} channels=1",
                    f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
                ],
                env=env,
                stdout=log,
                stderr=log,
            )
        SESSION_PIDS.add(self.proc.pid)
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"pulseaudio did not start: {self.log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        result = subprocess.run(
            ["pactl", "--server", self.server, "list", "short", "sinks"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return self.SINK in result.stdout

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


@dataclass(frozen=True, slots=True)
class Burst:
    """One stretch of sound in a recording."""

    start_s: float
    end_s: float
    peak: int
    frequency_hz: float  # from the zero crossings of its middle

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class MonitorRecording:
    """`parec` on the null sink's monitor into a raw file (s16le mono at the sink's rate). The null sink runs
    on its own clock whether or not anything plays, so the recording is one continuous timeline: a sample's
    index is its time since the recording began."""

    WINDOW_S = 0.01
    LOUD_RMS = 300.0  # a window louder than this is sound (the tones peak at 12,000; silence is 0)
    GAP_S = 0.15  # quieter stretches shorter than this do not split a burst

    def __init__(self, sink: PulseNullSink, path: Path) -> None:
        self.sink = sink
        self.path = path
        self.rate = sink.RATE
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MonitorRecording:
        command = ["parec", "--server", self.sink.server, "-d", f"{self.sink.SINK}.monitor", "--raw"]
        command += ["--format=s16le", f"--rate={self.rate}", "--channels=1", "--latency-msec=20"]
        with self.path.open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 10
        while self.seconds() < 0.1:  # the monitor is delivering
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"parec recorded nothing from {self.sink.SINK}.monitor")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
        if proc is not None:
            proc.wait(5)

    def samples(self) -> np.ndarray:
        data = self.path.read_bytes()
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int32)

    def seconds(self) -> float:
        """How much has been recorded: the recording's 'now'."""
        return self.path.stat().st_size / 2 / self.rate

    def peak(self, from_s: float, to_s: float | None = None) -> int:
        samples = self.samples()[int(from_s * self.rate) : None if to_s is None else int(to_s * self.rate)]
        return int(np.abs(samples).max()) if samples.size else 0

    def bursts(self) -> list[Burst]:
        samples = self.samples()
        window = int(self.WINDOW_S * self.rate)
        count = samples.size // window
        if count == 0:
            return []
        frames = samples[: count * window].reshape(count, window).astype(np.float64)
        loud = np.sqrt((frames**2).mean(axis=1)) > self.LOUD_RMS
        bursts, start, quiet = [], None, 0
        for i, is_loud in enumerate(loud):
            if is_loud:
                start = i if start is None else start
                quiet = 0
            elif start is not None:
                quiet += 1
                if quiet * self.WINDOW_S >= self.GAP_S:
                    bursts.append(self._burst(samples, start * window, (i - quiet + 1) * window))
                    start, quiet = None, 0
        if start is not None:
            bursts.append(self._burst(samples, start * window, (count - quiet) * window))
        return bursts

    def _burst(self, samples: np.ndarray, first: int, end: int) -> Burst:
        part = samples[first:end]
        middle = part[part.size // 4 : part.size * 3 // 4]
        signs = np.signbit(middle[middle != 0])
        crossings = int(np.count_nonzero(signs[1:] != signs[:-1]))
        seconds = middle.size / self.rate
        return Burst(
            start_s=first / self.rate,
            end_s=end / self.rate,
            peak=int(np.abs(part).max()),
            frequency_hz=crossings / 2 / seconds if seconds else 0.0,
        )


# ---- the console's notifier on the tray's screen --------------------------------------------------------


class TrayApp:
    """`tests.support.tray_app` in a child process on the tray's display (Qt's xcb platform): the console's
    notifier with a real `QSystemTrayIcon`. D-Bus is pointed at nothing, so Qt has no StatusNotifier host to
    talk to and uses the XEmbed tray, as on a desktop whose tray is a plain XEmbed one."""

    def __init__(self, desktop: XembedTrayDesktop, workdir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY"}}
        env.update(
            DISPLAY=desktop.display,
            QT_QPA_PLATFORM="xcb",
            DBUS_SESSION_BUS_ADDRESS=f"unix:path={workdir / 'no-session-bus'}",
        )
        self.log = workdir / "tray_app.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.tray_app"],
                cwd=Path(__file__).resolve().parents[2],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read(self, timeout_s: float = 20.0) -> dict[str, object]:
        """The app's next JSON line."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                raise AssertionError(
                    f"the tray app said nothing within {timeout_s} s (exit code {self.proc.poll()}): "
                    + self.log.read_text(errors="replace")[-2000:]
                )
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def ask(self, command: str, timeout_s: float = 20.0) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        return self.read(timeout_s)

    def close(self) -> int:
        try:
            if self.proc.poll() is None:
                self.ask("quit")
            return self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()

"""The demo stack's processes (scripts/demo_stack.py): free ports, start a server detached with its log,
wait until it answers, and stop exactly the PIDs the stack recorded."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


class ProcessError(RuntimeError):
    """A server exited or never answered; the text carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers bind: a port whose last connections are in TIME_WAIT is free for them
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cmdline_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def ours(pid: int | None, binary: str, directory: Path) -> bool:
    """The recorded PID is still the process `up` started (not a reused PID)."""
    if not pid:
        return False
    cmdline = cmdline_of(pid)
    return bool(cmdline) and Path(cmdline[0]).name == binary and any(str(directory) in a for a in cmdline)


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy


def wait_ready(url: str, deadline: float, proc: subprocess.Popen[bytes] | None, log: Path) -> None:
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ProcessError(f"{proc.args[0]} exited with {proc.returncode}: {tail(log)}")
        try:
            with DIRECT.open(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise ProcessError(f"{url} did not answer: {last}; {tail(log)}")


def tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def spawn(name: str, args: list[str], directory: Path) -> subprocess.Popen[bytes]:
    log = directory / "logs" / f"{name}.log"
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=directory,
            start_new_session=True,  # not in the terminal's process group: Ctrl+C reaches the console only
        )


def stop_pid(pid: int, timeout_s: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True

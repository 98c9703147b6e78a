"""A private Xvfb screen for tests that need a real X window (screenshots of the running app)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from tests.support.refserver import SESSION_PIDS


class Xvfb:
    def __init__(self, width: int = 1600, height: int = 1000) -> None:
        self.size = f"{width}x{height}x24"
        self.display = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> str:
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is not installed: run `make setup` (Debian package xvfb)")
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.size, "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        SESSION_PIDS.add(self.proc.pid)
        deadline = time.monotonic() + timeout_s
        digits = b""
        with os.fdopen(read_fd, "rb") as pipe:
            while time.monotonic() < deadline and not digits.endswith(b"\n"):
                chunk = pipe.read(1)
                if not chunk:
                    break
                digits += chunk
        if not digits.strip():
            self.stop()
            raise RuntimeError("Xvfb did not report a display number")
        self.display = f":{digits.decode().strip()}"
        return self.display

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        if self.proc is not None:
            SESSION_PIDS.discard(self.proc.pid)

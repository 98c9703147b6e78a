"""Start the reference server as a real subprocess on 127.0.0.1, the way every integration test uses it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

_LISTENING = re.compile(r"^nexus-refserver listening on (http://127\.0\.0\.1:(\d+))$")

# Processes owned by session-scoped fixtures; the leak check does not count them against a test.
SESSION_PIDS: set[int] = set()


class RefServer:
    """One `nexus-refserver` subprocess. `restart()` reuses the port so clients can reconnect."""

    def __init__(self, data_dir: Path, *args: str, session_owned: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.args = list(args)
        self.session_owned = session_owned
        self.port = 0
        self.base_url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_tail: deque[str] = deque(maxlen=200)

    def start(self, timeout_s: float = 60.0) -> str:
        cmd = [
            sys.executable,
            "-m",
            "nexus_refserver",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        if self.session_owned:
            SESSION_PIDS.add(self.proc.pid)
        threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True).start()
        line = _readline_with_timeout(self.proc, timeout_s)
        match = _LISTENING.match(line.strip())
        if not match:
            self.stop()
            raise RuntimeError(f"refserver did not start: first line {line!r}; stderr: {self.stderr()}")
        self.base_url, self.port = match.group(1), int(match.group(2))
        threading.Thread(target=self._drain_stdout, args=(self.proc,), daemon=True).start()
        return self.base_url

    def stop(self, timeout_s: float = 10.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        SESSION_PIDS.discard(proc.pid)

    def kill(self) -> None:
        """SIGKILL, as a crash or a pulled cable would look to a client."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
            SESSION_PIDS.discard(self.proc.pid)

    def restart(self, timeout_s: float = 60.0) -> str:
        self.stop()
        return self.start(timeout_s)

    def stderr(self) -> str:
        return "".join(self.stderr_tail)

    def _drain_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr_tail.append(line)

    @staticmethod
    def _drain_stdout(proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for _ in proc.stdout:
            pass


def _readline_with_timeout(proc: subprocess.Popen[str], timeout_s: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    return result[0] if result else ""

"""Starts the reference server with its demo scenario as a subprocess (never imported: `python -m`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

DEMO_EMAIL = "admin@nexus.test"
DEMO_PASSWORD = "nexus-demo"  # the reference server's published demo password, not a real secret
# the reference server's SQLite files in its data dir (nexus_refserver/databases.py)
DEMO_REPLICA_DATABASES = ("users", "workstation", "marketplace")
# the reference server's `demo` scenario: the default incident told in its first minutes
DEMO_SCENARIO = "demo"
DEMO_NOTICE = (
    "Demo data: the order processor slows at 5 s, its replica lags at 10 s, the incident is declared at "
    "20 s; its error and latency alerts fire at about 2 and 5 min (the rules' hold times); all clear by "
    "about 11 min."
)
_LISTENING = re.compile(r"^nexus-refserver listening on (http://127\.0\.0\.1:\d+)\s*$")
log = logging.getLogger(__name__)


class DemoServerError(RuntimeError):
    pass


class DemoServer:
    def __init__(
        self, data_dir: Path, *, scenario: str = DEMO_SCENARIO, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self.scenario = scenario
        self.extra_args = extra_args
        self.proc: subprocess.Popen[str] | None = None
        self.base_url: str | None = None
        self._stderr_tail: deque[str] = deque(maxlen=50)

    def replica_urls(self) -> dict[str, tuple[str, ...]]:
        """The demo server's platform databases as read-only replicas for the console (SQLite files)."""
        return {
            name: (f"sqlite:///{self.data_dir / (name + '.sqlite3')}",) for name in DEMO_REPLICA_DATABASES
        }

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "nexus_refserver",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--scenario",
            self.scenario,
            *self.extra_args,
        ]

    async def start(self, timeout_s: float = 60.0) -> str:
        """Start the server and return its base URL once it prints its listening line."""
        if importlib.util.find_spec("nexus_refserver") is None:
            raise DemoServerError(
                "--demo needs the reference server, which is not installed: install the nexus-refserver "
                "distribution (pip install ./packaging/refserver from the source tree, or run make demo)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True,
        )
        loop = asyncio.get_running_loop()
        first_line: asyncio.Future[str] = loop.create_future()
        threading.Thread(target=self._read_stdout, args=(self.proc, loop, first_line), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()
        try:
            line = await asyncio.wait_for(first_line, timeout_s)
        except TimeoutError:
            await self.stop()
            raise DemoServerError(f"the demo server did not start within {timeout_s:.0f} s") from None
        match = _LISTENING.match(line)
        if not match:
            await self.stop()
            tail = "".join(self._stderr_tail).strip()[-500:]
            raise DemoServerError(f"the demo server did not start: {line.strip()!r} {tail}")
        self.base_url = match.group(1)
        log.info("demo server listening on %s (pid %s)", self.base_url, self.proc.pid)
        return self.base_url

    async def stop(self, timeout_s: float = 10.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while proc.poll() is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            await asyncio.sleep(0.1)
        proc.wait(5)

    @staticmethod
    def _read_stdout(
        proc: subprocess.Popen[str], loop: asyncio.AbstractEventLoop, first: asyncio.Future[str]
    ) -> None:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: first.done() or first.set_result(line))
        for _ in proc.stdout:
            pass

    def _read_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr_tail.append(line)

"""Starts the reference server with its demo scenario as a subprocess (never imported: `python -m`), on the
embedded defaults (SQLite files in its data dir, no Prometheus) or on the real stack `make demo` started
(scripts/demo_stack.py: a PostgreSQL primary with streaming replicas, Prometheus, Alertmanager), which the
stack file named by NEXUS_DEMO_STACK describes."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nexus_console.services.profiles import Profile

DEMO_EMAIL = "admin@nexus.test"
DEMO_PASSWORD = "nexus-demo"  # the reference server's published demo password, not a real secret
# the reference server's SQLite files in its data dir (nexus_refserver/databases.py)
DEMO_REPLICA_DATABASES = ("users", "workstation", "marketplace")
# the reference server's `demo` scenario: the default incident told in its first minutes
DEMO_SCENARIO = "demo"
DEMO_STORY = (
    "the order processor slows at 5 s, its replica lags at 10 s, the incident is declared at "
    "20 s; its error and latency alerts fire at about 2 and 5 min (the rules' hold times); all clear by "
    "about 11 min."
)
# the path of the stack file scripts/demo_stack.py writes (scripts/demo.sh sets it)
DEMO_STACK_ENV = "NEXUS_DEMO_STACK"
EMBEDDED_DATA = "embedded SQLite, no Prometheus"
_LISTENING = re.compile(r"^nexus-refserver listening on (http://127\.0\.0\.1:\d+)\s*$")
log = logging.getLogger(__name__)


class DemoServerError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class DemoStack:
    """The real services scripts/demo_stack.py started for the demo (its stack file, JSON)."""

    refserver_port: int  # fixed: Prometheus scrapes the reference server's services there
    database_urls: Mapping[str, str]  # the reference server's databases, on the primary
    replicas: Mapping[str, tuple[str, ...]]  # what the console reads: the replicas, failover order
    prometheus_url: str | None
    alertmanager_urls: tuple[str, ...]
    monitoring_dsn: str | None = None  # the primary, as the monitoring role

    @classmethod
    def load(cls, path: Path) -> DemoStack:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                refserver_port=int(raw["refserver_port"]),
                database_urls={str(k): str(v) for k, v in raw["database_urls"].items()},
                replicas={str(k): tuple(str(u) for u in v) for k, v in raw["replicas"].items()},
                prometheus_url=raw.get("prometheus_url"),
                alertmanager_urls=tuple(str(u) for u in raw.get("alertmanager_urls", ())),
                monitoring_dsn=raw.get("monitoring_dsn"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DemoServerError(
                f"{DEMO_STACK_ENV}={path}: not a demo stack file ({exc}); start the stack with "
                "scripts/demo_stack.py up, or unset it for the embedded demo"
            ) from None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> DemoStack | None:
        path = (os.environ if environ is None else environ).get(DEMO_STACK_ENV)
        return cls.load(Path(path)) if path else None


class DemoServer:
    def __init__(
        self,
        data_dir: Path,
        *,
        scenario: str = DEMO_SCENARIO,
        extra_args: tuple[str, ...] = (),
        stack: DemoStack | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.scenario = scenario
        self.extra_args = extra_args
        self.stack = stack
        self.proc: subprocess.Popen[str] | None = None
        self.base_url: str | None = None
        self._stderr_tail: deque[str] = deque(maxlen=50)

    @classmethod
    def for_console(cls, data_dir: Path) -> DemoServer:
        """`--demo`: on the stack NEXUS_DEMO_STACK names, else on the embedded defaults."""
        return cls(data_dir, stack=DemoStack.from_environment())

    @property
    def data_description(self) -> str:
        """Where the demo's data and alerts come from: "PostgreSQL primary + 2 replicas, Prometheus,
        Alertmanager" on the real stack, else "embedded SQLite, no Prometheus"."""
        stack = self.stack
        if stack is None:
            return EMBEDDED_DATA
        replicas = max((len(urls) for urls in stack.replicas.values()), default=0)
        parts = [f"PostgreSQL primary + {replicas} replicas"]
        parts += ["Prometheus"] if stack.prometheus_url else []
        parts += ["Alertmanager"] if stack.alertmanager_urls else []
        return ", ".join(parts)

    @property
    def notice(self) -> str:
        """The status bar's demo notice: what the data comes from first (a narrow bar cuts the end off),
        then the scenario."""
        return f"Demo ({self.data_description}): {DEMO_STORY}"

    def replica_urls(self) -> dict[str, tuple[str, ...]]:
        """The demo server's platform databases as read-only replicas for the console: the stack's
        PostgreSQL replicas, else the server's SQLite files."""
        if self.stack is not None:
            return dict(self.stack.replicas)
        return {
            name: (f"sqlite:///{self.data_dir / (name + '.sqlite3')}",) for name in DEMO_REPLICA_DATABASES
        }

    def profile(self) -> Profile:
        """The console's profile for the started server (its URL, replicas, Prometheus and Alertmanager)."""
        if self.base_url is None:
            raise DemoServerError("the demo server has not started")
        stack = self.stack
        return Profile(
            "demo",
            self.base_url,
            email=DEMO_EMAIL,
            replicas=self.replica_urls(),
            prometheus_url=stack.prometheus_url if stack is not None else None,
            alertmanager_urls=stack.alertmanager_urls if stack is not None else (),
            monitoring_dsn=stack.monitoring_dsn if stack is not None else None,
        )

    def command(self) -> list[str]:
        port = str(self.stack.refserver_port) if self.stack is not None else "0"
        databases: list[str] = []
        for name, url in (self.stack.database_urls if self.stack is not None else {}).items():
            databases += [f"--{name}-db-url", url]
        return [
            sys.executable,
            "-m",
            "nexus_refserver",
            "--port",
            port,
            "--data-dir",
            str(self.data_dir),
            "--scenario",
            self.scenario,
            *databases,
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
        log.info(
            "demo server listening on %s (pid %s); data: %s",
            self.base_url,
            self.proc.pid,
            self.data_description,
        )
        return self.base_url

    async def start_profile(self, timeout_s: float = 60.0) -> Profile:
        """Start the server; the console's profile for it."""
        await self.start(timeout_s)
        return self.profile()

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

"""A real PostgreSQL primary with streaming replicas on 127.0.0.1, started by scripts/pg-up.sh.

The servers run as their own processes (pg_ctl daemonises them), so they are not children of the test
process; `PgCluster` still registers their PIDs in `SESSION_PIDS` while a session fixture owns them, and
`stop()` runs scripts/pg-down.sh, which stops only the PIDs pg-up.sh recorded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.refserver import SESSION_PIDS

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_UP = REPO_ROOT / "scripts" / "pg-up.sh"
PG_DOWN = REPO_ROOT / "scripts" / "pg-down.sh"
APP_PASSWORD = "apppw"
MONITOR_PASSWORD = "monitorpw"  # scripts/pg-up.sh's default for the role nexus_monitor (pg_monitor only)


def postgres_available() -> bool:
    return any(Path(p).joinpath("initdb").exists() for p in Path("/usr/lib/postgresql").glob("*/bin"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """A primary plus `replicas` streaming replicas, each database owned by the login role `app`."""

    def __init__(self, databases: tuple[str, ...], replicas: int = 1, *, fsync: bool = False) -> None:
        # Not under pytest's tmp dir: the servers run as an unprivileged OS user, who cannot enter it.
        self.base = Path(tempfile.mkdtemp(prefix="nexus-pg-"))
        self.base.chmod(0o755)
        self.databases = databases
        self.primary_port = free_port()
        self.replica_ports = [free_port() for _ in range(replicas)]
        self.fsync = fsync
        self.pids: dict[str, int] = {}

    def _env(self) -> dict[str, str]:
        return dict(
            os.environ,
            PGBASE=str(self.base),
            P_PORT=str(self.primary_port),
            R_PORTS=" ".join(str(p) for p in self.replica_ports),
            PG_DATABASES=" ".join(self.databases),
            APP_PW=APP_PASSWORD,
            PG_FSYNC="on" if self.fsync else "off",
        )

    def start(self) -> None:
        """Start (or restart) every cluster that is stopped; idempotent like the script."""
        result = subprocess.run(
            ["bash", str(PG_UP)], env=self._env(), capture_output=True, text=True, timeout=180
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg-up.sh failed ({result.returncode}): {result.stdout}\n{result.stderr}")
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[1] == "pid":
                self.pids[parts[0]] = int(parts[2])
        SESSION_PIDS.update(self.pids.values())

    def stop(self, *names: str) -> None:
        """Stop the named clusters (`primary`, `replica1`, ...), or all of them."""
        result = subprocess.run(
            ["bash", str(PG_DOWN), *names], env=self._env(), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg-down.sh failed: {result.stdout}\n{result.stderr}")
        for name in names or tuple(self.pids):
            pid = self.pids.pop(name, None)
            if pid is not None:
                SESSION_PIDS.discard(pid)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def primary_url(self, database: str) -> str:
        return f"postgresql+psycopg://app:{APP_PASSWORD}@127.0.0.1:{self.primary_port}/{database}"

    def superuser_connect(self, port: int, database: str = "postgres") -> psycopg.Connection:
        """A superuser session over the clusters' unix socket (trust auth), for test set-up only."""
        return psycopg.connect(
            host=str(self.base / "sock"), port=port, user="postgres", dbname=database, autocommit=True
        )

    def pause_replay(self, index: int = 0) -> None:
        """Stop the replica from applying WAL (it still receives it): a deterministic replication lag."""
        with self.superuser_connect(self.replica_ports[index]) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self, index: int = 0) -> None:
        with self.superuser_connect(self.replica_ports[index]) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def monitor_url(self, database: str, port: int | None = None, *, password: bool = True) -> str:
        """The monitoring role `nexus_monitor` on the primary (or the server on `port`)."""
        secret = f":{MONITOR_PASSWORD}" if password else ""
        return f"postgresql+psycopg://nexus_monitor{secret}@127.0.0.1:{port or self.primary_port}/{database}"

    def replica_url(self, database: str, index: int = 0) -> str:
        port = self.replica_ports[index]
        return f"postgresql+psycopg://app:{APP_PASSWORD}@127.0.0.1:{port}/{database}"

"""scripts/pg-up.sh and pg-down.sh: idempotent start, and a stop that touches only what they started."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from tests.support.postgres import PgCluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _gone(pid: int, timeout_s: float = 10.0) -> bool:
    """The process has exited (a stopped postmaster may take a moment to be reaped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_up_is_idempotent_and_down_stops_only_recorded_postmasters() -> None:
    cluster = PgCluster(("ops",), replicas=1)
    try:
        cluster.start()
        first = dict(cluster.pids)
        assert set(first) == {"primary", "replica1"}
        assert all(psutil.pid_exists(pid) for pid in first.values())
        cluster.start()  # again: nothing restarted, nothing re-created
        assert cluster.pids == first

        # a postmaster whose PID this project did not record is left alone
        record = cluster.base / "run" / "replica1.pid"
        record.write_text("1\n")
        cluster.stop("replica1")
        assert (cluster.base / "replica1" / "postmaster.pid").exists()
        assert psutil.Process(first["replica1"]).status() != psutil.STATUS_ZOMBIE
        record.write_text(f"{first['replica1']}\n")
        cluster.pids["replica1"] = first["replica1"]
        cluster.stop("replica1")
        assert (
            not psutil.pid_exists(first["replica1"]) or psutil.Process(first["replica1"]).status() == "zombie"
        )
        assert psutil.pid_exists(first["primary"])

        cluster.start()  # brings back only the stopped replica, from its existing data directory
        assert cluster.pids["primary"] == first["primary"]
        assert cluster.pids["replica1"] != first["replica1"]
    finally:
        cluster.destroy()
    assert not cluster.base.exists() or not os.listdir(cluster.base / "run")
    assert _gone(first["primary"])

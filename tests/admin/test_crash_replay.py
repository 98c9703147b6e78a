"""kill -9 the console's replay process at random moments, again and again: nothing is lost and nothing
is applied twice, as the server's audit trail proves (one entry per idempotency key)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.services.outbox import Outbox
from tests.admin.conftest import ADMIN_EMAIL, DEMO_PASSWORD, audit_counts_by_key, primary_rows
from tests.support.postgres import PgCluster
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KILLS = 20
REPO_ROOT = Path(__file__).resolve().parents[2]


def _start_replay(outbox_path: Path, base_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nexus_console.services.outbox_sender",
                "--outbox",
                str(outbox_path),
                "--api",
                base_url,
                "--email",
                ADMIN_EMAIL,
                "--batch-size",
                "16",
                "--concurrency",
                "8",
            ],
            cwd=REPO_ROOT,
            env=dict(os.environ, NEXUS_PASSWORD=DEMO_PASSWORD, PYTHONUNBUFFERED="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def _wait_for_replay_start(log_path: Path, starts_before: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log_path.read_text().count("replaying ") > starts_before:
            return
        time.sleep(0.01)
    raise TimeoutError(f"the replay process did not start:\n{log_path.read_text()[-2000:]}")


def _states_after_crash(outbox_path: Path) -> tuple[int, int]:
    """(actions left in `sending` by the kill, actions still open), read without recovering the file."""
    db = sqlite3.connect(outbox_path)
    try:
        sending = db.execute("SELECT COUNT(*) FROM actions WHERE state = 'sending'").fetchone()[0]
        still_open = db.execute(
            "SELECT COUNT(*) FROM actions WHERE state NOT IN ('applied', 'cancelled')"
        ).fetchone()[0]
    finally:
        db.close()
    return sending, still_open


def _queue_round(outbox: Outbox, versions: dict[int, int | None]) -> list[str]:
    """Per user: suspend then unsuspend; the suspend on the given version (None: after the user's
    previous queued action), the unsuspend following it."""
    requests = []
    for user_id, version in versions.items():
        entity = EntityRef(EntityType.USER, str(user_id))
        requests.append(ActionRequest(entity, "suspend", "crash drill", expected_version=version))
        requests.append(ActionRequest(entity, "unsuspend", "crash drill over"))
    return [e.idempotency_key for e in outbox.enqueue_many(requests)]


def test_killing_the_replay_process_20_times_loses_and_duplicates_nothing(
    pg_cluster: PgCluster, pg_refserver: RefServer, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    outbox_path = tmp_path / "outbox.sqlite3"
    log_path = tmp_path / "replay.log"
    log_path.touch()
    targets = primary_rows(
        pg_cluster,
        "users",
        "SELECT id, version FROM users WHERE id BETWEEN 561 AND 879 AND status = 'active' "
        "ORDER BY id LIMIT 150",
    )
    start_versions = {t["id"]: t["version"] for t in targets}
    versions: dict[int, int | None] = dict(start_versions)
    outbox = Outbox(outbox_path)
    keys = _queue_round(outbox, versions) + _queue_round(outbox, dict.fromkeys(versions))
    outbox.close()

    kills = starts = interrupted_sends = 0
    while kills < KILLS:
        proc = _start_replay(outbox_path, pg_refserver.base_url, log_path)
        _wait_for_replay_start(log_path, starts)
        starts += 1
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(10)
        in_flight, still_open = _states_after_crash(outbox_path)
        interrupted_sends += in_flight
        if still_open == 0:  # drained before the drill ended: queue another round
            outbox = Outbox(outbox_path)
            try:
                for user_id in versions:
                    applied = [e for e in outbox.entries_for("user", str(user_id)) if e.applied_version]
                    versions[user_id] = applied[-1].applied_version
                keys += _queue_round(outbox, versions)
            finally:
                outbox.close()

    final = _start_replay(outbox_path, pg_refserver.base_url, log_path)
    assert final.wait(120) == 0, log_path.read_text()[-3000:]

    assert interrupted_sends > 0, "no kill landed while actions were in flight"
    outbox = Outbox(outbox_path)
    try:
        counts = outbox.counts()
        assert counts[OutboxState.APPLIED] == len(keys), counts
        rounds = {
            user_id: sum(
                1 for e in outbox.entries_for("user", str(user_id)) if e.state is OutboxState.APPLIED
            )
            for user_id in start_versions
        }
    finally:
        outbox.close()
    audit = audit_counts_by_key(pg_refserver.base_url, set(keys))
    duplicated = {k: n for k, n in audit.items() if n != 1}
    assert not duplicated, f"{len(duplicated)} keys not audited exactly once"
    now = {
        r["id"]: r
        for r in primary_rows(
            pg_cluster,
            "users",
            "SELECT id, version, status FROM users WHERE id = ANY(%s)",
            (list(start_versions),),
        )
    }
    for user_id, version in start_versions.items():
        assert now[user_id]["version"] == version + rounds[user_id]
        assert now[user_id]["status"] == "active"

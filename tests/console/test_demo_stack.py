"""`make demo` on the real stack, the way scripts/demo.sh runs it: `scripts/demo_stack.py up` starts a
PostgreSQL primary with two streaming replicas, Prometheus, Alertmanager and node exporter; the console's
`--demo` path (DemoServer with the stack NEXUS_DEMO_STACK names) runs the reference server's demo scenario on
the primary; the console reads a real replica and shows the scenario's Prometheus and Alertmanager alerts;
`scripts/demo_stack.py down --purge` leaves no process behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import text

from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.domain.auth import Me
from nexus_console.models.alert_table import SOURCE_COLUMN
from nexus_console.services.alert_runtime import AlertSourceSettings
from nexus_console.services.auth import Credentials
from nexus_console.services.demo_server import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_STACK_ENV,
    DemoServer,
    DemoStack,
)
from nexus_console.services.profiles import cache_dir
from nexus_console.views.admin import AdminPane
from nexus_console.views.alerts import AlertsPane
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import api_stack
from tests.console.helpers import wait_until
from tests.support.postgres import postgres_available
from tests.support.prometheus_stack import binaries_available
from tests.support.qloop import QLoop
from tests.support.session import console_session

REPO = Path(__file__).resolve().parents[2]
DEMO_STACK = REPO / "scripts" / "demo_stack.py"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.prometheus,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (postgres_available() and binaries_available()),
        reason="needs postgresql-15, prometheus, prometheus-alertmanager, prometheus-node-exporter",
    ),
]


class SilentPlayer:
    def play(self, severity: Severity) -> None:
        pass

    def close(self) -> None:
        pass


def stack_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO_STACK), *args], env=env, capture_output=True, text=True, timeout=180
    )


def processes_under(*paths: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if any(str(path) in cmdline for path in paths):
            found.append(f"{proc.info['pid']} {cmdline[:120]}")
    return found


def test_make_demo_runs_on_a_real_replica_and_shows_prometheus_and_alertmanager_alerts(
    qloop: QLoop, tmp_path: Path, isolated_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    # The clusters run as the postgres OS user when the tests run as root: not under pytest's 0700 tmp dir.
    # /tmp/nexus-pg-*: scripts/reap.sh stops what a killed run leaves there.
    pgbase = Path(tempfile.mkdtemp(prefix="nexus-pg-demo-"))
    pgbase.chmod(0o755)
    stack_dir = isolated_dirs["data"] / "nexus-console" / "demo-stack"
    env = dict(os.environ, DEMO_PGBASE=str(pgbase), PG_FSYNC="off")
    try:
        up = stack_cli("up", env=env)
        assert up.returncode == 0, up.stderr
        stack_file = Path(up.stdout.strip())
        assert stack_file.parent == stack_dir  # the user data dir, never the current directory
        monkeypatch.setenv(DEMO_STACK_ENV, str(stack_file))
        qloop.run(demo_console(tmp_path), timeout_s=90)
    finally:
        down = stack_cli("down", "--purge", env=env)
        shutil.rmtree(pgbase, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert "stopped prometheus" in down.stderr and "stopped primary" in down.stderr
    assert processes_under(stack_dir, pgbase) == []
    assert time.monotonic() - started < 75


async def demo_console(tmp_path: Path) -> None:
    stack = DemoStack.from_environment()  # as `nexus-console --demo` reads it
    assert stack is not None
    # the demo admin and the demo scenario, on 1,000 users instead of 50,000 (the data is not the point)
    server = DemoServer(cache_dir() / "demo-server", stack=stack, extra_args=("--scale", "0.02"))
    try:
        profile = await server.start_profile()
        assert profile.api_base_url == f"http://127.0.0.1:{stack.refserver_port}"
        assert profile.prometheus_url and profile.alertmanager_urls
        assert all(url.startswith("postgresql") for urls in profile.replicas.values() for url in urls)
        assert server.notice.startswith("Demo (PostgreSQL primary + 2 replicas, Prometheus, Alertmanager): ")
        async with api_stack(profile.api_base_url) as api:
            me = await api.auth.login(Credentials(DEMO_EMAIL, DEMO_PASSWORD))
            settings = SessionSettings(
                alerts=AlertSourceSettings(
                    alertmanager_interval_s=0.5,
                    prometheus_interval_s=1.0,
                    history_path=tmp_path / "history.db",
                )
            )
            async with console_session(
                profile,
                api.api,
                api.http,
                Me(me.id, me.email, me.name, frozenset(me.roles)),
                settings=settings,
                start=False,
            ) as session:
                panes: list[Any] = [AlertsPane(session, player=SilentPlayer()), AdminPane(session)]
                for pane in panes:
                    pane.resize(1400, 800)
                    pane.show()
                session.start()
                try:
                    await reads_a_real_replica(session, panes[1])
                    await reads_every_server_s_statistics(session)
                    await shows_prometheus_and_alertmanager_alerts(panes[0])
                finally:
                    for pane in panes:
                        pane.shutdown()
                        pane.hide()  # not close(): closing the last window would quit the qasync loop
                        pane.deleteLater()
    finally:
        await server.stop()


async def reads_a_real_replica(session: Any, pane: AdminPane) -> None:
    runtime = session.admin
    assert runtime is not None
    await wait_until(lambda: runtime.ready.is_set(), timeout_s=20)
    assert runtime.problem is None, runtime.problem
    assert runtime.replicas.replica("users").dialect == "postgresql"
    result = await runtime.replicas.run(
        "users", lambda conn: conn.execute(text("SELECT pg_is_in_recovery()")).scalar()
    )
    assert result.value is True  # a standby, not the primary
    lag = result.lag
    assert lag.is_replica and lag.receiver_connected, lag
    assert isinstance(lag.lag_bytes, int) and lag.replay_lsn, lag
    pane.search_edit.setText("a")
    task = pane.start_search()
    assert task is not None
    await task
    assert pane.model.rowCount() > 0
    shown = pane.lag_label.text()
    assert shown.startswith("users replica: "), shown  # "caught up" or "N bytes behind, x s"
    assert "no replication lag" not in shown


async def reads_every_server_s_statistics(session: Any) -> None:
    """The Database pane's source: the primary as the monitoring role (its password in the pgpass file),
    and both replicas."""
    assert session.profile.monitoring_dsn and "//nexus_monitor@" in session.profile.monitoring_dsn
    snapshot = await session.database.poll()
    assert [r.error for r in snapshot.readings] == [None, None, None]
    assert [r.health.role for r in snapshot.readings] == ["primary", "standby", "standby"]
    assert {link.name for link in snapshot.readings[0].health.replication} == {"replica1", "replica2"}


async def shows_prometheus_and_alertmanager_alerts(pane: AlertsPane) -> None:
    def alert(source: str, name: str, state: AlertState, service: str | None = None) -> Alert | None:
        return next(
            (
                a
                for a in pane.model.alerts()
                if (a.source, a.name, a.state) == (source, name, state) and service in (None, a.service)
            ),
            None,
        )

    # the scenario's replica lag (14 s from 10 s on) over Prometheus's 10 s threshold, through Alertmanager
    await wait_until(
        lambda: alert("alertmanager", "ReplicationLagHigh", AlertState.FIRING) is not None, timeout_s=45
    )
    lag_alert = alert("alertmanager", "ReplicationLagHigh", AlertState.FIRING)
    assert lag_alert is not None and lag_alert.labels["database"] == "marketplace"
    # one row for the problem, raised by the Nexus server's own rule and by Alertmanager
    sources = [pane.proxy.index(row, SOURCE_COLUMN).data() for row in range(pane.proxy.rowCount())]
    assert any("alertmanager" in source for source in sources), sources
    # the order processor's latency (650 ms more from 5 s on): Prometheus's p95 rule, pending its 5 min
    order_processor = "puabo-nuki-order-processor"
    await wait_until(
        lambda: alert("prometheus", "ApiLatencyP95High", AlertState.PENDING, order_processor) is not None,
        timeout_s=20,
    )

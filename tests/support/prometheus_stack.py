"""Real Prometheus, Alertmanager(s) and node exporter (Debian packages) on free 127.0.0.1 ports.

`PrometheusStack(directory, alertmanagers=2).start()` writes its configs into `directory`, starts the
processes, waits until each answers, and `stop()` ends exactly the PIDs it started. With
`session_owned=True` the PIDs are registered in SESSION_PIDS while running, so the per-test leak check
does not count them.

Prometheus evaluates every second and sends to every Alertmanager; `--rules.alert.resend-delay=1s`
matters: the first notification is dropped while Alertmanager is not yet discovered, and the default
resend delay would hold the alert back for a minute.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.refserver import SESSION_PIDS

ALWAYS_FIRING = "NexusTestAlwaysFiring"
PENDING_30S = "NexusTestPending30s"
PENDING_1H = "NexusTestPendingLong"
INHIBITED = "NexusTestInhibited"

RULES = f"""
groups:
  - name: nexus-console-tests
    interval: 1s
    rules:
      - alert: {ALWAYS_FIRING}
        expr: vector(1)
        for: 0s
        labels: {{severity: critical, service: order-processor, team: ops}}
        annotations: {{summary: "test alert that always fires", runbook_url: "runbooks/monitoring.md"}}
      - alert: {INHIBITED}
        expr: vector(1)
        for: 0s
        labels: {{severity: warning, service: order-processor, team: ops}}
        annotations: {{summary: "always inhibited by {ALWAYS_FIRING}"}}
      - alert: {PENDING_30S}
        expr: vector(1)
        for: 30s
        labels: {{severity: warning, service: checkout}}
        annotations: {{summary: "pending for 30 s, then firing"}}
      - alert: {PENDING_1H}
        expr: vector(2)
        for: 1h
        labels: {{severity: info, service: catalog}}
        annotations: {{summary: "pending for an hour"}}
"""

ALERTMANAGER_CONFIG = f"""
inhibit_rules:
  - source_matchers: ['alertname="{ALWAYS_FIRING}"']
    target_matchers: ['alertname="{INHIBITED}"']
    equal: [team]
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binaries_available() -> bool:
    return all(shutil.which(b) for b in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"))


class PrometheusStack:
    def __init__(self, directory: Path, *, alertmanagers: int = 2, session_owned: bool = False) -> None:
        self.directory = Path(directory)
        self.session_owned = session_owned
        self.node_exporter_port = free_port()
        self.prometheus_port = free_port()
        self.alertmanager_ports = [free_port() for _ in range(alertmanagers)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started_at = 0.0

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.alertmanager_ports]

    @property
    def node_exporter_url(self) -> str:
        return f"http://127.0.0.1:{self.node_exporter_port}"

    def write_configs(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "rules.yml").write_text(RULES)
        (self.directory / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG)
        targets = ", ".join(f'"127.0.0.1:{port}"' for port in self.alertmanager_ports)
        (self.directory / "prometheus.yml").write_text(
            f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{self.directory / "rules.yml"}"]
alerting:
  alertmanagers:
    - static_configs: [{{targets: [{targets}]}}]
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{self.prometheus_port}"]}}]
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{self.node_exporter_port}"]}}]
"""
        )

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        try:
            proc = subprocess.Popen(
                list(args), stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, start_new_session=True
            )
        finally:
            log.close()
        self.procs.append(proc)
        if self.session_owned:
            SESSION_PIDS.add(proc.pid)

    def start(self, timeout_s: float = 30.0) -> None:
        self.write_configs()
        try:
            self._spawn(
                "node-exporter",
                "prometheus-node-exporter",
                f"--web.listen-address=127.0.0.1:{self.node_exporter_port}",
            )
            for index, port in enumerate(self.alertmanager_ports):
                data = self.directory / f"alertmanager-{index}"
                data.mkdir(exist_ok=True)
                self._spawn(
                    f"alertmanager-{index}",
                    "prometheus-alertmanager",
                    f"--config.file={self.directory / 'alertmanager.yml'}",
                    f"--storage.path={data}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    # empty: no gossip mesh, which would otherwise bind *:9094 on every interface
                    "--cluster.listen-address=",
                    f"--web.external-url=http://127.0.0.1:{port}/",
                )
            self.started_at = time.time()
            self._spawn(
                "prometheus",
                "prometheus",
                f"--config.file={self.directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.directory / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                "--storage.tsdb.retention.time=1d",
                "--rules.alert.resend-delay=1s",
            )
            deadline = time.monotonic() + timeout_s
            self._wait_ready(f"{self.node_exporter_url}/metrics", deadline)
            for url in self.alertmanager_urls:
                self._wait_ready(f"{url}/-/ready", deadline)
            self._wait_ready(f"{self.prometheus_url}/-/ready", deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, url: str, deadline: float) -> None:
        last_error = ""
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                for proc in self.procs:
                    if proc.poll() is not None:
                        raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {self.logs()}")
                try:
                    if client.get(url).status_code == 200:
                        return
                except httpx.HTTPError as exc:
                    last_error = str(exc)
                time.sleep(0.1)
        raise RuntimeError(f"{url} not ready: {last_error}; logs: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
            for path in sorted(self.directory.glob("*.log"))
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM each started process (SIGKILL if it lingers); only these PIDs."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            SESSION_PIDS.discard(proc.pid)
        self.procs.clear()


@pytest.fixture(scope="session")
def prometheus_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusStack]:
    """Prometheus + two Alertmanagers (both fed by it) + node exporter, shared by the whole run."""
    stack = PrometheusStack(tmp_path_factory.mktemp("prometheus-stack"), alertmanagers=2, session_owned=True)
    stack.start()
    yield stack
    stack.stop()

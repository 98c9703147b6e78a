"""A small Prometheus of its own scraping node exporters (Debian packages) on free 127.0.0.1 ports, for the
Infrastructure tests: one exporter can be stopped (an instance that stops reporting) without touching the
session-wide `prometheus_stack`, whose behaviour other tests rely on.

`NodeFleet(directory, exporters=2).start()` writes the config (scrape and evaluation every second), starts
the exporters and Prometheus, waits until each answers; `stop_exporter(i)` ends one exporter; `stop()`
ends exactly the PIDs it started.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.prometheus_stack import free_port
from tests.support.refserver import SESSION_PIDS


class NodeFleet:
    def __init__(self, directory: Path, *, exporters: int = 2) -> None:
        self.directory = Path(directory)
        self.exporter_ports = [free_port() for _ in range(exporters)]
        self.prometheus_port = free_port()
        self.exporters: list[subprocess.Popen[bytes]] = []
        self.prometheus: subprocess.Popen[bytes] | None = None

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def instance(self, index: int) -> str:
        return f"127.0.0.1:{self.exporter_ports[index]}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.directory / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                list(args), stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, start_new_session=True
            )
        SESSION_PIDS.add(proc.pid)
        return proc

    def start(self, timeout_s: float = 30.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        targets = ", ".join(f'"{self.instance(i)}"' for i in range(len(self.exporter_ports)))
        config = self.directory / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"scrape_configs:\n  - job_name: node\n    static_configs: [{{targets: [{targets}]}}]\n"
        )
        try:
            for index, port in enumerate(self.exporter_ports):
                self.exporters.append(
                    self._spawn(
                        f"node-exporter-{index}",
                        "prometheus-node-exporter",
                        f"--web.listen-address=127.0.0.1:{port}",
                    )
                )
            self.prometheus = self._spawn(
                "prometheus",
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                "--storage.tsdb.retention.time=1d",
            )
            deadline = time.monotonic() + timeout_s
            for index in range(len(self.exporter_ports)):
                self._wait_ready(f"http://{self.instance(index)}/metrics", deadline)
            self._wait_ready(f"{self.prometheus_url}/-/ready", deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, url: str, deadline: float) -> None:
        wait_until_ok(url, deadline, where=f"see {self.directory}/*.log")

    def stop_exporter(self, index: int) -> None:
        _end(self.exporters[index])

    def stop_prometheus(self) -> None:
        if self.prometheus is not None:
            _end(self.prometheus)

    def stop(self) -> None:
        for proc in [*self.exporters, *([self.prometheus] if self.prometheus else [])]:
            _end(proc)
        self.exporters.clear()
        self.prometheus = None


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    SESSION_PIDS.discard(proc.pid)


def wait_until_ok(
    url: str, deadline: float, *, process: subprocess.Popen[bytes] | None = None, where: str = ""
) -> None:
    """Until `url` answers 200 (monotonic `deadline`); RuntimeError when `process` exits or time runs out."""
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the process serving {url} exited with {process.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within the time allowed; {where}".rstrip("; "))

"""The Infrastructure pane's refresh for a fleet of 50 hosts over the last hour.

- infra_pane_refresh_ms: one refresh of `services.infra_sources.InfraSources` (every PromQL query of the
  pane at once against a real Prometheus, with the hour's CPU by mode for the one host shown; the answers
  parsed, the snapshot built with the scaling triggers) plus the instance table's model update, for 50
  node-exporter instances with an hour of data scraped every 15 s (one of them stopped 10 minutes ago);
  median of 7 after one warm-up refresh.

The hour is backfilled, not waited for: the node metrics of 50 hosts (CPU by mode on 2 CPUs, memory,
three filesystems, a disk, two network devices, load, `up`) are written as OpenMetrics and turned into a
fresh TSDB by `promtool tsdb create-blocks-from openmetrics`; Prometheus then serves it with no targets.
"""

from __future__ import annotations

import asyncio
import math
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.infra_stack import wait_until_ok
from tests.support.prometheus_stack import free_port

INSTANCES = 50
WINDOW_S = 3600
SCRAPE_S = 15
RUNS = 7
NETWORK = (
    ("node_network_receive_bytes_total", 1e6),
    ("node_network_transmit_bytes_total", 4e5),
    ("node_network_receive_errs_total", 0.01),
    ("node_network_transmit_errs_total", 0.0),
)
MODES = ("user", "system", "iowait", "steal", "nice", "irq", "softirq", "idle")


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def openmetrics(now: float, seed: int = 11) -> str:
    """An hour of node-exporter metrics for INSTANCES hosts, ending at `now`, as OpenMetrics text."""
    rng = random.Random(seed)
    times = [now - WINDOW_S + k * SCRAPE_S for k in range(WINDOW_S // SCRAPE_S + 1)]
    stopped_at = now - 600  # the last host's exporter stopped ten minutes ago
    hosts = [f"host-{n:02d}:9100" for n in range(INSTANCES)]

    def alive(host: str) -> list[float]:
        return [t for t in times if host != hosts[-1] or t <= stopped_at]

    families: dict[str, list[str]] = {}

    def add(name: str, labels: str, values: list[tuple[float, float]]) -> None:
        lines = families.setdefault(name, [])
        lines.extend(f"{name}{{{labels}}} {value:.6g} {at:.3f}" for at, value in values)

    for index, host in enumerate(hosts):
        base = f'instance="{host}",job="node"'
        busy = 0.2 + 0.6 * index / INSTANCES  # a spread of CPU loads, some above 70 %
        share = {"user": 0.6, "system": 0.25, "iowait": 0.05, "steal": 0.02, "nice": 0.02, "irq": 0.02,
                 "softirq": 0.04}  # fmt: skip
        ts = alive(host)
        for cpu in ("0", "1"):
            for mode in MODES:
                rate = 1 - busy if mode == "idle" else busy * share[mode]
                counter, points = rng.uniform(1e4, 1e5), []
                for at in ts:
                    counter += rate * SCRAPE_S * rng.uniform(0.8, 1.2)
                    points.append((at, counter))
                add("node_cpu_seconds_total", f'{base},cpu="{cpu}",mode="{mode}"', points)
        total = 16e9
        used = 0.5 + 0.4 * rng.random()
        add("node_memory_MemTotal_bytes", base, [(t, total) for t in ts])
        add(
            "node_memory_MemAvailable_bytes",
            base,
            [(t, total * (1 - used) * rng.uniform(0.97, 1.03)) for t in ts],
        )
        for mount, fstype, size, fill_per_s in (("/", "ext4", 100e9, 2e4 * index), ("/data", "xfs", 500e9, 0),
                                                ("/run", "tmpfs", 1e9, 0)):  # fmt: skip
            labels = f'{base},device="sd-{mount}",fstype="{fstype}",mountpoint="{mount}"'
            start = size * rng.uniform(0.2, 0.6)
            add("node_filesystem_size_bytes", labels, [(t, size) for t in ts])
            add("node_filesystem_avail_bytes", labels, [(t, start - fill_per_s * (t - times[0])) for t in ts])
        for metric, per_s in (("node_disk_read_bytes_total", 2e6), ("node_disk_written_bytes_total", 5e6)):
            counter, points = 0.0, []
            for at in ts:
                counter += per_s * SCRAPE_S * rng.uniform(0.5, 1.5)
                points.append((at, counter))
            add(metric, f'{base},device="sda"', points)
        for device in ("eth0", "lo"):
            for metric, per_s in NETWORK:
                counter, points = 0.0, []
                for at in ts:
                    counter += per_s * SCRAPE_S * rng.uniform(0.5, 1.5)
                    points.append((at, counter))
                add(metric, f'{base},device="{device}"', points)
        for name, value in (("node_load1", 1.2), ("node_load5", 1.0), ("node_load15", 0.8)):
            add(name, base, [(t, value * rng.uniform(0.8, 1.2)) for t in ts])
        add("up", base, [(t, 1.0) for t in ts])
    out = []
    for name, lines in families.items():
        out.append(f"# TYPE {name} gauge")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


async def _refreshes(prometheus_url: str) -> list[float]:
    import httpx

    from nexus_console.models.infra_table import InfraTableModel
    from nexus_console.services.infra_sources import InfraSources
    from nexus_console.services.polling import PollerRegistry
    from nexus_console.services.profiles import Profile

    model = InfraTableModel()
    timings = []
    async with httpx.AsyncClient(trust_env=False, timeout=30.0) as http:
        sources = InfraSources(
            PollerRegistry(), Profile("bench", "http://127.0.0.1:9", prometheus_url=prometheus_url), http
        )
        sources.focus("host-07:9100")  # the pane asks for the CPU by mode of the host it shows
        for run in range(RUNS + 1):
            started = time.perf_counter()
            snapshot = await sources.refresh()
            model.set_instances(snapshot.instances)
            elapsed = (time.perf_counter() - started) * 1000
            if snapshot.problems or len(snapshot.instances) != INSTANCES:
                raise RuntimeError(f"a bad refresh: {len(snapshot.instances)} hosts, {snapshot.problems}")
            stopped = snapshot.instances[-1]
            if not snapshot.instance("host-07:9100").history.cpu_by_mode:  # type: ignore[union-attr]
                raise RuntimeError("no CPU by mode for the focused host")
            if stopped.reporting or not stopped.state_text().startswith("no data since"):
                raise RuntimeError(f"the stopped host reads {stopped.state_text()!r}")
            if run:
                timings.append(elapsed)
    return timings


def run() -> list[dict]:
    from nexus_console.services.infra_sources import QUERIES

    if not (shutil.which("prometheus") and shutil.which("promtool")):
        return [{"name": "infra_pane_refresh_ms", "value": math.nan, "unit": "ms", "target": "<= 200",
                 "note": "prometheus / promtool not installed"}]  # fmt: skip
    _app()
    with tempfile.TemporaryDirectory(prefix="bench-infra-") as folder:
        root = Path(folder)
        now = time.time()
        source = root / "metrics.om"
        source.write_text(openmetrics(now))
        data = root / "data"
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
            check=True,
            capture_output=True,
        )
        source.unlink()
        config = root / "prometheus.yml"
        config.write_text("global: {scrape_interval: 15s, evaluation_interval: 15s}\n")
        port = free_port()
        with (root / "prometheus.log").open("wb") as log:
            proc = subprocess.Popen(
                ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            wait_until_ok(f"http://127.0.0.1:{port}/-/ready", time.monotonic() + 60, process=proc)
            timings = asyncio.run(_refreshes(f"http://127.0.0.1:{port}"))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    return [
        {
            "name": "infra_pane_refresh_ms",
            "value": round(statistics.median(timings), 1),
            "unit": "ms",
            "target": "<= 200",
            "note": f"50 hosts, last hour at 15 s (promtool backfill), {len(QUERIES) + 1} PromQL queries,"
            f" parse + snapshot + table model; median of {RUNS}"
            f" (min {min(timings):.0f}, max {max(timings):.0f})",
        }
    ]

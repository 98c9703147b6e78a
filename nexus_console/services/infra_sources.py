"""The Infrastructure pane's source: one poller, `infrastructure`, over the profile's Prometheus.

A refresh runs a fixed set of PromQL queries at once (`QUERIES`): range queries over the window for the
charts and the scaling triggers, instant ones for filesystems, load, network errors, `up` and each
instance's last sample time. Everything is aggregated in PromQL (`sum by (instance)`, `rate(...[2m])`), so
an answer has a few series per instance and 50 instances stay cheap; the client parses large answers off the
GUI thread, and `domain.infrastructure.build_snapshot` turns them into the pane's picture. A query that
fails is named in the snapshot's problems and the rest is still shown; when every query fails the refresh
fails (the poller reports the sentence and the pane shows the last picture stale).

A profile without `prometheus_url` gets no poller: `InfraSources.unavailable` says why and how to add it.
"""

from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.infrastructure import CHART_MODES, InfraAnswers, InfraSnapshot, build_snapshot
from nexus_console.domain.scaling_triggers import SCALING_TRIGGERS, TriggerRule
from nexus_console.services.http import describe_error
from nexus_console.services.polling import Poller, PollerRegistry
from nexus_console.services.profiles import Profile
from nexus_console.services.prometheus import PrometheusClient

INFRASTRUCTURE = "infrastructure"
_REAL_FS = 'fstype!~"tmpfs|devtmpfs|overlay|squashfs|ramfs|nsfs|fuse.lxcfs|autofs",mountpoint!~"/run.*"'
_CHARTED = "|".join(CHART_MODES)
_AVAIL = f"node_filesystem_avail_bytes{{{_REAL_FS}}}"
_SIZE = f"node_filesystem_size_bytes{{{_REAL_FS}}}"

# CPU by mode over the window for the host the pane shows (`InfraSources.focus`): the chart's modes, and
# nice, irq, softirq and guest folded into "other" (idle is the rest). For one host only: the per-mode
# series of 50 hosts would be most of a refresh's cost.
_ONE_HOST = 'instance="{instance}",'
CPU_BY_MODE = (
    "100 * avg by (instance, mode) (rate(node_cpu_seconds_total{{"
    + _ONE_HOST
    + f'mode=~"{_CHARTED}"}}}}[2m])) or label_replace(100 * sum by (instance) (avg by (instance, mode) ('
    + "rate(node_cpu_seconds_total{{"
    + _ONE_HOST
    + f'mode!~"{_CHARTED}|idle"}}}}[2m]))), "mode", "other", "instance", ".*")'
)

# name (a field of InfraAnswers) -> (range query?, PromQL)
QUERIES: dict[str, tuple[bool, str]] = {
    # % of CPU time not idle: the sum of the other modes (not 100 - idle, which a young series' low rate
    # would show as a busy host)
    "cpu_busy_pct": (
        True,
        '100 * sum by (instance) (avg by (instance, mode) (rate(node_cpu_seconds_total{mode!="idle"}[2m])))',
    ),
    "memory_used_pct": (
        True,
        "100 * (1 - sum by (instance) (node_memory_MemAvailable_bytes)"
        " / sum by (instance) (node_memory_MemTotal_bytes))",
    ),
    "disk_read_bps": (True, "sum by (instance) (rate(node_disk_read_bytes_total[2m]))"),
    "disk_write_bps": (True, "sum by (instance) (rate(node_disk_written_bytes_total[2m]))"),
    "net_rx_bps": (True, 'sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[2m]))'),
    "net_tx_bps": (True, 'sum by (instance) (rate(node_network_transmit_bytes_total{device!="lo"}[2m]))'),
    # the services' request metrics (the reference server's names); absent on a bare host
    "latency_p95_s": (
        True,
        "histogram_quantile(0.95, sum by (instance, le) (rate(http_request_duration_seconds_bucket[2m])))",
    ),
    "error_ratio": (
        True,
        'sum by (instance) (rate(http_requests_total{status=~"5.."}[2m]))'
        " / sum by (instance) (rate(http_requests_total[2m]))",
    ),
    "fs_used_pct": (False, f"100 * (1 - {_AVAIL} / {_SIZE})"),
    # seconds until the available bytes reach 0 on the last hour's linear trend; only filling ones
    "fs_fill_s": (
        False,
        f"(predict_linear({_AVAIL}[1h], 0) / (predict_linear({_AVAIL}[1h], 0)"
        f" - predict_linear({_AVAIL}[1h], 3600))) * 3600 > 0",
    ),
    "load": (False, '{__name__=~"node_load1|node_load5|node_load15"}'),
    "net_errors_per_s": (
        False,
        'sum by (instance) (rate(node_network_receive_errs_total{device!="lo"}[2m])'
        ' + rate(node_network_transmit_errs_total{device!="lo"}[2m]))',
    ),
    # the time of each host's newest sample, at every step: the last one is when a stopped host last reported
    "last_sample_at": (True, "max by (instance) (timestamp(node_load1))"),
    "cpu_mode_now": (False, "100 * avg by (instance, mode) (rate(node_cpu_seconds_total[2m]))"),
    "up": (False, 'max by (instance) (up{job!="prometheus"})'),
}


@dataclass(frozen=True, slots=True)
class InfraSettings:
    interval_s: float = 15.0
    timeout_s: float = 10.0
    retry_max_s: float = 15.0
    window_s: float = 3600.0
    # 61 points an hour: charts and trigger conditions to the minute (30 s doubles the CPU query for 50 hosts)
    step_s: float = 60.0
    triggers: tuple[TriggerRule, ...] = field(default=SCALING_TRIGGERS)


def no_prometheus_text(profile: Profile) -> str:
    return (
        f"The profile “{profile.name}” has no Prometheus, so there is nothing to show here. Add "
        f'prometheus_url = "http://prometheus.example:9090" to [profiles.{profile.name}] in profiles.toml '
        "and sign in again."
    )


class InfraSources:
    """The `infrastructure` poller of a session (None, with `unavailable` saying why, without Prometheus)."""

    def __init__(
        self,
        registry: PollerRegistry,
        profile: Profile,
        http: Any,
        executor: Executor | None = None,
        settings: InfraSettings | None = None,
    ) -> None:
        self.settings = settings = settings or InfraSettings()
        self.prometheus_url = profile.prometheus_url
        self.unavailable: str | None = None
        self.poller: Poller[InfraSnapshot] | None = None
        self.client: PrometheusClient | None = None
        self.focused: str | None = None  # the instance whose CPU by mode is fetched over the window
        if not profile.prometheus_url:
            self.unavailable = no_prometheus_text(profile)
            return
        self.client = PrometheusClient(profile.prometheus_url, http, executor=executor)
        self.poller = registry.add(
            Poller(
                INFRASTRUCTURE,
                self.refresh,
                settings.interval_s,
                timeout_s=settings.timeout_s,
                backoff=Backoff(1.0, settings.retry_max_s),
                source_time=lambda snapshot: snapshot.evaluated_at,
            )
        )

    def focus(self, instance: str | None) -> None:
        """Fetch the window's CPU by mode for `instance` (the one the pane shows) from now on; a change
        refreshes at once, so its chart fills within a moment."""
        if instance != self.focused:
            self.focused = instance
            if self.poller is not None:
                self.poller.poke()

    async def refresh(self, now: float | None = None) -> InfraSnapshot:
        """Every query at once, at one evaluation time (now, in whole seconds), into a snapshot."""
        assert self.client is not None
        settings, client = self.settings, self.client
        step = settings.step_s
        at = float(math.floor(time.time() if now is None else now))  # whole seconds: a test can ask the same
        start = at - settings.window_s

        async def one(promql: str, ranged: bool) -> Any:
            if ranged:
                return await client.query_range(promql, start, at, step)
            return await client.query(promql, at)

        queries = dict(QUERIES)
        if self.focused:
            queries["cpu_by_mode"] = (True, CPU_BY_MODE.format(instance=_quoted(self.focused)))
        names = list(queries)
        answers = await asyncio.gather(
            *(one(q, r) for r, q in (queries[n] for n in names)), return_exceptions=True
        )
        failed = [(name, a) for name, a in zip(names, answers, strict=True) if isinstance(a, BaseException)]
        for _name, error in failed:
            if isinstance(error, asyncio.CancelledError):
                raise error
        if len(failed) == len(names):
            raise failed[0][1]
        good = {name: a for name, a in zip(names, answers, strict=True) if not isinstance(a, BaseException)}
        return build_snapshot(
            InfraAnswers(**good),
            prometheus_url=client.base_url,
            evaluated_at=at,
            window_s=settings.window_s,
            step_s=step,
            rules=settings.triggers,
            problems=[describe_error(error, timeout_s=settings.timeout_s) for _name, error in failed],
        )


def _quoted(value: str) -> str:
    """A label value inside a PromQL double-quoted string."""
    return value.replace("\\", "\\\\").replace('"', '\\"')

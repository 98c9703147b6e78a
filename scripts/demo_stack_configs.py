"""The demo stack's monitoring configuration (scripts/demo_stack.py starts the processes): Prometheus with
the seed's alert rules scraping the reference server's 44 services and node exporter, and an Alertmanager
that only the console reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCRAPE_INTERVAL = "5s"

# The seed's alerting thresholds (seed 000: Nexus alerting on degradation), evaluated by Prometheus on what
# it scrapes from the reference server's services, plus one on the host from node exporter. A rule with the
# same name and subject as a Nexus server rule is the same problem: the console shows one row for both
# ("nexus + alertmanager").
RULES = """\
groups:
  - name: nexus-demo
    interval: 5s
    rules:
      - alert: ReplicationLagHigh
        expr: max by (database) (db_replication_lag_seconds) > 10
        for: 0s
        labels: {severity: high, role: replica, team: data}
        annotations:
          summary: "{{ $labels.database }} replica {{ $value | printf \\"%.1f\\" }} s behind (over 10 s)"
          runbook_url: "runbook://failover"
      - alert: ApiErrorRateHigh
        expr: >-
          sum by (service, namespace) (rate(http_requests_total{status=~"5.."}[2m]))
          / sum by (service, namespace) (rate(http_requests_total[2m])) > 0.05
        for: 2m
        labels: {severity: critical, team: ops}
        annotations:
          summary: "{{ $labels.service }}: 5xx rate {{ $value | humanizePercentage }} (over 5 % for 2 min)"
          runbook_url: "runbook://rollback"
      - alert: ApiLatencyP95High
        expr: >-
          histogram_quantile(0.95, sum by (service, namespace, le)
          (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
        for: 5m
        labels: {severity: high, team: ops}
        annotations:
          summary: "{{ $labels.service }}: p95 {{ $value | humanizeDuration }} (over 500 ms for 5 min)"
          runbook_url: "runbook://performance"
      - alert: ServiceDown
        expr: service_up == 0
        for: 30s
        labels: {severity: critical, team: ops}
        annotations:
          summary: "{{ $labels.service }} does not answer its health checks"
          runbook_url: "runbook://failover"
      - alert: HostLoadHigh
        expr: >-
          node_load5 / on () count(node_cpu_seconds_total{mode="idle"}) > 2
        for: 5m
        labels: {severity: medium, service: demo-host, team: ops}
        annotations:
          summary: "the demo host's 5-minute load is {{ $value | printf \\"%.1f\\" }} per core"
          runbook_url: "runbook://performance"
"""

ALERTMANAGER_CONFIG = """\
route:
  receiver: console-only
  group_by: [alertname]
  group_wait: 0s
  group_interval: 5s
  repeat_interval: 4h
receivers:
  - name: console-only  # the console reads Alertmanager's API; nothing is sent anywhere
"""


def service_targets(refserver_port: int) -> list[dict[str, Any]]:
    """One scrape target per simulated service: its metrics at /svc/<name>/metrics on the reference server."""
    from nexus_refserver.telemetry.catalog import CATALOG

    targets = []
    for spec in CATALOG:
        labels = {"__metrics_path__": f"/svc/{spec.name}/metrics", "service": spec.name}
        labels["namespace"] = spec.namespace
        if spec.database:
            labels["database"] = spec.database
        targets.append({"targets": [f"127.0.0.1:{refserver_port}"], "labels": labels})
    return targets


def write_configs(directory: Path, state: dict[str, Any]) -> None:
    ports = state["ports"]
    prom = directory / "prometheus"
    (prom / "targets").mkdir(parents=True, exist_ok=True)
    (directory / "alertmanager").mkdir(parents=True, exist_ok=True)
    (prom / "rules.yml").write_text(RULES, encoding="utf-8")
    targets = prom / "targets" / "nexus-services.json"
    tmp = targets.with_suffix(".tmp")  # file_sd reads a file only when it is complete
    tmp.write_text(json.dumps(service_targets(ports["refserver"]), indent=1), encoding="utf-8")
    tmp.replace(targets)
    (prom / "prometheus.yml").write_text(
        f"""\
# written by scripts/demo_stack.py
global:
  scrape_interval: {SCRAPE_INTERVAL}
  evaluation_interval: 5s
rule_files: ["{prom / "rules.yml"}"]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{ports["alertmanager"]}"]}}]
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{ports["prometheus"]}"]}}]
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{ports["node-exporter"]}"], labels: {{service: demo-host}}}}]
  - job_name: nexus-services  # the reference server's 44 services; its port is in the target file
    file_sd_configs: [{{files: ["{targets}"]}}]
""",
        encoding="utf-8",
    )
    (directory / "alertmanager" / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG, encoding="utf-8")


def monitoring_commands(
    directory: Path, ports: dict[str, Any], binaries: dict[str, str]
) -> dict[str, list[str]]:
    prom, am = directory / "prometheus", directory / "alertmanager"
    return {
        "node-exporter": [
            binaries["node-exporter"],
            f"--web.listen-address=127.0.0.1:{ports['node-exporter']}",
            # the path names this stack's process (`down` stops only PIDs whose command line says so)
            f"--collector.textfile.directory={directory / 'node-exporter'}",
        ],
        "alertmanager": [
            binaries["alertmanager"],
            f"--config.file={am / 'alertmanager.yml'}",
            f"--storage.path={am / 'data'}",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
            "--cluster.listen-address=",  # no gossip mesh (it would bind *:9094)
            f"--web.external-url=http://127.0.0.1:{ports['alertmanager']}/",
        ],
        "prometheus": [
            binaries["prometheus"],
            f"--config.file={prom / 'prometheus.yml'}",
            f"--storage.tsdb.path={prom / 'data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
            "--storage.tsdb.retention.time=2d",
            "--rules.alert.resend-delay=1s",  # Alertmanager hears of a firing alert within a second
        ],
    }

"""One label-to-alert mapping: Alertmanager's and Prometheus's views of one alert agree field by field."""

from __future__ import annotations

from nexus_console.domain.alert_labels import alert_from_labels
from nexus_console.domain.alerts import AlertState, Severity, label_fingerprint
from nexus_console.services.alertmanager import alert_from_api
from nexus_console.services.prometheus import AlertingRule, alert_from_rule

LABELS = {
    "alertname": "ApiErrorRateHigh",
    "severity": "page",
    "job": "orders",
    "namespace": "shop",
    "code": 500,
}
ANNOTATIONS = {"summary": "5xx above 5 %", "description": "orders answers 5xx", "runbook": "runbook://errors"}
MAPPED = ("name", "severity", "service", "namespace", "labels", "summary", "description", "runbook")


def test_alertmanager_and_prometheus_map_labels_and_annotations_the_same_way() -> None:
    fingerprint = label_fingerprint({k: str(v) for k, v in LABELS.items()})
    from_alertmanager = alert_from_api(
        {
            "fingerprint": fingerprint,
            "labels": LABELS,
            "annotations": ANNOTATIONS,
            "status": {"state": "active"},
            "startsAt": "2026-01-05T12:00:00Z",
        },
        "am1",
        {},
    )
    rule = AlertingRule("g", "ApiErrorRateHigh", "up == 0", 300.0, {}, {}, "ok", ())
    from_prometheus = alert_from_rule(
        rule,
        {
            "labels": LABELS,
            "annotations": ANNOTATIONS,
            "state": "pending",
            "activeAt": "2026-01-05T12:00:00Z",
        },
    )
    assert from_prometheus.fingerprint == from_alertmanager.fingerprint  # one identity across sources
    for field in MAPPED:
        assert getattr(from_prometheus, field) == getattr(from_alertmanager, field), field
    assert from_alertmanager.name == "ApiErrorRateHigh" and from_alertmanager.severity is Severity.CRITICAL
    assert from_alertmanager.service == "orders"  # no `service` label: the job
    assert from_alertmanager.labels["code"] == "500"  # labels are strings
    assert from_alertmanager.runbook == "runbook://errors"
    assert (from_alertmanager.source, from_alertmanager.origins) == ("alertmanager", ("am1",))
    assert (from_prometheus.state, from_prometheus.pending_for_s) == (AlertState.PENDING, 300.0)


def test_the_mapping_prefers_service_and_runbook_url_and_falls_back_to_the_rule_name() -> None:
    alert = alert_from_labels(
        {"service": "billing", "job": "api"},
        {"runbook_url": "https://wiki/rb", "runbook": "runbook://other"},
        source="prometheus",
        state=AlertState.FIRING,
        default_name="FromRule",
    )
    assert (alert.name, alert.service, alert.runbook) == ("FromRule", "billing", "https://wiki/rb")
    assert alert.severity is Severity.MEDIUM and alert.summary == "" and alert.namespace == ""
    assert alert.fingerprint == label_fingerprint({"service": "billing", "job": "api"})

"""Fixtures for the alert queue tests: a session-wide real Prometheus stack and alert builders."""

from __future__ import annotations

from typing import Any

from nexus_console.domain.alerts import Alert, AlertState, Severity, label_fingerprint


def make_alert(name: str = "HighErrorRate", **overrides: Any) -> Alert:
    """An alert with plausible defaults; the fingerprint follows the labels unless given."""
    labels = dict(overrides.pop("labels", {"alertname": name, "service": overrides.get("service", "orders")}))
    fields: dict[str, Any] = {
        "fingerprint": label_fingerprint(labels),
        "source": "alertmanager",
        "name": name,
        "severity": Severity.HIGH,
        "state": AlertState.FIRING,
        "service": "orders",
        "labels": labels,
        "summary": f"{name} on orders",
        "starts_at": 1_000.0,
    }
    fields.update(overrides)
    return Alert(**fields)

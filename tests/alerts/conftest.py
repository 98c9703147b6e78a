"""Fixtures for the alert queue tests: a session-wide real Prometheus stack and alert builders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nexus_console.domain.alerts import Alert, AlertState, Severity, label_fingerprint
from tests.support.prometheus_stack import PrometheusStack


@pytest.fixture(scope="session")
def prometheus_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusStack]:
    """Prometheus + two Alertmanagers (both fed by it) + node exporter, shared by the session."""
    stack = PrometheusStack(tmp_path_factory.mktemp("prometheus-stack"), alertmanagers=2, session_owned=True)
    stack.start()
    yield stack
    stack.stop()


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

"""The one mapping from a Prometheus label set and its annotations to an `Alert`'s fields.

Alertmanager (`/api/v2/alerts`) and Prometheus (`/api/v1/rules`) both describe an alert as labels plus
annotations; both sources build their alerts here, so `alertname`, `severity`, `service` (else `job`),
`namespace`, `summary`, `description` and the runbook link mean the same thing whichever reported it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nexus_console.domain.alerts import Alert, AlertState, Severity, label_fingerprint


def string_labels(raw: Mapping[Any, Any] | None) -> dict[str, str]:
    """A label set as strings (JSON may carry numbers)."""
    return {str(name): str(value) for name, value in (raw or {}).items()}


def alert_from_labels(
    labels: Mapping[Any, Any] | None,
    annotations: Mapping[str, Any] | None,
    *,
    source: str,
    state: AlertState,
    fingerprint: str | None = None,
    default_name: str = "",
    **fields: Any,
) -> Alert:
    """An alert of `source` from its labels and annotations; `fingerprint` defaults to the label set's
    (the one Prometheus and Alertmanager compute), `default_name` is used without an `alertname` label.
    `fields` are the source's own (times, silences, the rule's `for`, the value)."""
    labels = string_labels(labels)
    annotations = annotations or {}
    return Alert(
        fingerprint=fingerprint if fingerprint is not None else label_fingerprint(labels),
        source=source,
        name=labels.get("alertname", default_name),
        severity=Severity.parse(labels.get("severity")),
        state=state,
        service=labels.get("service") or labels.get("job", ""),
        namespace=labels.get("namespace", ""),
        labels=labels,
        summary=str(annotations.get("summary", "")),
        description=str(annotations.get("description", "")),
        runbook=str(annotations.get("runbook_url") or annotations.get("runbook", "")),
        **fields,
    )

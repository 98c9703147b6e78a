"""What the alert engine reports, and to whom."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class AlertObservation:
    fingerprint: str  # stable per rule and labels: the same alert across pending, firing and resolved
    rule: str
    severity: str  # critical | high | medium | low
    state: str  # pending | firing | resolved
    service: str
    namespace: str
    labels: dict[str, str] = field(hash=False)
    summary: str
    description: str
    runbook_url: str
    value: float
    threshold: float
    at: datetime  # wall-clock time (UTC) of the evaluation that saw the change


class AlertSink(Protocol):
    def observe(self, obs: AlertObservation) -> None: ...

"""The incident the domain tests start from: #42 "Checkout errors", fixing since 14:00 UTC on 6 December 2026;
each test changes what it needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incidents import Incident, IncidentStatus, Responder


def at(hour: int, minute: int, second: float = 0) -> float:
    return datetime(2026, 12, 6, hour, minute, tzinfo=UTC).timestamp() + second


def rfc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def make_incident(**changes: Any) -> Incident:
    incident = Incident(
        id=42,
        title="Checkout errors",
        severity=Severity.HIGH,
        status=IncidentStatus.FIXING,
        commander="ana@example.com",
        responders=(Responder("bo@example.com", "ops"),),
        services=("orders",),
        alert_ids=(7,),
        summary="",
        impact_started_at=at(14, 0),
        detected_at=at(14, 4),
        acknowledged_at=at(14, 6),
        mitigated_at=None,
        resolved_at=None,
        closed_at=None,
        created_by="ana@example.com",
        created_at=at(14, 5),
        updated_at=at(14, 6),
        version=3,
    )
    return replace(incident, **changes)

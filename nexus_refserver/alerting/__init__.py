"""Server-side alerting over the simulated estate: rules, the engine, and the sink it reports to."""

from __future__ import annotations

from nexus_refserver.alerting.engine import AlertEngine, fingerprint
from nexus_refserver.alerting.observation import AlertObservation, AlertSink
from nexus_refserver.alerting.rules import RULES, RULES_BY_NAME, Rule

__all__ = ["RULES", "RULES_BY_NAME", "AlertEngine", "AlertObservation", "AlertSink", "Rule", "fingerprint"]

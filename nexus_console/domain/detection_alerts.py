"""Detections as alerts in the alert queue (source `security`): one firing alert per detection, held for
HOLD_S after it and then let go, with its evidence written out in the description so the alert's detail
shows what made it. The evidence itself stays with the detection for Investigate."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from nexus_console.domain.alerts import Alert, AlertState
from nexus_console.domain.detectors import Detection

SECURITY_SOURCE = "security"
HOLD_S = 3600.0
MAX_HELD = 500  # detections held at once (a storm of them keeps the newest)
EVIDENCE_LINES = 12
_FIELDS = ("result", "user", "ip", "country", "client", "rule", "path", "status", "reason", "user_agent")


def evidence_line(event: Mapping[str, Any]) -> str:
    """'10:41:02 failure anna@x.test from 203.0.113.7 (NO)'-like: the time, then the fields it has."""
    at = datetime.fromtimestamp(float(event["at"]), UTC).strftime("%H:%M:%S")
    parts = [str(event[name]) for name in _FIELDS if event.get(name) not in (None, "")]
    return f"{at} UTC  " + " · ".join(parts)


def detection_fingerprint(detection: Detection) -> str:
    return f"{detection.rule.name}:{detection.key}:{int(detection.at)}"


def detection_alert(detection: Detection) -> Alert:
    lines = [evidence_line(event) for event in detection.evidence[-EVIDENCE_LINES:]]
    more = len(detection.evidence) - len(lines)
    description = "Evidence:\n" + "\n".join(lines) + (f"\n… and {more} earlier events" if more > 0 else "")
    rule = detection.rule
    return Alert(
        fingerprint=detection_fingerprint(detection),
        source=SECURITY_SOURCE,
        name=rule.name,
        severity=rule.severity,
        state=AlertState.FIRING,
        service="security",
        labels={"rule": rule.name, "kind": rule.kind, "events": rule.events, rule.key: detection.key},
        summary=detection.summary,
        description=description,
        runbook=rule.runbook,
        starts_at=detection.at,
        updated_at=detection.at,
    )


class HeldDetections:
    """The detections of the last HOLD_S, newest last, at most MAX_HELD: what the queue shows."""

    def __init__(self) -> None:
        self._held: OrderedDict[str, Detection] = OrderedDict()

    def add(self, detections: Iterable[Detection]) -> None:
        for detection in detections:
            self._held[detection_fingerprint(detection)] = detection
            self._held.move_to_end(detection_fingerprint(detection))
        while len(self._held) > MAX_HELD:
            self._held.popitem(last=False)

    def current(self, now: float) -> list[Detection]:
        """The detections still held at `now` (older ones are let go)."""
        for fingerprint in [f for f, d in self._held.items() if d.at < now - HOLD_S]:
            del self._held[fingerprint]
        return list(self._held.values())

    def get(self, fingerprint: str) -> Detection | None:
        return self._held.get(fingerprint)

"""What an analyst does from the Security pane: pivot from an address to the accounts it tried and from an
account to where it signed in and what admins did to it (`/security/ip/{ip}`, `/security/user/{user}`),
and investigate a detection: open an incident from it, or add to one, with each piece of evidence as a
timeline event at the time it happened (queued through the incident outbox, so nothing is lost offline).
"""

from __future__ import annotations

from urllib.parse import quote

from nexus_console.domain.detection_alerts import evidence_line
from nexus_console.domain.detectors import Detection
from nexus_console.domain.incident_flow import IncidentDraft
from nexus_console.domain.incidents import Incident
from nexus_console.domain.quick_entry import QuickEntry
from nexus_console.domain.security_pivots import Pivot, ip_pivot, user_pivot
from nexus_console.services.api_client import NexusClient
from nexus_console.services.incident_runtime import IncidentRuntime


class SecurityActions:
    def __init__(self, api: NexusClient, incidents: IncidentRuntime | None) -> None:
        self.api = api
        self.incidents = incidents

    async def pivot_ip(self, ip: str) -> Pivot:
        body, _headers = await self.api.get_json(f"/security/ip/{quote(ip, safe='')}")
        return ip_pivot(body)

    async def pivot_user(self, user: str) -> Pivot:
        body, _headers = await self.api.get_json(f"/security/user/{quote(user, safe='')}")
        return user_pivot(body)

    async def investigate(
        self, detection: Detection, incident: Incident | None = None
    ) -> tuple[Incident, str]:
        """Open an incident from `detection` (or add to `incident`) with its evidence on the timeline;
        returns the incident and a sentence saying what was done."""
        if self.incidents is None:
            raise PermissionError("Investigating needs the analyst or admin role (incidents).")
        rule = detection.rule
        opened = incident is None
        if incident is None:
            draft = IncidentDraft(
                title=f"{rule.name}: {rule.key} {detection.key}",
                severity=rule.severity,
                summary=detection.summary,
            )
            incident = await self.incidents.declare(draft)
        for event in detection.evidence:
            text = f"Evidence ({rule.name}): {evidence_line(event)}"
            await self.incidents.add_entry(incident, QuickEntry(float(event["at"]), text), kind="custom")
        done = "Opened" if opened else "Added to"
        count = len(detection.evidence)
        return incident, f"{done} incident #{incident.id} with {count} evidence events from {rule.name}."

"""The Compliance pane's sources and what it does: the data-subject requests, consent and retention checks
of the API (a poller each, like every source), the actions on a request (extend once, complete, reject:
audited writes with an idempotency key and the request's version), the PCI scan of the profile's
replicas, and evidence files (the DSAR register, the PCI scan, the access review, the admin audit of a
period) written with their hash chain on the session's executor.

The scan, the replicas and the evidence writers (SQLAlchemy among them, a tenth of a second to import)
are imported when first used, not when the session starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_console.domain.compliance import DsarRegister, consent_table, moderation_table, retention_checks
from nexus_console.domain.dsar import DataSubjectRequest
from nexus_console.services.api_client import NexusClient
from nexus_console.services.audit_trail import AuditTrail
from nexus_console.services.keychain import Keychain
from nexus_console.services.polling import Poller, PollerRegistry, api_document_poller
from nexus_console.services.profiles import Profile
from nexus_console.services.telemetry import fetch_document

if TYPE_CHECKING:
    from nexus_console.services.evidence_export import Evidence, EvidenceWritten
    from nexus_console.services.pci_scan import PciScanReport
    from nexus_console.services.replicas import ReplicaSet

DSAR_ACTIONS = ("extend", "complete", "reject")


@dataclass(frozen=True, slots=True)
class ComplianceSettings:
    interval_s: float = 60.0
    timeout_s: float = 15.0
    retry_max_s: float = 30.0


def _today() -> date:
    return datetime.now(UTC).date()


class ComplianceSources:
    def __init__(
        self,
        registry: PollerRegistry,
        api: NexusClient,
        profile: Profile,
        keychain: Keychain | None,
        executor: concurrent.futures.Executor | None,
        *,
        api_host: str,
        settings: ComplianceSettings | None = None,
        replicas: ReplicaSet | None = None,
    ) -> None:
        self.settings = settings = settings or ComplianceSettings()
        self.api, self.profile, self.keychain, self.executor = api, profile, keychain, executor
        self._replicas = replicas
        validators = {
            "dsar": lambda body: DsarRegister.from_json(body, _today()),
            "consents": consent_table,
            "retention": retention_checks,
            "moderation": moderation_table,
        }
        self.documents: dict[str, Poller[dict[str, Any]]] = {}
        for name, validate in validators.items():
            path = f"/compliance/{name}"
            self.documents[name] = registry.add(
                api_document_poller(
                    f"compliance_{name}",
                    lambda path=path, validate=validate: fetch_document(api, path, validate),
                    interval_s=settings.interval_s,
                    timeout_s=settings.timeout_s,
                    retry_max_s=settings.retry_max_s,
                    host=api_host,
                )
            )
        self.last_scan: PciScanReport | None = None

    async def act_on_request(self, request: DataSubjectRequest, action: str, reason: str) -> str:
        """Extend, complete or reject a request; returns a sentence (the API's 4xx sentences raise)."""
        if action not in DSAR_ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        await self.api.write_json(
            "PATCH",
            f"/compliance/dsar/{request.id}",
            {"action": action, "reason": reason},
            if_match=f'"v{request.version}"',
            idempotency_key=str(uuid.uuid4()),
        )
        self.documents["dsar"].poke()
        done = {"extend": "Extended", "complete": "Completed", "reject": "Rejected"}[action]
        return f"{done} request #{request.id} ({request.kind} for {request.subject})."

    async def scan_for_card_numbers(self) -> PciScanReport:
        """The PCI check over every replica of the profile (the admin runtime's, when there is one)."""
        from nexus_console.services.pci_scan import scan_replicas
        from nexus_console.services.replicas import replicas_from_profile

        replicas = self._replicas
        owned = replicas is None
        if replicas is None:
            replicas = await replicas_from_profile(self.profile, self.keychain)
        try:
            self.last_scan = await scan_replicas(replicas)
        finally:
            if owned:
                await replicas.aclose()
        return self.last_scan

    async def export(
        self, kind: str, path: Path, *, date_from: str = "", date_to: str = ""
    ) -> EvidenceWritten:
        """Write one kind of evidence (`dsar-register`, `pci-scan`, `admin-audit`) as hash-chained CSV."""
        from nexus_console.services.evidence_export import write_evidence_csv

        evidence = await self._evidence(kind, date_from, date_to)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, write_evidence_csv, evidence, path)

    async def _evidence(self, kind: str, date_from: str, date_to: str) -> Evidence:
        from nexus_console.services.evidence_export import (
            access_review_evidence,
            admin_audit_evidence,
            dsar_register_evidence,
            pci_scan_evidence,
        )
        from nexus_console.services.replicas import replicas_from_profile

        if kind == "pci-scan":
            report = self.last_scan or await self.scan_for_card_numbers()
            return pci_scan_evidence(report)
        if kind == "admin-audit":
            return await admin_audit_evidence(AuditTrail(self.api), date_from, date_to)
        if kind == "access-review":
            replicas = self._replicas or await replicas_from_profile(self.profile, self.keychain)
            try:
                return await access_review_evidence(replicas)
            finally:
                if self._replicas is None:
                    await replicas.aclose()
        body, _headers = await self.api.get_json("/compliance/dsar")
        return dsar_register_evidence(DsarRegister.from_json(body, _today()))

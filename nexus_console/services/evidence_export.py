"""Compliance evidence files: the admin audit of a period, the PCI scan result and the register of
data-subject requests as hash-chained CSV
(`domain.evidence_chain`) and PDF, and the check of a CSV an auditor was given.

Files are written under a temporary name and renamed into place, so a failure never leaves half a file
under the final name. The PDF lists the same entries with the chain's head hash on its first page; the
CSV is what verifies.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from nexus_console.domain.compliance import DsarRegister
from nexus_console.domain.evidence_chain import Verification, chained_rows, verify_rows
from nexus_console.services.audit_trail import CSV_FIELDS, AuditTrail
from nexus_console.services.pci_scan import PciScanReport
from nexus_console.services.replicas import ReplicaSet

KINDS = ("admin-audit", "access-review", "pci-scan", "dsar-register")
TITLES = {
    "admin-audit": "Admin audit",
    "access-review": "Access review: platform roles held by accounts",
    "pci-scan": "PCI-DSS card-number scan",
    "dsar-register": "Data-subject request register",
}
PdfRenderer = Callable[[str, Path], object]  # (html, path): Qt's layout, handed in by whoever may import it


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str
    date_from: str
    date_to: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    summary: str  # one line for the cover: what the period or scan found


@dataclass(frozen=True, slots=True)
class EvidenceWritten:
    path: Path
    entries: int
    head: str

    def sentence(self) -> str:
        return f"Wrote {self.entries:,} entries to {self.path}; chain head {self.head}."


async def admin_audit_evidence(trail: AuditTrail, date_from: str, date_to: str) -> Evidence:
    """Every audit entry from `date_from` (inclusive) to `date_to` (exclusive), both YYYY-MM-DD, UTC."""
    filters = {"since": f"{date_from}T00:00:00Z", "until": f"{date_to}T00:00:00Z"}
    entries = await trail.all_entries(filters)
    entries.sort(key=lambda entry: (str(entry.get("at")), str(entry.get("id"))))
    rows = [tuple(_audit_cell(entry, name) for name in CSV_FIELDS) for entry in entries]
    actors = len({entry.get("actor") for entry in entries})
    return Evidence(
        "admin-audit", date_from, date_to, CSV_FIELDS, rows, f"{len(rows):,} admin actions by {actors} people"
    )


def _audit_cell(entry: Mapping[str, Any], name: str) -> Any:
    value = entry.get(name)
    return json.dumps(value, sort_keys=True) if name in ("before", "after") and value is not None else value


def pci_scan_evidence(report: PciScanReport) -> Evidence:
    """The scan's findings (masked), one entry each; a clean scan is one entry that says so."""
    day = datetime.fromtimestamp(report.started_at, UTC).date().isoformat()
    columns = ("database", "table", "column", "row", "card_number_masked", "brand")
    rows = [(f.database, f.table, f.column, f.row, f.masked, f.brand) for f in report.findings]
    verdict = (
        "passed: no card numbers"
        if report.passed
        else f"{len(report.findings) + report.more_findings} card numbers found"
    )
    if report.errors:
        verdict += f"; not scanned: {'; '.join(report.errors)}"
    summary = f"{verdict}; {len(report.columns)} text columns in {', '.join(report.databases)}"
    return Evidence("pci-scan", day, day, columns, rows, summary)


async def access_review_evidence(replicas: ReplicaSet) -> Evidence:
    """Every platform role an account holds (Workstation, Marketplace, Nexus; `users.platform_access` on the
    users replica), one entry each, for a reviewer to confirm or revoke."""

    def read(conn: Connection) -> list[tuple[Any, ...]]:
        rows = conn.execute(
            text(
                "SELECT id, email, status, platform_access FROM users"
                " WHERE platform_access IS NOT NULL ORDER BY id"
            )
        )
        held = []
        for user_id, email, status, access in rows:
            for platform, role in sorted(json.loads(access or "{}").items()):
                held.append((user_id, email, status, platform, role))
        return held

    result = await replicas.run("users", read)
    day = datetime.now(UTC).date().isoformat()
    accounts = len({row[0] for row in result.value})
    summary = f"{len(result.value)} platform roles held by {accounts} accounts"
    return Evidence(
        "access-review", day, day, ("user_id", "email", "status", "platform", "role"), result.value, summary
    )


def dsar_register_evidence(register: DsarRegister) -> Evidence:
    """Every data-subject request with its clock on the day of the export, overdue ones first."""
    table = register.table()
    day = register.today.isoformat()
    return Evidence("dsar-register", day, day, table.columns, list(table.rows), register.summary())


def write_evidence_csv(evidence: Evidence, path: Path) -> EvidenceWritten:
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    rows = chained_rows(
        evidence.kind, evidence.date_from, evidence.date_to, generated, evidence.columns, evidence.rows
    )
    last: list[str] = []

    def write(handle: Any) -> None:
        nonlocal last
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(row)
            last = row

    _write_atomically(path, write, newline="")
    return EvidenceWritten(path, int(last[1]), last[2])


def write_evidence_pdf(evidence: Evidence, path: Path, render: PdfRenderer) -> EvidenceWritten:
    """The same entries as a PDF with the chain head on its cover (the head of the CSV of the same rows)."""
    *_, end = chained_rows(
        evidence.kind, evidence.date_from, evidence.date_to, "", evidence.columns, evidence.rows
    )
    head_cells = "".join(f"<th>{html.escape(name)}</th>" for name in evidence.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in evidence.rows
    )
    document = (
        f"<h1>{html.escape(TITLES[evidence.kind])}</h1>"
        f"<p>{html.escape(evidence.date_from)} to {html.escape(evidence.date_to)} · "
        f"{html.escape(evidence.summary)}"
        f"<br>{len(evidence.rows):,} entries · chain head {end[2]}</p>"
        f"<table border='1' cellspacing='0' cellpadding='2'><tr>{head_cells}</tr>{body}</table>"
    )
    temporary = path.with_name(f".{path.name}.part")
    try:
        render(document, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return EvidenceWritten(path, len(evidence.rows), end[2])


def verify_evidence_file(path: Path) -> Verification:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return verify_rows(csv.reader(handle))


def _write_atomically(path: Path, write: Callable[[Any], None], *, newline: str | None = None) -> None:
    temporary = path.with_name(f".{path.name}.part")
    try:
        with temporary.open("w", encoding="utf-8", newline=newline) as handle:
            write(handle)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def evidence_path(out: Path, kind: str, date_from: str, date_to: str, fmt: str) -> Path:
    """`out` itself, or a file named for the evidence inside it when it is a folder."""
    if out.is_dir():
        return out / f"{kind}_{date_from}_{date_to}.{fmt}"
    return out

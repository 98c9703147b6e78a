"""`nexus-console compliance export KIND --from DATE --to DATE --out PATH [--format csv|pdf]` and
`nexus-console compliance verify PATH`: evidence for auditors without a window.

Kinds: `admin-audit` (every admin action in the period, from the API's audit trail), `pci-scan` (the
card-number scan of the profile's database replicas, run now) and `dsar-register` (every data-subject
request with its GDPR clock today), `access-review` (every platform role an account holds, from the
profile's users replica). CSV files carry a hash chain that `verify`
checks; the PDF shows the same entries with the chain's head.

Exit codes: 0 written (or verified); 1 the file does not verify; 2 a usage or profile error; 3 no stored
sign-in, or the role may not read the audit trail; 4 the server or a replica did not answer; 5 the file
could not be written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from nexus_console.domain.compliance import DsarRegister
from nexus_console.headless import OK, REFUSED, SERVER, USAGE, WRITE, CommandError, pdf_renderer, signed_in
from nexus_console.services.evidence_export import (
    KINDS,
    Evidence,
    access_review_evidence,
    admin_audit_evidence,
    dsar_register_evidence,
    evidence_path,
    pci_scan_evidence,
    verify_evidence_file,
    write_evidence_csv,
    write_evidence_pdf,
)
from nexus_console.services.profiles import Profile, ProfileError, ProfileStore

NOT_VERIFIED = 1


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nexus-console compliance", description="Compliance evidence")
    parser.add_argument("--profile", metavar="NAME", help="connection profile (default: the only one)")
    parser.add_argument("--config", type=Path, metavar="PATH", help="profiles file")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a compliance report with its hash chain")
    export.add_argument("kind", choices=KINDS)
    export.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day (admin-audit)")
    export.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="day after the last (admin-audit)")
    export.add_argument("--out", type=Path, required=True, metavar="PATH", help="a file, or a folder")
    export.add_argument("--format", choices=("csv", "pdf"), default="csv")
    verify = commands.add_parser("verify", help="check an exported CSV's hash chain")
    verify.add_argument("path", type=Path, metavar="PATH")
    return parser.parse_args(argv)


def _day(value: str | None, name: str) -> str:
    if value is None:
        raise CommandError(f"admin-audit needs --{name} YYYY-MM-DD.", USAGE)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise CommandError(f"--{name} must be a date written YYYY-MM-DD, not {value!r}.", USAGE) from None


async def gather(args: argparse.Namespace, profile: Profile) -> Evidence:
    from nexus_console.services.api_client import PermissionDenied
    from nexus_console.services.audit_trail import AuditTrail
    from nexus_console.services.http.errors import FetchError

    if args.kind == "admin-audit":
        date_from, date_to = _day(args.date_from, "from"), _day(args.date_to, "to")
        if date_from >= date_to:
            raise CommandError(f"--from ({date_from}) must be before --to ({date_to}).", USAGE)
        async with signed_in(profile) as session:
            try:
                return await admin_audit_evidence(AuditTrail(session.api), date_from, date_to)
            except PermissionDenied as exc:
                raise CommandError(str(exc), REFUSED) from None
            except FetchError as exc:
                raise CommandError(f"The audit trail could not be read: {exc}", SERVER) from None
    if args.kind == "dsar-register":
        async with signed_in(profile) as session:
            try:
                body, _headers = await session.api.get_json("/compliance/dsar")
            except PermissionDenied as exc:
                raise CommandError(str(exc), REFUSED) from None
            except FetchError as exc:
                raise CommandError(f"The data-subject requests could not be read: {exc}", SERVER) from None
        return dsar_register_evidence(DsarRegister.from_json(body, datetime.now(UTC).date()))
    from nexus_console.services.keychain import Keychain
    from nexus_console.services.pci_scan import scan_replicas
    from nexus_console.services.replicas import replicas_from_profile

    try:
        replicas = await replicas_from_profile(profile, Keychain(profile.keychain_service))
    except RuntimeError as exc:
        raise CommandError(f"{exc}: add its replicas to the profile to scan them.", USAGE) from None
    try:
        if args.kind == "access-review":
            try:
                return await access_review_evidence(replicas)
            except Exception as exc:  # the replica did not answer: a sentence with its URL, no password
                raise CommandError(f"The users replica could not be read: {exc}", SERVER) from None
        report = await scan_replicas(replicas)
    finally:
        await replicas.aclose()
    if report.errors and not report.columns:
        raise CommandError(f"No replica could be scanned: {'; '.join(report.errors)}", SERVER)
    return pci_scan_evidence(report)


async def export(args: argparse.Namespace) -> str:
    try:
        profile = ProfileStore(args.config).load().pick(args.profile)
    except ProfileError as exc:
        raise CommandError(str(exc), USAGE) from None
    evidence = await gather(args, profile)
    path = evidence_path(args.out, evidence.kind, evidence.date_from, evidence.date_to, args.format)
    try:
        if args.format == "pdf":
            written = write_evidence_pdf(evidence, path, pdf_renderer())
        else:
            written = write_evidence_csv(evidence, path)
    except OSError as exc:
        raise CommandError(f"Could not write {path}: {exc.strerror or exc}.", WRITE) from None
    return f"{evidence.summary}. {written.sentence()}"


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "verify":
            try:
                result = verify_evidence_file(args.path)
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Could not read {args.path}: {exc}.", USAGE) from None
            print(result.sentence())
            return OK if result.ok else NOT_VERIFIED
        print(asyncio.run(export(args)))
        return OK
    except CommandError as exc:
        print(f"nexus-console compliance: {exc}", file=sys.stderr)
        return exc.code

"""`nexus-console incident export ID --format md|pdf --out PATH`: a post-mortem written without a window.

It signs in as the console does at start (the profile's stored refresh token or remembered password, from the
OS keychain only), assembles the incident's timeline the same way (the API, this machine's alert history and,
for admins, the audit log), and writes the document: Markdown, or a PDF laid out by Qt on the offscreen
platform.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nexus_console.services.alert_history import AlertHistory
from nexus_console.services.alert_runtime import HISTORY_FILE
from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AuthSession, ServerUnreachable
from nexus_console.services.http import build_http_client
from nexus_console.services.incident_runtime import IncidentRuntime
from nexus_console.services.keychain import Keychain
from nexus_console.services.polling import PollerRegistry
from nexus_console.services.probe_sweep import origin
from nexus_console.services.profiles import ProfileError, ProfileStore, data_dir


class ExportError(Exception):
    """What went wrong, as the sentence the command prints."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nexus-console incident", description="Incident documents")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write an incident's post-mortem as Markdown or PDF")
    export.add_argument("incident_id", type=int, metavar="ID")
    export.add_argument("--format", choices=("md", "pdf"), default="md")
    export.add_argument("--out", type=Path, required=True, metavar="PATH")
    export.add_argument("--profile", metavar="NAME", help="connection profile (default: the only one)")
    export.add_argument("--config", type=Path, metavar="PATH", help="profiles file")
    return parser.parse_args(argv)


async def export(args: argparse.Namespace) -> int:
    """Sign in, assemble, write; returns the PDF's page count (0 for Markdown)."""
    try:
        profile = ProfileStore(args.config).load().pick(args.profile)
    except ProfileError as exc:
        raise ExportError(str(exc)) from None
    http = build_http_client(profile.tls)
    history = AlertHistory(data_dir() / HISTORY_FILE)
    try:
        auth = AuthSession(
            profile.api_base_url, http, Keychain(profile.keychain_service), email=profile.email
        )
        try:
            me = await auth.resume()
        except ServerUnreachable as exc:
            raise ExportError(f"the Nexus API at {profile.api_base_url} did not answer: {exc}") from None
        if me is None:
            raise ExportError(
                f"no stored sign-in for profile {profile.name!r}: sign in once in the console with "
                "'remember me', then run this again"
            )

        api = NexusClient(profile.api_base_url, http, auth=auth)
        runtime = IncidentRuntime(
            api=api,
            registry=PollerRegistry(None),
            me=me,
            api_host=origin(profile.api_base_url),
            transitions_between=lambda since, until, limit, services, keys: history.between(
                since, until, limit, services=services, alert_keys=keys
            ),
        )
        from nexus_console.views.incidents.export import export_postmortem

        detail = await runtime.assemble(args.incident_id)
        document = await runtime.postmortem(args.incident_id)
        return await export_postmortem(detail, document, args.format, args.out)
    finally:
        await history.close()
        await http.aclose()


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # PDF layout needs fonts
    try:
        pages = asyncio.run(export(args))
    except ExportError as exc:
        print(f"nexus-console incident: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"nexus-console incident: the export failed: {exc}", file=sys.stderr)
        return 1
    what = f"{pages} page PDF" if args.format == "pdf" else "Markdown"
    print(f"wrote the post-mortem of incident {args.incident_id} ({what}) to {args.out}")
    return 0

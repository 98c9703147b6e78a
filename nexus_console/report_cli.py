"""`nexus-console report list` and `nexus-console report run NAME --out PATH [--format csv|xlsx|pdf]`: saved
reports without a window, for cron or a systemd timer.

`run` signs in as the console does at start (the profile's stored refresh token or remembered password, from
the OS keychain only), asks the server for the report's table, writes it, and delivers it as the report says
(a copy into its folder, e-mail over the profile's SMTP server) unless `--no-deliver`.

`smtp-password` asks for the password of the profile's SMTP login and keeps it in the keychain (never in
a file or an argument).

Exit codes: 0 written and delivered; 2 a usage, profile or report error; 3 no stored sign-in, or the role may
not read the report; 4 the server did not answer or answered an error; 5 the file could not be written;
6 written, but a delivery failed.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from nexus_console.domain.reports import FORMATS, ReportError, ReportSpec
from nexus_console.headless import (
    DELIVERY,
    OK,
    REFUSED,
    SERVER,
    USAGE,
    WRITE,
    CommandError,
    pdf_renderer,
    signed_in,
    store_secret,
)
from nexus_console.services.api_client import PermissionDenied
from nexus_console.services.http.errors import FetchError
from nexus_console.services.profiles import ProfileError, ProfileStore
from nexus_console.services.report_mail import smtp_password_key
from nexus_console.services.report_runner import ReportRunError, run_report
from nexus_console.services.report_schedule import next_run
from nexus_console.services.report_store import ReportStore


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nexus-console report", description="Saved reports")
    parser.add_argument("--profile", metavar="NAME", help="connection profile (default: the only one)")
    parser.add_argument("--config", type=Path, metavar="PATH", help="profiles file")
    parser.add_argument("--reports", type=Path, metavar="PATH", help="reports file (default: the config dir)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the saved reports, their schedules and next runs")
    run = commands.add_parser("run", help="run a saved report now and write it")
    run.add_argument("name", metavar="NAME")
    run.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="a file, or a folder to name it in"
    )
    run.add_argument("--format", choices=FORMATS, help="default: the report's own")
    run.add_argument("--no-deliver", action="store_true", help="write the file only: no copy, no e-mail")
    commands.add_parser(
        "smtp-password",
        help="store the password of the profile's SMTP login in the keychain (asked, not an argument)",
    )
    return parser.parse_args(argv)


def list_reports(reports: dict[str, ReportSpec]) -> str:
    if not reports:
        return "No saved reports. Build one in the console (Analytics › Reports) and save it."
    now = datetime.now().astimezone()
    lines = []
    for spec in sorted(reports.values(), key=lambda s: s.name.lower()):
        when = "not scheduled"
        if spec.schedule:
            upcoming = next_run(spec, now)
            when = f"{spec.schedule}, next {upcoming:%a %d %b %H:%M}" if upcoming else spec.schedule
        to = [*([f"folder {spec.folder}"] if spec.folder else []), *spec.email_to]
        lines.append(
            f"{spec.name}\n  {spec.describe()} · {spec.format}\n  {when}"
            + (f"\n  delivered to {', '.join(to)}" if to else "")
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> str:
    try:
        spec = ReportStore(args.reports).get(args.name)
        profile = ProfileStore(args.config).load().pick(args.profile)
    except (ReportError, ProfileError) as exc:
        raise CommandError(str(exc), USAGE) from None
    fmt = args.format or spec.format
    async with signed_in(profile) as session:
        renderer = pdf_renderer() if fmt == "pdf" else None
        try:
            outcome = await run_report(
                session.api, spec, args.out, fmt=fmt, profile=profile, keychain=session.keychain,
                render_pdf=renderer, deliver_it=not args.no_deliver,
            )  # fmt: skip
        except PermissionDenied as exc:
            raise CommandError(str(exc), REFUSED) from None
        except FetchError as exc:
            raise CommandError(f"The report could not be read: {exc}", SERVER) from None
        except OSError as exc:
            raise CommandError(f"Could not write {args.out}: {exc.strerror or exc}.", WRITE) from None
        except ReportRunError as exc:
            raise CommandError(str(exc), DELIVERY) from None
        return outcome.sentence()


async def store_smtp_password(args: argparse.Namespace, password: str) -> str:
    try:
        profile = ProfileStore(args.config).load().pick(args.profile)
    except ProfileError as exc:
        raise CommandError(str(exc), USAGE) from None
    if profile.smtp is None or not profile.smtp.username:
        raise CommandError(
            f"Profile {profile.name!r} has no SMTP login (smtp.username) to store a password for.", USAGE
        )
    username = profile.smtp.username
    return await store_secret(
        profile, smtp_password_key(username), password, f"the SMTP password of {username}"
    )


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "smtp-password":
            print(asyncio.run(store_smtp_password(args, getpass.getpass("SMTP password: "))))
            return OK
        if args.command == "list":
            print(list_reports(ReportStore(args.reports).load()))
            return OK
        print(asyncio.run(run(args)))
        return OK
    except ReportError as exc:
        print(f"nexus-console report: {exc}", file=sys.stderr)
        return USAGE
    except CommandError as exc:
        print(f"nexus-console report: {exc}", file=sys.stderr)
        return exc.code

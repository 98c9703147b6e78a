"""`nexus-console database password NAME`: ask for the password of one of the profile's databases and keep
it in the OS keychain (never in the profiles file, an argument or the environment). NAME is a database of the
profile's `replicas` (its replica DSNs share the password) or `monitoring` (the `monitoring_dsn` the Database
pane reads the primary with).

Exit codes: 0 stored; 2 a usage or profile error; 3 no keychain to keep it in.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from nexus_console.headless import OK, USAGE, CommandError, store_secret
from nexus_console.services.keychain import database_password_key
from nexus_console.services.profiles import ProfileError, ProfileStore

MONITORING = "monitoring"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nexus-console database", description="Database credentials")
    parser.add_argument("--profile", metavar="NAME", help="connection profile (default: the only one)")
    parser.add_argument("--config", type=Path, metavar="PATH", help="profiles file")
    commands = parser.add_subparsers(dest="command", required=True)
    password = commands.add_parser(
        "password", help="store a database's password in the keychain (asked, not an argument)"
    )
    password.add_argument(
        "name", metavar="NAME", help=f"a database of the profile's replicas, or {MONITORING}"
    )
    return parser.parse_args(argv)


async def store_password(args: argparse.Namespace, password: str) -> str:
    try:
        profile = ProfileStore(args.config).load().pick(args.profile)
    except ProfileError as exc:
        raise CommandError(str(exc), USAGE) from None
    known = sorted(profile.replicas) + ([MONITORING] if profile.monitoring_dsn else [])
    if args.name not in known:
        names = ", ".join(known) or "none"
        raise CommandError(
            f"Profile {profile.name!r} has no database {args.name!r} (its databases: {names}).", USAGE
        )
    if not password:
        raise CommandError("No password given; nothing was stored.", USAGE)
    what = "the monitoring role's password" if args.name == MONITORING else f"the password of {args.name}"
    return await store_secret(profile, database_password_key(args.name), password, what)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        print(asyncio.run(store_password(args, getpass.getpass(f"Password for {args.name}: "))))
        return OK
    except CommandError as exc:
        print(f"nexus-console database: {exc}", file=sys.stderr)
        return exc.code

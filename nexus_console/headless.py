"""What the commands without a window share (`report …`, `compliance …`): their exit codes, the error that
carries one, and signing in from the OS keychain as the console does at start."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AuthSession, ServerUnreachable
from nexus_console.services.http import build_http_client
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import Profile

OK, USAGE, REFUSED, SERVER, WRITE, DELIVERY = 0, 2, 3, 4, 5, 6


class CommandError(Exception):
    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.code = code


async def store_secret(profile: Profile, key: str, secret: str, what: str) -> str:
    """Keep one secret of the profile in the OS keychain (never a file or an argument); the sentence to
    print, or CommandError REFUSED when there is no keychain to keep it in."""
    keychain = Keychain(profile.keychain_service)
    await keychain.set(key, secret)
    if keychain.problem:
        raise CommandError(
            f"The keychain is not available ({keychain.problem}); nothing was stored.", REFUSED
        )
    return f"Stored {what} in the keychain."


@dataclass(frozen=True, slots=True)
class SignedIn:
    api: NexusClient
    http: httpx.AsyncClient
    keychain: Keychain


@asynccontextmanager
async def signed_in(profile: Profile) -> AsyncIterator[SignedIn]:
    """The profile's API, signed in with its stored refresh token or remembered password (keychain only).
    CommandError SERVER when the API does not answer, REFUSED when nothing is stored."""
    http = build_http_client(profile.tls)
    keychain = Keychain(profile.keychain_service)
    try:
        auth = AuthSession(profile.api_base_url, http, keychain, email=profile.email)
        try:
            me = await auth.resume()
        except ServerUnreachable as exc:
            raise CommandError(
                f"The Nexus API at {profile.api_base_url} did not answer: {exc}", SERVER
            ) from None
        if me is None:
            raise CommandError(
                f"No stored sign-in for profile {profile.name!r}: sign in once in the console with "
                "“Remember me”, then run this again.",
                REFUSED,
            )
        yield SignedIn(NexusClient(profile.api_base_url, http, auth=auth), http, keychain)
    finally:
        await http.aclose()


_qt_app: object = None  # kept alive while the command runs


def pdf_renderer() -> Callable[[str, Path], object]:
    """Qt's PDF layout on the offscreen platform (it needs an application for its fonts). A QApplication,
    not the lighter QGuiApplication: Qt keeps the first application for the whole process, and a process
    that later shows a widget (the console's own tests run these commands in process) needs this kind."""
    global _qt_app
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from nexus_console.views.pdf_export import write_pdf

    _qt_app = QApplication.instance() or QApplication([sys.argv[0]])
    return lambda html, path: write_pdf(html, path, title=path.stem)

"""Keeping a refresh token in a real Secret Service (gnome-keyring on a private D-Bus) from outside the
console, as "Remember me" would have: the benchmarks and the packaging smoke checks start a console that
then signs in from the keychain, with no password in its arguments, environment or files."""

from __future__ import annotations

import os
import time

REFRESH_TOKEN_KEY = "refresh-token"


def store_refresh_token(bus_address: str, service: str, token: str, *, timeout_s: float = 10.0) -> None:
    """Store `token` for `service` in the keyring on `bus_address`, retrying while the daemon starts."""
    from keyring.backends import SecretService

    previous = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = bus_address
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                SecretService.Keyring().set_password(service, REFRESH_TOKEN_KEY, token)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        if previous is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = previous

"""Fixtures for the console runtime tests: a private gnome-keyring Secret Service on its own D-Bus bus."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.setdefault("QT_API", "pyside6")

from tests.support.qloop import QLoop  # noqa: F401  (test modules import it from here)
from tests.support.refserver import SESSION_PIDS

KEYRING_PASSWORD = "test-keyring-unlock"


@dataclass(frozen=True)
class SecretServiceBus:
    address: str
    dbus_pid: int
    keyring_pid: int


def _name_has_owner(address: str, name: str) -> bool:
    result = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            f"string:{name}",
        ],
        capture_output=True,
        text=True,
        timeout=5,
    )
    return "boolean true" in result.stdout


@pytest.fixture(scope="session")
def secret_service_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretServiceBus]:
    """A private session bus and an unlocked gnome-keyring (secrets component) with an isolated HOME."""
    base = tmp_path_factory.mktemp("keyring")
    home, runtime = base / "home", base / "run"
    for path in (home, runtime):
        path.mkdir()
        path.chmod(0o700)
    env = dict(
        os.environ,
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
    )
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    # --nofork (rather than --fork) keeps the daemon our child, so it is reaped when stopped.
    bus_daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--print-pid=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    SESSION_PIDS.add(bus_daemon.pid)
    assert bus_daemon.stdout is not None
    address = bus_daemon.stdout.readline().strip()
    dbus_pid = int(bus_daemon.stdout.readline().strip())
    assert dbus_pid == bus_daemon.pid
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    keyring_daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    SESSION_PIDS.add(keyring_daemon.pid)
    assert keyring_daemon.stdin is not None
    keyring_daemon.stdin.write(KEYRING_PASSWORD.encode())
    keyring_daemon.stdin.close()
    try:
        deadline = time.monotonic() + 10
        while not _name_has_owner(address, "org.freedesktop.secrets"):
            if time.monotonic() > deadline or keyring_daemon.poll() is not None:
                raise RuntimeError("gnome-keyring-daemon did not take org.freedesktop.secrets")
            time.sleep(0.05)
        yield SecretServiceBus(address, dbus_pid, keyring_daemon.pid)
    finally:
        keyring_daemon.terminate()
        try:
            keyring_daemon.wait(5)
        except subprocess.TimeoutExpired:
            keyring_daemon.kill()
            keyring_daemon.wait(5)
        bus_daemon.terminate()
        bus_daemon.wait(5)
        bus_daemon.stdout.close()
        SESSION_PIDS.discard(keyring_daemon.pid)
        SESSION_PIDS.discard(dbus_pid)


@pytest.fixture
def secret_service(secret_service_bus: SecretServiceBus, monkeypatch: pytest.MonkeyPatch) -> Any:
    """keyring's SecretService backend, talking to the private bus (for tests marked secret_service)."""
    from keyring.backends import SecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service_bus.address)
    backend = SecretService.Keyring()
    return backend

"""Secrets only through keyring, off the GUI thread, with a timeout and an in-memory fallback."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import QTimer

from nexus_console.services.keychain import REFRESH_TOKEN, Keychain, password_key
from tests.console.conftest import QLoop
from tests.support.memory_keyring import MemoryKeyring


class BlockingKeyring(KeyringBackend):
    """A keychain whose D-Bus call never returns (until the test releases it)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


def test_round_trip_through_the_configured_backend(qloop: QLoop, memory_keyring: MemoryKeyring) -> None:
    chain = Keychain("nexus-console:lab")

    async def scenario() -> None:
        await chain.set(REFRESH_TOKEN, "rt-1")
        assert await chain.get(REFRESH_TOKEN) == "rt-1"
        await chain.delete(REFRESH_TOKEN)
        await chain.delete(REFRESH_TOKEN)  # deleting what is not there is fine
        assert await chain.get(REFRESH_TOKEN) is None

    qloop.run(scenario())
    assert chain.available
    assert memory_keyring.secrets == {}


def test_calls_run_off_the_gui_thread(qloop: QLoop) -> None:
    threads: list[threading.Thread] = []

    class Recording(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            threads.append(threading.current_thread())
            return super().get_password(service, username)

    qloop.run(Keychain("s", backend=Recording()).get("k"))
    assert threads and threads[0] is not threading.main_thread()


def test_without_a_keychain_secrets_stay_in_memory_and_the_app_says_so(qloop: QLoop) -> None:
    keyring.set_keyring(fail.Keyring())
    chain = Keychain("nexus-console:lab")
    problems: list[str] = []
    chain.on_problem(problems.append)

    async def scenario() -> None:
        await chain.set(password_key("a@b.c"), "pw-in-memory")
        assert await chain.get(password_key("a@b.c")) == "pw-in-memory"

    qloop.run(scenario())
    assert not chain.available
    assert problems == [chain.problem]
    assert "no OS keychain" in (chain.problem or "")
    assert "memory for this session only" in (chain.problem or "")


def test_a_blocking_keychain_does_not_freeze_the_gui(qloop: QLoop) -> None:
    backend = BlockingKeyring()
    chain = Keychain("nexus-console:lab", timeout_s=0.6, backend=backend)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))

    async def scenario() -> tuple[Any, float]:
        timer.start()
        started = time.monotonic()
        try:
            value = await chain.get(REFRESH_TOKEN)
        finally:
            timer.stop()
        return value, time.monotonic() - started

    try:
        value, elapsed = qloop.run(scenario())
        # later calls do not wait again: the session continues in memory
        qloop.run(chain.set(REFRESH_TOKEN, "rt-memory"), timeout_s=0.3)
        assert qloop.run(chain.get(REFRESH_TOKEN), timeout_s=0.3) == "rt-memory"
    finally:
        backend.release.set()
    assert value is None
    assert 0.5 <= elapsed < 3.0
    assert len(ticks) >= 10, "the Qt event loop kept running while the keychain hung"
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.25
    assert "did not answer" in (chain.problem or "")
    assert backend.calls == 1


@pytest.mark.secret_service
def test_round_trip_against_a_real_gnome_keyring(qloop: QLoop, secret_service: Any) -> None:
    chain = Keychain("nexus-console:keyring-test", backend=secret_service, timeout_s=10)

    async def scenario() -> None:
        await chain.set(REFRESH_TOKEN, "rt-real-keyring")
        await chain.set(password_key("ops@nexus.test"), "pw-real-keyring")
        assert await chain.get(REFRESH_TOKEN) == "rt-real-keyring"
        assert await chain.get(password_key("ops@nexus.test")) == "pw-real-keyring"
        await chain.delete(REFRESH_TOKEN)
        assert await chain.get(REFRESH_TOKEN) is None
        await chain.delete(password_key("ops@nexus.test"))

    qloop.run(scenario())
    assert chain.available, chain.problem
    # a second, independent backend instance sees the same store: it is the real service, not a cache
    assert secret_service.get_password("nexus-console:keyring-test", password_key("ops@nexus.test")) is None
    secret_service.set_password("nexus-console:keyring-test", "probe", "x1")
    assert qloop.run(chain.get("probe")) == "x1"
    secret_service.delete_password("nexus-console:keyring-test", "probe")

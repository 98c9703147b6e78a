"""Secrets in the OS keychain (keyring), never blocking the GUI thread and never in a file.

Every keyring call runs on its own daemon thread with a timeout: a hung D-Bus call must neither freeze the
app nor keep the process from exiting (a ThreadPoolExecutor worker would be joined at exit). When no
keychain is usable, secrets are kept in memory for this session only and `problem` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail

T = TypeVar("T")
log = logging.getLogger(__name__)

REFRESH_TOKEN = "refresh-token"


def password_key(email: str) -> str:
    return f"password:{email}"


def database_password_key(replica: str) -> str:
    return f"database:{replica}"


class KeychainUnavailable(Exception):
    pass


class Keychain:
    def __init__(
        self,
        service: str,
        *,
        timeout_s: float = 3.0,
        backend: keyring.backend.KeyringBackend | None = None,
    ) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self._backend = backend
        self._memory: dict[str, str] = {}
        self.problem: str | None = None  # why secrets are kept in memory only, for the UI
        self._problem_listeners: list[Callable[[str], None]] = []

    @property
    def available(self) -> bool:
        return self.problem is None

    def on_problem(self, callback: Callable[[str], None]) -> None:
        """Call back (on the loop) when the keychain turns out to be unusable."""
        self._problem_listeners.append(callback)

    async def get(self, key: str) -> str | None:
        if self.problem is not None:
            return self._memory.get(key)
        try:
            return await self._call(lambda backend: backend.get_password(self.service, key))
        except KeychainUnavailable:
            return self._memory.get(key)

    async def set(self, key: str, secret: str) -> None:
        if self.problem is not None:
            self._memory[key] = secret
            return
        try:
            await self._call(lambda backend: backend.set_password(self.service, key, secret))
        except KeychainUnavailable:
            self._memory[key] = secret

    async def delete(self, key: str) -> None:
        self._memory.pop(key, None)
        if self.problem is not None:
            return

        def delete(backend: keyring.backend.KeyringBackend) -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing stored under that key
                backend.delete_password(self.service, key)

        with contextlib.suppress(KeychainUnavailable):
            await self._call(delete)

    async def _call(self, action: Callable[[keyring.backend.KeyringBackend], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def deliver(outcome: tuple[bool, Any]) -> None:
            if future.done():
                return
            ok, payload = outcome
            if ok:
                future.set_result(payload)
            else:
                future.set_exception(payload)

        def work() -> None:
            try:
                backend = self._backend or keyring.get_keyring()
                if isinstance(backend, fail.Keyring):
                    raise keyring.errors.NoKeyringError("no keychain backend is available")
                outcome: tuple[bool, Any] = (True, action(backend))
            except BaseException as exc:
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):  # the loop closed while the keychain hung
                loop.call_soon_threadsafe(deliver, outcome)

        threading.Thread(target=work, name="keychain-call", daemon=True).start()
        try:
            async with asyncio.timeout(self.timeout_s):  # not wait_for: 3.11 can swallow a cancel there
                return await future
        except TimeoutError:
            self._degrade(f"the keychain did not answer within {self.timeout_s:.0f} s")
        except keyring.errors.NoKeyringError:
            self._degrade("no OS keychain is available")
        except keyring.errors.KeyringLocked:
            self._degrade("the OS keychain is locked")
        except keyring.errors.KeyringError as exc:
            self._degrade(f"the OS keychain failed ({type(exc).__name__})")
        except Exception as exc:
            # Backends raise D-Bus and OS errors of their own; the text may carry details, not secrets.
            self._degrade(f"the OS keychain failed ({type(exc).__name__})")
        raise KeychainUnavailable(self.problem)

    def _degrade(self, reason: str) -> None:
        if self.problem is not None:
            return
        self.problem = f"{reason}; secrets are kept in memory for this session only"
        log.warning("keychain %s unusable: %s", self.service, self.problem)
        for callback in list(self._problem_listeners):
            callback(self.problem)

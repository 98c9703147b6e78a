"""The one way tests build a console session: the real ConsoleSession, with its cache and executor, closed
in the order the app closes it. Tests give it fast settings; nothing else is hand-built."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from nexus_console.domain.auth import Me
from nexus_console.services.admin_runtime import AdminSettings
from nexus_console.services.api_client import NexusClient
from nexus_console.services.cache import CACHE_FILE, LocalCache
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import Profile, cache_dir
from nexus_console.services.replicas import ReplicaSet
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.support.qloop import QLoop

VIEWER = Me("u1", "viewer@nexus.test", "Vera Viewer", frozenset({"viewer"}))


def fast_admin_settings(outbox: Path) -> SessionSettings:
    """An admin runtime on `outbox` that sends and retries within a second (tests wait for it)."""
    return SessionSettings(
        admin=AdminSettings(
            outbox_path=outbox, sender_idle_poll_s=0.5, retry_max_s=1.0, offline_probe_max_s=0.5
        )
    )


def me_with_roles(*roles: str) -> Me:
    return Me("u1", "ops@nexus.test", "Olive Ops", frozenset(roles))


def build_session(
    profile: Profile,
    api: NexusClient,
    estate_http: Any,
    me: Me,
    *,
    settings: SessionSettings | None = None,
    replicas: ReplicaSet | None = None,
    cache: LocalCache | None = None,
    keychain: Keychain | None = None,
) -> ConsoleSession:
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="session-test")
    return ConsoleSession(
        profile=profile,
        api=api,
        estate_http=estate_http,
        cache=cache if cache is not None else LocalCache(cache_dir() / CACHE_FILE, namespace=profile.name),
        me=me,
        executor=executor,
        settings=settings,
        replicas=replicas,
        keychain=keychain,
    )


async def close_session(session: ConsoleSession) -> None:
    await session.aclose()
    if session.cache is not None:
        await session.cache.aclose()
    session.executor.shutdown(wait=True)


@asynccontextmanager
async def console_session(
    profile: Profile,
    api: NexusClient,
    estate_http: Any,
    me: Me,
    *,
    settings: SessionSettings | None = None,
    replicas: ReplicaSet | None = None,
    start: bool = True,
    keychain: Keychain | None = None,
) -> AsyncIterator[ConsoleSession]:
    """A started session (on the running loop) for the duration of the block."""
    session = build_session(
        profile, api, estate_http, me, settings=settings, replicas=replicas, keychain=keychain
    )
    if start:
        session.start()
    try:
        yield session
    finally:
        await close_session(session)


@asynccontextmanager
async def offline_session(
    *roles: str,
    profile: Profile | None = None,
    settings: SessionSettings | None = None,
    api_transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[ConsoleSession]:
    """A session on the running loop that is never started: every runtime is built (the alert queue, its
    rules and triage, the pollers) but nothing polls. `api_transport` answers its API requests in-process
    (default: a closed port); the user holds `roles` (none: a viewer). For tests of what a session builds
    and of the runtimes' in-process workflows."""
    profile = profile or Profile("lab", "http://127.0.0.1:9")
    me = me_with_roles(*roles) if roles else VIEWER
    async with httpx.AsyncClient(trust_env=False, transport=api_transport) as http:
        api = NexusClient(profile.api_base_url, http)
        async with console_session(profile, api, http, me, settings=settings, start=False) as session:
            yield session


@asynccontextmanager
async def admin_session(
    profile: Profile,
    api: NexusClient,
    me: Me,
    *,
    settings: SessionSettings | None = None,
    replicas: ReplicaSet | None = None,
) -> AsyncIterator[ConsoleSession]:
    """A session (for an admin or a moderator) whose admin runtime alone runs, ready: no pollers, no alert
    feed. Closed in the order the app closes it."""
    async with console_session(
        profile, api, api.http, me, settings=settings, replicas=replicas, start=False
    ) as session:
        assert session.admin is not None, f"{me.email} has no admin role"
        session.admin.start(session.tasks)
        await session.admin.ready.wait()
        yield session


@contextmanager
def window_session(
    *roles: str,
    settings: SessionSettings | None = None,
    api_transport: httpx.AsyncBaseTransport | None = None,
) -> Iterator[ConsoleSession]:
    """A session that is never started, for window tests that drive its pollers by hand; `api_transport`
    answers its API requests in-process (default: a closed port)."""
    profile = Profile("lab", "http://127.0.0.1:9")
    http = httpx.AsyncClient(trust_env=False, transport=api_transport)
    session = build_session(
        profile, NexusClient(profile.api_base_url, http), http, me_with_roles(*roles), settings=settings
    )
    try:
        yield session
    finally:
        # On the test's qasync loop when it has one: the session's tasks were started there, and a task
        # still pending at the end cannot be awaited from another loop. Never asyncio.run: that would
        # unset the test's loop.
        loop, borrowed = _loop_to_close_on()
        try:
            loop.run_until_complete(close_session(session))
            loop.run_until_complete(http.aclose())
        finally:
            if not borrowed:
                loop.close()


def _loop_to_close_on() -> tuple[asyncio.AbstractEventLoop, bool]:
    """The test's qasync loop if it has one that can run now (borrowed), else a new loop."""
    loop = QLoop.current
    if loop is None or loop.is_closed() or loop.is_running():
        return asyncio.new_event_loop(), False
    return loop, True

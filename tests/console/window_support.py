"""A ConsoleContext for window tests whose pollers are driven in-process."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from nexus_console.domain.auth import Me
from nexus_console.services.api_client import NexusClient
from nexus_console.services.cache import CACHE_FILE, LocalCache
from nexus_console.services.polling import PollerRegistry
from nexus_console.services.profiles import Profile, cache_dir
from nexus_console.workers.context import ConsoleContext
from nexus_console.workers.hub import DataHub
from nexus_console.workers.tasks import TaskRunner


@contextmanager
def window_context(*roles: str) -> Iterator[ConsoleContext]:
    profile = Profile("lab", "http://127.0.0.1:9")
    http = httpx.AsyncClient(trust_env=False)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    registry = PollerRegistry()
    hub = DataHub(registry)
    ctx = ConsoleContext(
        profile=profile,
        api=NexusClient(profile.api_base_url, http),
        http=http,
        registry=registry,
        hub=hub,
        cache=LocalCache(cache_dir() / CACHE_FILE, namespace="lab"),
        me=Me("u1", "ops@nexus.test", "Olive Ops", frozenset(roles)),
        tasks=TaskRunner(),
        executor=executor,
    )
    try:
        yield ctx
    finally:
        executor.shutdown(wait=True)
        hub.detach()
        hub.deleteLater()

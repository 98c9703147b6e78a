"""ConsoleContext: everything a pane needs, created by app.py after login."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

import httpx

from nexus_console.domain.auth import Me
from nexus_console.services.api_client import NexusClient
from nexus_console.services.cache import LocalCache
from nexus_console.services.keychain import Keychain
from nexus_console.services.polling import PollerRegistry
from nexus_console.services.profiles import Profile
from nexus_console.workers.hub import DataHub
from nexus_console.workers.tasks import TaskRunner


@dataclass
class ConsoleContext:
    profile: Profile
    api: NexusClient  # the Nexus API: get_json / post_json / patch_json
    http: httpx.AsyncClient  # for the monitored services' absolute URLs (/health, /metrics), TLS per profile
    registry: PollerRegistry
    hub: DataHub
    cache: LocalCache
    me: Me
    tasks: TaskRunner
    executor: concurrent.futures.ThreadPoolExecutor  # bounded, owned; for parsing and blocking calls
    keychain: Keychain | None = None  # database passwords: keychain.get(database_password_key(name))

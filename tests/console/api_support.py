"""Build the console's real API stack (httpx client, keychain, auth session, API client) for a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AskCredentials, AuthSession
from nexus_console.services.http import build_http_client
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import TlsSettings

DEMO_PASSWORD = "nexus-demo"


@dataclass
class ApiStack:
    http: httpx.AsyncClient
    keychain: Keychain
    auth: AuthSession
    api: NexusClient
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _s in self.requests if m == method and p == path)


@asynccontextmanager
async def api_stack(base_url: str, *, ask: AskCredentials | None = None) -> AsyncIterator[ApiStack]:
    http = build_http_client(TlsSettings())
    keychain = Keychain("nexus-console:test")
    auth = AuthSession(base_url, http, keychain, ask_credentials=ask)
    stack = ApiStack(http, keychain, auth, NexusClient(base_url, http, auth=auth))

    async def record(response: httpx.Response) -> None:
        stack.requests.append((response.request.method, response.request.url.path, response.status_code))

    http.event_hooks["response"] = [record]
    try:
        yield stack
    finally:
        await http.aclose()

"""Helpers for the Nexus API tests: log in as a demo role and talk to a real reference server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.refserver import RefServer

DEMO_PASSWORD = "nexus-demo"
ROLES = ("admin", "moderator", "finance", "analyst", "viewer")
# a small dataset and no scenario: fast to start, nothing fires unless a test injects a fault
SMALL_SERVER_ARGS = ("--seed", "11", "--scale", "0.002", "--scenario", "none")


def login(base_url: str, role: str, password: str = DEMO_PASSWORD) -> dict:
    response = httpx.post(
        f"{base_url}/auth/login", json={"email": f"{role}@nexus.test", "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def api_as(refserver_session: RefServer) -> Iterator[Callable[[str], httpx.Client]]:
    """`api_as("moderator")`: an httpx client on the shared server, logged in as that demo role."""
    clients: list[httpx.Client] = []

    def make(role: str) -> httpx.Client:
        tokens = login(refserver_session.base_url, role)
        client = httpx.Client(
            base_url=refserver_session.base_url, headers=bearer(tokens["access_token"]), timeout=15
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def admin(api_as: Callable[[str], httpx.Client]) -> httpx.Client:
    return api_as("admin")

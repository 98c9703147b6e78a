"""`--multi-port`: each service's four endpoints also on its own 127.0.0.1 port (seed port + offset).

One small uvicorn server per service, all inside the main server's event loop. Ports that cannot be
bound are skipped with a warning; those services stay reachable under /svc/{name}/ on the main port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_refserver.telemetry.routes import service_endpoint

if TYPE_CHECKING:
    from nexus_refserver.telemetry.estate import Estate

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the main server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def service_app(estate: Estate, name: str) -> Starlette:
    def endpoint(which: str):  # type: ignore[no-untyped-def]
        async def handle(request: Request) -> Response:
            return service_endpoint(estate, name, which)

        return handle

    return Starlette(
        routes=[
            Route("/health", endpoint("health")),
            Route("/health/live", endpoint("live")),
            Route("/health/ready", endpoint("ready")),
            Route("/metrics", endpoint("metrics")),
        ]
    )


def bind(host: str, port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it a small response waits ~40 ms for a delayed ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        log.warning("multi-port: cannot bind %s:%d (%s); skipping", host, port, error)
        return None
    sock.setblocking(False)
    return sock


class ServiceListeners:
    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.ports: dict[str, int] = {}  # service name -> port actually served
        self._servers: list[tuple[_EmbeddedServer, socket.socket, asyncio.Task[None]]] = []

    async def start(self) -> None:
        for spec in self.estate.catalog:
            port = spec.port + self.estate.port_offset
            sock = bind(self.estate.host, port)
            if sock is None:
                continue
            config = uvicorn.Config(
                service_app(self.estate, spec.name), lifespan="off", log_level="warning", access_log=False
            )
            server = _EmbeddedServer(config)
            task = asyncio.create_task(server.serve(sockets=[sock]), name=f"listener-{spec.name}")
            self._servers.append((server, sock, task))
            self.ports[spec.name] = port
        for server, _, task in self._servers:
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
        log.info("multi-port: %d services on their own ports", len(self.ports))

    async def stop(self) -> None:
        for server, _, _ in self._servers:
            server.should_exit = True
        tasks = [task for _, _, task in self._servers]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for server, _, _ in self._servers:
                server.force_exit = True
            if pending:
                await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)
        for _, sock, _ in self._servers:
            sock.close()
        self._servers.clear()
        self.ports.clear()

"""`--multi-port`: each service's four endpoints also on its own 127.0.0.1 port (seed port + offset).

One small uvicorn server per service, all inside the main server's event loop. While a service is down
(a `down` fault, or the down half of `flapping_s`) its port is closed, so clients get "connection
refused" as from a dead process; the /svc/{name}/ paths on the main port answer 503 instead. Ports that
cannot be bound at start are skipped with a warning; those services stay reachable under /svc/{name}/.
Keep the ports below the ephemeral range (32768 on Linux; the default offset 20000 does): otherwise an
outgoing connection may take a service's port while it is down, and it stays refused until released.
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

from nexus_refserver.config import KEEP_ALIVE_S
from nexus_refserver.telemetry.routes import service_endpoint

if TYPE_CHECKING:
    from nexus_refserver.telemetry.estate import Estate

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0
FOLLOW_INTERVAL_S = 0.1


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


def bind(host: str, port: int, *, warn: bool = True) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it a small response waits ~40 ms for a delayed ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        if warn:
            log.warning("multi-port: cannot bind %s:%d (%s)", host, port, error)
        return None
    sock.setblocking(False)
    return sock


class ServiceListener:
    """One service's own server. Closed while the service is down, so connecting is refused."""

    def __init__(self, estate: Estate, name: str, port: int) -> None:
        self.estate = estate
        self.name = name
        self.port = port
        self._server: _EmbeddedServer | None = None
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._bind_failures = 0

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> bool:
        sock = bind(self.estate.host, self.port, warn=self._bind_failures == 0)
        if sock is None:
            # retried on every round while the service should be up; warned about once
            self._bind_failures += 1
            return False
        self._bind_failures = 0
        config = uvicorn.Config(
            service_app(self.estate, self.name),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        server = _EmbeddedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name=f"listener-{self.name}")
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            sock.close()
            return False
        self._server, self._sock, self._task = server, sock, task
        return True

    async def close(self) -> None:
        server, sock, task = self._server, self._sock, self._task
        self._server = self._sock = self._task = None
        if server is None or task is None or sock is None:
            return
        # like a crashed process: stop listening and drop idle connections without waiting for anyone
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        sock.close()


class ServiceListeners:
    """All services' own servers, opened and closed as their down / flapping faults come and go."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.ports: dict[str, int] = {}  # service name -> its own port (refusing while the service is down)
        self._listeners: list[ServiceListener] = []
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for spec in self.estate.catalog:
            listener = ServiceListener(self.estate, spec.name, spec.port + self.estate.port_offset)
            if await listener.open():
                self._listeners.append(listener)
                self.ports[spec.name] = listener.port
        self._watcher = asyncio.create_task(self._follow_faults(), name="listeners-follow-faults")
        log.info("multi-port: %d services on their own ports", len(self.ports))

    async def _follow_faults(self) -> None:
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL_S)
            try:
                changes = []
                for listener in self._listeners:
                    down = self.estate.faults.is_down(listener.name)
                    if down and listener.is_open:
                        changes.append(listener.close())
                    elif not down and not listener.is_open:
                        changes.append(listener.open())
                if changes:
                    await asyncio.gather(*changes)
            except Exception:  # keep following; a port that cannot be reopened is retried next round
                log.exception("multi-port: following faults failed")

    async def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await asyncio.gather(*(listener.close() for listener in self._listeners))
        self._listeners.clear()
        self.ports.clear()

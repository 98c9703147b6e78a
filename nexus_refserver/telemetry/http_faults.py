"""Answering HTTP requests the way a faulty service would: late, wrong, slow, cut short, or never.

`send_with_faults` is shared by the service endpoints (through `FaultyResponse`) and by the middleware
that applies faults scoped `api` to the Nexus API routes.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import Response

from nexus_refserver.telemetry.faults import API_SCOPE, Fault, FaultBook, FaultKind

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HANG_POLL_S = 0.05
HANG_LIMIT_S = 600.0  # a forgotten hang fault must not hold a connection (and server shutdown) forever
SLOW_BODY_CHUNKS = 10
BODY_TRANSFORM_KINDS = frozenset(
    {FaultKind.SLOW_BODY_S, FaultKind.GARBAGE_BODY, FaultKind.TRUNCATED_BODY, FaultKind.WRONG_CONTENT_TYPE}
)
_random = random.Random()


def problem_body(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()


async def wait_while_hanging(book: FaultBook, scope_name: str, receive: Receive) -> bool:
    """Hold the request while a hang fault is in force. False when the client went away meanwhile."""
    if not book.has(scope_name, FaultKind.HANG):
        return True
    deadline = time.monotonic() + HANG_LIMIT_S
    disconnect = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        while book.has(scope_name, FaultKind.HANG) and time.monotonic() < deadline and not book.stopping:
            done, _ = await asyncio.wait({disconnect}, timeout=HANG_POLL_S)
            if done:
                return False
        return True
    finally:
        disconnect.cancel()
        await asyncio.gather(disconnect, return_exceptions=True)


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def error_instead(book: FaultBook, scope_name: str) -> tuple[int, bytes] | None:
    """A 503 when the scope is down, a 500 drawn at the fault's error rate, else None."""
    if book.is_down(scope_name):
        return 503, problem_body(503, "Service Unavailable", f"{scope_name} is down (injected fault)")
    rate = book.value(scope_name, FaultKind.ERROR_RATE)
    if rate and _random.random() < rate:
        return 500, problem_body(500, "Internal Server Error", f"injected error in {scope_name}")
    return None


async def send_with_faults(
    book: FaultBook,
    scope_name: str,
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    active: list[Fault] | None = None,
) -> None:
    """Send a complete response, bent by the body faults in force for `scope_name` (`active`, when the
    caller has just looked them up)."""
    kinds = {f.kind: f for f in (book.active(scope_name) if active is None else active)}
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    if FaultKind.WRONG_CONTENT_TYPE in kinds:
        headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        headers.append((b"content-type", b"text/html; charset=utf-8"))
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>" if body[:1] in (b"{", b"[") else body
    if FaultKind.GARBAGE_BODY in kinds:
        body = _random.randbytes(max(64, len(body)))
    if FaultKind.TRUNCATED_BODY in kinds:
        headers.append((b"content-length", str(len(body) + 512).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        # returning without finishing the body makes the server close the connection mid-response
        return
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    slow = kinds.get(FaultKind.SLOW_BODY_S)
    if slow is not None and slow.value and body:
        chunk = max(1, -(-len(body) // SLOW_BODY_CHUNKS))
        pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
        pause = slow.value / len(pieces)
        for index, piece in enumerate(pieces):
            await asyncio.sleep(pause)
            await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces) - 1})
        return
    await send({"type": "http.response.body", "body": body, "more_body": False})


class FaultyResponse(Response):
    """A service endpoint's response that applies the service's faults when sent."""

    def __init__(
        self, book: FaultBook, scope_name: str, content: bytes, status_code: int, media_type: str
    ) -> None:
        super().__init__(content=content, status_code=status_code, media_type=media_type)
        self.book = book
        self.scope_name = scope_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # One look-up of the faults per step instead of one per kind: this answers most of the requests
        active = self.book.active(self.scope_name)
        if any(f.kind == FaultKind.HANG for f in active):
            if not await wait_while_hanging(self.book, self.scope_name, receive):
                return
            active = self.book.active(self.scope_name)
        latency = max((f.value or 0.0 for f in active if f.kind == FaultKind.LATENCY_MS), default=0.0)
        if latency:
            await asyncio.sleep(latency / 1000.0)
            active = self.book.active(self.scope_name)  # what is in force when the answer leaves
        headers, body = list(self.raw_headers), bytes(self.body)
        await send_with_faults(self.book, self.scope_name, send, self.status_code, headers, body, active)


class ApiFaultMiddleware:
    """ASGI middleware applying the faults scoped `api` to every route but the estate's own, which it
    answers itself through `estate.service_endpoints`."""

    EXEMPT_PREFIXES = ("/svc/", "/_control/")

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], estate: Any) -> None:
        self.app = app
        self.book: FaultBook = estate.faults
        self.service_endpoints = estate.service_endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.service_endpoints.match(scope) is not None:
            # the estate's own endpoints skip the app's routing: they answer most of the server's requests
            await self.service_endpoints(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"].startswith(self.EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        faults = self.book.active(API_SCOPE)
        if not faults:
            await self.app(scope, receive, send)
            return
        if not await wait_while_hanging(self.book, API_SCOPE, receive):
            return
        latency = self.book.value(API_SCOPE, FaultKind.LATENCY_MS)
        if latency:
            await asyncio.sleep(latency / 1000.0)
        failure = error_instead(self.book, API_SCOPE)
        if failure is not None:
            status, body = failure
            headers = [(b"content-type", b"application/problem+json")]
            await send_with_faults(self.book, API_SCOPE, send, status, headers, body)
            return
        if not any(f.kind in BODY_TRANSFORM_KINDS for f in faults):
            await self.app(scope, receive, send)
            return
        await self._send_transformed(scope, receive, send)

    async def _send_transformed(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        streaming = False

        async def capture(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/event-stream"):
                    streaming = True  # an event stream is never buffered; it passes through untouched
                    await send(message)
                    return
                start = message
            elif streaming:
                await send(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if streaming or start is None:
            return
        await send_with_faults(
            self.book, API_SCOPE, send, start["status"], list(start.get("headers", [])), b"".join(chunks)
        )

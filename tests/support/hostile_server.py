"""A hostile HTTP server of the project's own: a real server on 127.0.0.1 whose answers a test switches.

Every path answers what the test said last for it (`server.answer(path, Answer...)`), else 404. The answers
are the ways a broken or hostile server misbehaves: invalid JSON, wrong shapes, huge and trickled bodies,
garbage Prometheus text, SSE garbage and lines that never end, 401 loops, redirects, and connections that are
accepted and never answered. Each request is counted per path, so a test can bound a request rate.

It is a ThreadingHTTPServer on its own threads: the console under test talks to it over real sockets from
its own asyncio loop, and nothing it does can block the test's loop.

`HostileServer(upstream=URL)` is a hostile proxy: a path without an answer is forwarded to the upstream server
(the reference server, say) and its answer streamed back, so a test or benchmark turns a working API hostile
one path at a time (`answer(path, ...)`, then `forget(path)`).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """What a path answers: a status, headers and a body produced chunk by chunk (None: hang)."""

    status: int = 200
    content_type: str = "application/json"
    chunks: Callable[[], Iterable[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    delay_s: float = 0.0  # between chunks (a trickle)
    length: int | None = None  # Content-Length to announce (default: the body's); a lie truncates


def body(data: bytes | str, *, status: int = 200, content_type: str = "application/json") -> Answer:
    raw = data.encode() if isinstance(data, str) else data
    return Answer(status, content_type, lambda: [raw])


def json_answer(value: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    raw = json.dumps(value).encode()
    return Answer(status, "application/json", lambda: [raw], headers=dict(headers or {}))


def huge_json(megabytes: float, *, chunked: bool = False) -> Answer:
    """A valid JSON list of `megabytes` MB, streamed in chunks (never held whole by the server)."""
    size = int(megabytes * 1024 * 1024)
    item = b'"' + b"x" * 1022 + b'",'
    count = max(1, size // len(item))

    def chunks() -> Iterator[bytes]:
        yield b"["
        per_chunk = max(1, CHUNK // len(item))
        written = 0
        while written < count - 1:
            n = min(per_chunk, count - 1 - written)
            yield item * n
            written += n
        yield b'"end"]'

    length = None if chunked else 1 + (count - 1) * len(item) + len(b'"end"]')
    return Answer(200, "application/json", chunks, chunked=chunked, length=length)


def trickle(data: bytes, *, every_s: float, piece: int = 16) -> Answer:
    """`data` a few bytes at a time: a body that takes a long time to arrive."""
    return Answer(
        200,
        "application/json",
        lambda: [data[i : i + piece] for i in range(0, len(data), piece)],
        delay_s=every_s,
        chunked=True,
    )


def sse(events: Iterable[str], *, then_hang: bool = False, retry_ms: int | None = None) -> Answer:
    """An event stream of raw SSE text blocks (each one `event: ...\\ndata: ...\\n\\n`)."""
    blocks = list(events)

    def chunks() -> Iterator[bytes]:
        if retry_ms is not None:
            yield f"retry: {retry_ms}\n\n".encode()
        for block in blocks:
            yield block.encode()
        while then_hang:
            time.sleep(0.2)
            yield b": keepalive\n\n"

    return Answer(200, "text/event-stream", chunks, chunked=True)


def sse_endless_line(*, chunk: int = CHUNK) -> Answer:
    """`data: xxxxx...` that never ends with a newline, until the client goes away."""

    def chunks() -> Iterator[bytes]:
        yield b"data: "
        filler = b"x" * chunk
        while True:
            yield filler

    return Answer(200, "text/event-stream", chunks, chunked=True)


def redirect(location: str, *, status: int = 302) -> Answer:
    return Answer(status, "text/plain", lambda: [b""], headers={"Location": location})


def status(code: int, text: str = "") -> Answer:
    return body(text or json.dumps({"title": f"HTTP {code}"}), status=code)


HANG = Answer(chunks=None)


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a 16-wide fan-out, which then arrive a second
    # late (a retransmitted SYN): a timeout the console did not cause. A real server's backlog is larger.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a console refusing a body does) is no error of the server's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class HostileServer:
    """`with HostileServer() as server:` then `server.url(path)`, `server.answer(path, ...)`,
    `server.count(path)`."""

    def __init__(self, *, upstream: str | None = None) -> None:
        self.upstream = urlsplit(upstream) if upstream else None
        self._answers: dict[str, Answer] = {}
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def answer(self, path: str, answer: Answer) -> None:
        with self._lock:
            self._answers[path] = answer

    def forget(self, path: str) -> None:
        """The path answers as before `answer()`: forwarded upstream, else 404."""
        with self._lock:
            self._answers.pop(path, None)

    def count(self, path: str) -> int:
        with self._lock:
            return self._counts[path]

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            do_PATCH = do_PUT = do_DELETE = do_POST

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request_body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server._counts[path] += 1
                    answer = server._answers.get(path)
                if answer is None and server.upstream is not None:
                    try:
                        self._forward(request_body)
                    except (BrokenPipeError, ConnectionResetError, OSError):
                        self.close_connection = True
                    return
                if answer is None:
                    answer = status(404)
                if answer.chunks is None:  # accept, read the request, never answer
                    server._stopping.wait()
                    self.close_connection = True
                    return
                try:
                    self._write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _forward(self, request_body: bytes) -> None:
                """The request sent upstream as is; the answer streamed back chunked (event streams too)."""
                upstream = server.upstream
                assert upstream is not None and upstream.hostname is not None
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
                try:
                    skip = {"host", "connection", "keep-alive", "transfer-encoding"}
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                    connection.request(self.command, self.path, body=request_body or None, headers=headers)
                    response = connection.getresponse()
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in skip | {"content-length", "date", "server"}:
                            self.send_header(name, value)
                    if response.status in (204, 304) or self.command == "HEAD":
                        self.end_headers()  # no body at all
                        return
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while piece := response.read1(CHUNK):
                        if server._stopping.is_set():
                            return
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                finally:
                    connection.close()

            def _write(self, answer: Answer) -> None:
                assert answer.chunks is not None
                pieces = answer.chunks()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunked or answer.delay_s:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for piece in pieces:
                        if server._stopping.is_set():
                            return
                        if piece:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                            self.wfile.flush()
                        if answer.delay_s:
                            time.sleep(answer.delay_s)
                    self.wfile.write(b"0\r\n\r\n")
                    return
                data = b"".join(pieces) if answer.length is None else b""
                length = answer.length if answer.length is not None else len(data)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if answer.length is None:
                    self.wfile.write(data)
                    return
                for piece in pieces:  # streamed: a huge body is never held whole
                    if server._stopping.is_set():
                        return
                    self.wfile.write(piece)

        return Handler

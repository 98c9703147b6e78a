"""A bounded reader of server-sent events over `httpx.Response.aiter_bytes()`.

Written by hand because no SSE client at hand bounds what it buffers: httpx-sse (which the feed used) and
sseclient-py keep appending to a line until a newline arrives, so a `data:` line that never ends grew the
console by 113 MB in 20 s. This reader holds at most one line of `max_line_bytes` and one event of
`max_event_bytes` (plus the network chunk being split) and raises `SSELimitExceeded` ("the alert stream sent
a line over 1 MiB") the moment a line or an event would pass its limit, before buffering past it.

Everything else follows the event-stream interpretation of the WHATWG HTML standard (9.2.6): lines end with
CRLF, LF or CR (a CRLF split across two network chunks is one line end); a leading byte-order mark is
ignored; `:` starts a comment (counted, never dispatched); `field: value` loses one space after the colon, a
line without a colon is a field with an empty value; `data` lines join with LF; `event` names the type
(default "message"); `id` sets the last event id unless it holds NUL, and it persists across events (an
empty `id` resets it); `retry` sets the reconnection time when it is all ASCII digits; an empty line
dispatches, but not when no data line came; an event the stream ends in the middle of is discarded. Bytes
that are not UTF-8 decode as U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

MAX_LINE_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 4 * 1024 * 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = "\ufeff"


class SSELimitExceeded(Exception):
    """A line or an event of the stream passed its limit; str() is the human text."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str  # "message" unless the stream named the type
    data: str
    id: str  # the last event id in force when the event was dispatched ("" when none)


def size_text(n: int) -> str:
    """1048576 -> "1 MiB", 4096 -> "4 KiB", 100 -> "100 bytes"."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


class SSEParser:
    """Incremental: `feed(chunk)` returns the events that chunk completed."""

    def __init__(
        self,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_event_bytes: int = MAX_EVENT_BYTES,
        what: str = "the event stream",
    ) -> None:
        if max_line_bytes < 1 or max_event_bytes < 1:
            raise ValueError("the limits must be positive")
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self.what = what
        self.last_event_id = ""
        self.retry_ms: int | None = None  # the reconnection time the server asked for, if any
        self.comments = 0
        self._partial = bytearray()  # the line being received (no line end in it yet)
        self._skip_lf = False  # the previous chunk ended with CR: an LF first in the next one belongs to it
        self._first_line = True
        self._event = ""
        self._data: list[str] = []
        self._data_bytes = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        start = 0
        for end in _LINE_END.finditer(chunk):
            piece = chunk[start : end.start()]
            if self._partial:
                self._check_line(len(self._partial) + len(piece))
                line = bytes(self._partial) + piece
                self._partial.clear()
            else:
                self._check_line(len(piece))
                line = piece
            self._line(line, events)
            start = end.end()
            self._skip_lf = end.group() == b"\r" and start == len(chunk)
        rest = len(chunk) - start
        if rest:
            self._check_line(len(self._partial) + rest)
            self._partial += chunk[start:]
        return events

    def _check_line(self, length: int) -> None:
        if length > self.max_line_bytes:
            self._partial.clear()
            raise SSELimitExceeded(f"{self.what} sent a line over {size_text(self.max_line_bytes)}")

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        text = raw.decode("utf-8", "replace")
        if self._first_line:
            self._first_line = False
            text = text.removeprefix(_BOM)
        if not text:
            self._dispatch(events)
            return
        if text.startswith(":"):
            self.comments += 1
            return
        name, colon, value = text.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data_bytes += len(raw) + 1
            if self._data_bytes > self.max_event_bytes:
                self._data.clear()
                raise SSELimitExceeded(f"{self.what} sent an event over {size_text(self.max_event_bytes)}")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)

    def _dispatch(self, events: list[SSEEvent]) -> None:
        data, event = self._data, self._event
        self._data, self._event, self._data_bytes = [], "", 0
        if data:
            events.append(SSEEvent(event or "message", "\n".join(data), self.last_event_id))


async def aiter_sse(response: httpx.Response, parser: SSEParser) -> AsyncIterator[SSEEvent]:
    """The events of a streamed response, through `parser` (which keeps `last_event_id` and `retry_ms`)."""
    async for chunk in response.aiter_bytes():
        for event in parser.feed(chunk):
            yield event

"""The bounded SSE reader: the event-stream rules of the HTML standard, and its two limits."""

from __future__ import annotations

import pytest

from nexus_console.services.sse import SSEEvent, SSELimitExceeded, SSEParser, size_text


def parse(*chunks: bytes, **limits: int) -> tuple[list[SSEEvent], SSEParser]:
    parser = SSEParser(**limits)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events, parser


def test_fields_comments_and_multi_line_data() -> None:
    events, parser = parse(
        b"\xef\xbb\xbf: keepalive\n"
        b"retry: 2000\n"
        b"id: 7\n"
        b"event: alert\n"
        b"data: first\n"
        b"data:second\n"
        b"data\n"
        b"\n"
        b"data: no type\n\n"
    )
    assert events == [SSEEvent("alert", "first\nsecond\n", "7"), SSEEvent("message", "no type", "7")]
    assert parser.retry_ms == 2000 and parser.comments == 1 and parser.last_event_id == "7"


def test_line_ends_cr_lf_and_crlf_even_split_across_chunks() -> None:
    events, _ = parse(b"data: a\r", b"\ndata: b\r\r", b"data: c\n", b"\n")
    assert [e.data for e in events] == ["a\nb", "c"]


def test_id_rules_and_events_without_data() -> None:
    events, parser = parse(b"id: 1\n\n", b"id: 2\0x\ndata: x\n\n", b"id\ndata: y\n\n", b"retry: soon\n\n")
    assert [(e.data, e.id) for e in events] == [("x", "1"), ("y", "")]  # NUL ignored, empty id resets
    assert parser.retry_ms is None
    events, _ = parse(b"event: alert\n\n")
    assert events == []


def test_an_unfinished_event_at_the_end_is_not_dispatched_and_bad_utf8_is_replaced() -> None:
    events, _ = parse(b"data: \xff\xfe ok\n\ndata: never ends")
    assert events == [SSEEvent("message", "\ufffd\ufffd ok", "")]


def test_a_line_over_the_limit_is_refused_before_it_is_buffered() -> None:
    parser = SSEParser(max_line_bytes=1024, what="the alert stream")
    parser.feed(b"data: " + b"x" * 1000)
    with pytest.raises(SSELimitExceeded, match=r"^the alert stream sent a line over 1 KiB$"):
        parser.feed(b"x" * 100)
    with pytest.raises(SSELimitExceeded):
        SSEParser(max_line_bytes=1024).feed(b"data: " + b"y" * 2000 + b"\n")
    assert size_text(1024 * 1024) == "1 MiB" and size_text(4 * 1024 * 1024) == "4 MiB"


def test_an_event_over_the_limit_is_refused() -> None:
    parser = SSEParser(max_line_bytes=1024, max_event_bytes=4096)
    with pytest.raises(SSELimitExceeded, match="sent an event over 4 KiB"):
        for _ in range(10):
            parser.feed(b"data: " + b"z" * 1000 + b"\n")
    events, _ = parse(b"data: " + b"z" * 1000 + b"\n\n", b"data: z\n\n", max_event_bytes=4096)
    assert len(events) == 2, "the limit counts one event, not the stream"

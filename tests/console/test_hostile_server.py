"""The hostile server fixture answers what a test told it to, over real sockets."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.hostile_server import (
    HANG,
    HostileServer,
    body,
    huge_json,
    json_answer,
    sse,
    sse_endless_line,
    trickle,
)


def test_it_answers_each_path_as_told_and_counts_requests() -> None:
    with HostileServer() as server, httpx.Client(trust_env=False, timeout=5) as client:
        server.answer("/alerts", json_answer({"items": []}))
        assert client.get(server.url("/alerts")).json() == {"items": []}
        server.answer("/alerts", body("{not json"))
        with pytest.raises(json.JSONDecodeError):
            client.get(server.url("/alerts")).json()
        assert client.get(server.url("/nowhere")).status_code == 404
        assert server.count("/alerts") == 2


def test_huge_and_trickled_bodies_arrive_whole() -> None:
    with HostileServer() as server, httpx.Client(trust_env=False, timeout=10) as client:
        server.answer("/big", huge_json(2))
        server.answer("/big-chunked", huge_json(1, chunked=True))
        server.answer("/slow", trickle(b'{"ok": true}', every_s=0.01, piece=4))
        big = client.get(server.url("/big"))
        assert len(big.content) >= 2 * 1024 * 1024 - 1024 and big.json()[-1] == "end"
        assert client.get(server.url("/big-chunked")).json()[-1] == "end"
        assert client.get(server.url("/slow")).json() == {"ok": True}


def test_streams_hangs_and_endless_lines_behave_like_a_broken_server() -> None:
    with HostileServer() as server, httpx.Client(trust_env=False, timeout=2) as client:
        server.answer("/stream", sse(["event: alert\nid: 1\ndata: {}\n\n"]))
        assert "data: {}" in client.get(server.url("/stream")).text
        server.answer("/endless", sse_endless_line())
        with client.stream("GET", server.url("/endless")) as response:
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > 1024 * 1024:
                    break
        assert received > 1024 * 1024
        server.answer("/hang", HANG)
        with pytest.raises(httpx.ReadTimeout):
            client.get(server.url("/hang"), timeout=0.5)

"""Large JSON bodies are parsed off the GUI thread, in pieces that give the GIL back, with the same result
and the same errors as json.loads; small ones inline."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from typing import Any

import pytest

from nexus_console.services.api_client import NexusClient
from nexus_console.services.http import (
    FetchError,
    ResponseLimits,
    TooManyItems,
    build_http_client,
    json_parse,
    parse_json,
)
from nexus_console.services.http.limits import KiB, MiB
from nexus_console.services.profiles import TlsSettings
from tests.support.hostile_server import HostileServer, body

ALERT = {
    "id": "a1",
    "fingerprint": "f" * 16,
    "severity": "high",
    "state": "firing",
    "labels": {"service": "orders", "namespace": "shop"},
    "summary": "x" * 80,
    "description": "y" * 700,  # about 1 KB a record, like a real alert
    "value": 1.5,
    "ends_at": None,
}


def alert_page(megabytes: float) -> bytes:
    count = int(megabytes * MiB) // len(json.dumps(ALERT))
    return json.dumps(
        {"items": [dict(ALERT, id=f"a{i}") for i in range(count)], "next_cursor": None}
    ).encode()


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth > 5 or roll < 0.3:
        return rnd.choice([0, 1, -2.5, 1e300, "", 'q"\\\u00e9\U0001f600', None, True, False])
    if roll < 0.65:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return {f"k{rnd.randint(0, 5)}": random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}


def test_parsing_in_steps_gives_what_json_loads_gives() -> None:
    rnd = random.Random(7)
    for _ in range(2000):
        value = random_value(rnd)
        for text in (json.dumps(value), json.dumps(value, indent=2), f" \n{json.dumps(value)}\t "):
            assert json_parse.loads_in_steps(text) == json.loads(text)


@pytest.mark.parametrize(
    "text", ["", "[", "[1,]", '{"a"}', '{"a":1,}', "[1 2]", "{1:2}", "[1]x", '{"a":[1,2}', '["\x01"]', "nul"]
)
def test_parsing_in_steps_fails_where_json_loads_fails_and_says_the_same(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        json_parse.loads_in_steps(text)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)


def test_a_large_body_is_parsed_on_the_parse_pool_in_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    pieces: list[tuple[str, int]] = []  # (thread, characters decoded in one C call)
    scan = json_parse.scan_value

    def recording_scan(text: str, index: int) -> tuple[Any, int]:
        value, end = scan(text, index)
        pieces.append((threading.current_thread().name, end - index))
        return value, end

    monkeypatch.setattr(json_parse, "scan_value", recording_scan)
    page = alert_page(5)

    async def scenario() -> Any:
        return await parse_json(page, url="/alerts", sender="the API", limits=ResponseLimits(8 * MiB))

    value = asyncio.run(scenario())
    assert value == json.loads(page)
    threads = {name for name, _ in pieces}
    assert threads and all(name.startswith("json-parse") for name in threads), threads
    assert max(size for _, size in pieces) < 4 * KiB, "one record per C call, never the whole page"

    pieces.clear()
    small = json.dumps({"items": [ALERT] * 10}).encode()
    assert asyncio.run(
        parse_json(small, url="/x", sender="the API", limits=ResponseLimits(MiB))
    ) == json.loads(small)
    assert pieces == [], "a small body is parsed inline with json.loads"


def test_the_loop_keeps_turning_while_a_20_mb_answer_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real client and sockets: while the parse runs on its thread, a 5 ms timer on the loop
    still ticks (the figure is reported, not asserted beyond "it turned"). 20 MB, so the parse lasts many
    ticks even on a fast machine (5 MB took 20 ms on one)."""
    spans: list[tuple[str, float, float]] = []
    parse = json_parse._parse_in_steps

    def recording_parse(content: bytes, max_items: int | None) -> Any:
        started = time.perf_counter()
        try:
            return parse(content, max_items)
        finally:
            spans.append((threading.current_thread().name, started, time.perf_counter()))

    monkeypatch.setattr(json_parse, "_parse_in_steps", recording_parse)
    page = alert_page(20)
    limits = ResponseLimits(32 * MiB, max_items=50_000)

    async def scenario() -> list[float]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def clock() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.005)
                ticks.append(time.perf_counter())

        with HostileServer() as server:
            server.answer("/audit", body(page))
            async with build_http_client(TlsSettings()) as http:
                ticker = asyncio.ensure_future(clock())
                value, _ = await NexusClient(server.base_url, http).get_json("/audit", limits=limits)
                stop.set()
                await ticker
        assert len(value["items"]) == len(json.loads(page)["items"])
        return ticks

    ticks = asyncio.run(scenario())
    [(thread, started, ended)] = spans
    assert thread.startswith("json-parse")
    during = [t for t in ticks if started <= t <= ended]
    assert len(during) >= 2, f"the loop did not turn during a {1000 * (ended - started):.0f} ms parse"


def test_item_limits_stop_the_parse_and_name_the_source() -> None:
    flat = b"[" + b",".join([b"{}"] * 300_000) + b"]"  # 900 KB: off the loop, refused after 1,001 items

    async def scenario() -> None:
        limits = ResponseLimits(8 * MiB, max_items=1_000)
        with pytest.raises(TooManyItems) as refused:
            await parse_json(flat, url="http://h/alerts?limit=500", sender="the API", limits=limits)
        assert str(refused.value) == "the API sent more than 1,000 items in one list for /alerts; refused"
        nested = json.dumps({"data": {"groups": [{"rules": []}] * 1_001}}).encode()
        with pytest.raises(TooManyItems):
            await parse_json(nested, url="/api/v1/rules", sender="Prometheus", limits=limits)
        # records themselves (objects inside lists) are not counted: an alert with many labels is fine
        record = json.dumps([{"labels": {f"l{i}": "v" for i in range(5_000)}}]).encode()
        assert len((await parse_json(record, url="/x", sender="s", limits=limits))[0]["labels"]) == 5_000

    asyncio.run(scenario())


def test_invalid_json_is_a_sentence_whatever_its_size() -> None:
    async def scenario() -> None:
        for content in (b"{not json", b"[" + b'"x",' * 200_000 + b"oops]", b"\xff\xfe\xfa"):
            with pytest.raises(FetchError, match=r"^invalid JSON from /doc \(text/html\): "):
                await parse_json(
                    content,
                    url="/doc",
                    sender="the API",
                    limits=ResponseLimits(MiB),
                    content_type="text/html",
                )
        deep = b"[" * 100_000 + b"]" * 100_000
        with pytest.raises(FetchError, match="nested too deeply"):
            await parse_json(deep, url="/doc", sender="the API", limits=ResponseLimits(MiB))

    asyncio.run(scenario())

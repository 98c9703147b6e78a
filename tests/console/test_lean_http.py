"""The lean GET path of the estate fan-out against real sockets on 127.0.0.1: keep-alive, body framings,
and the failures a probe must name (truncated body, a dropped idle connection, no answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from nexus_console.services.http import build_estate_client, describe_error, get_directly
from nexus_console.services.profiles import TlsSettings

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server on 127.0.0.1; yields its base URL and a list counting accepted connections."""
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def run(coro: Awaitable[object]) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_lean_gets_reuse_one_kept_alive_connection_and_read_both_body_framings() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await read_request(reader)
            if b"GET /chunked " in head:
                writer.write(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                )
            else:
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello")
            await writer.drain()

    async def scenario() -> None:
        async with raw_server(handler) as (base, connections):
            async with build_estate_client(TlsSettings(), shards=4) as client:
                first = await get_directly(client, f"{base}/plain?x=1")
                second = await get_directly(client, f"{base}/chunked")
                third = await get_directly(client, f"{base}/plain")
            assert (first.status_code, first.content, first.headers["content-type"]) == (
                200,
                b"hello",
                "text/plain",
            )
            assert second.content == b"abcde"
            assert third.content == b"hello"
            assert str(first.request.url) == f"{base}/plain?x=1"
            assert len(connections) == 1, "sequential GETs share one kept-alive connection"

    run(scenario())


def test_a_truncated_body_is_a_broken_connection_not_a_short_answer() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"status": ')
        await writer.drain()

    async def scenario() -> None:
        async with raw_server(handler) as (base, _), build_estate_client(TlsSettings(), shards=2) as client:
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                await get_directly(client, f"{base}/health")
        host_port = base.removeprefix("http://")
        assert describe_error(caught.value) == (
            f"the server at {host_port} closed the connection before its answer was complete"
        )
        assert "received 11 bytes, expected 100" in str(caught.value)

    run(scenario())


def test_an_idle_connection_the_server_dropped_is_replaced_transparently() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        # then close without "connection: close", as a server's keep-alive timeout does

    async def scenario() -> None:
        async with raw_server(handler) as (base, connections):
            async with build_estate_client(TlsSettings(), shards=2) as client:
                assert (await get_directly(client, f"{base}/a")).content == b"ok"
                await asyncio.sleep(0.05)
                assert (await get_directly(client, f"{base}/b")).content == b"ok"
            assert len(connections) == 2

    run(scenario())


def test_a_server_that_never_answers_times_out_and_a_refused_port_cannot_connect() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def scenario() -> None:
        async with (
            raw_server(handler) as (base, _),
            build_estate_client(TlsSettings(), shards=2, timeout_s=0.3) as client,
        ):
            with pytest.raises(httpx.ReadTimeout):
                await get_directly(client, f"{base}/hang")
        async with build_estate_client(TlsSettings(), shards=2) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await get_directly(client, base + "/gone")  # the server above is closed now
        assert describe_error(caught.value).startswith("cannot connect to 127.0.0.1:")

    run(scenario())


def test_closing_the_estate_client_closes_its_lean_pool_both_ways() -> None:
    async def scenario() -> None:
        eofs: asyncio.Queue[bytes] = asyncio.Queue()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
            await eofs.put(await reader.read())  # returns once the client closes its kept-alive connection

        async with raw_server(handler) as (base, _):
            async with build_estate_client(TlsSettings(), shards=2) as client:
                assert (await get_directly(client, f"{base}/a")).content == b"ok"
            assert await asyncio.wait_for(eofs.get(), 2.0) == b""
            client = build_estate_client(TlsSettings(), shards=2)
            assert (await get_directly(client, f"{base}/b")).content == b"ok"
            await client.aclose()
            assert await asyncio.wait_for(eofs.get(), 2.0) == b""

    run(scenario())

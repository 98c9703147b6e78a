"""How the sender treats each kind of answer (unit level: an in-process transport plays the API; the
real server is in test_outbox_api.py and test_crash_replay.py)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from nexus_console.domain.admin import ActionRequest, EntityRef, EntityType
from nexus_console.domain.backoff import Backoff
from nexus_console.domain.outbox_model import OutboxState
from nexus_console.services.outbox import AsyncOutbox
from nexus_console.services.outbox_sender import OutboxSender, parse_etag_version

pytestmark = pytest.mark.asyncio

Handler = Callable[[httpx.Request], httpx.Response]


@pytest_asyncio.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[AsyncOutbox]:
    box = await AsyncOutbox.open(tmp_path / "outbox.sqlite3")
    try:
        yield box
    finally:
        await box.aclose()


class Tokens:
    def __init__(self) -> None:
        self.issued = 0

    async def __call__(self) -> str:
        self.issued += 1
        return f"token-{self.issued}"


def make_sender(outbox: AsyncOutbox, handler: Handler, tokens: Tokens | None = None) -> OutboxSender:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api.test")
    return OutboxSender(
        outbox, client, tokens or Tokens(), backoff=Backoff(1.0, 5.0, random_fraction=lambda: 1.0)
    )


def ok(request: httpx.Request, version: int = 2, **headers: str) -> httpx.Response:
    return httpx.Response(
        200, json={"id": 1, "version": version}, headers={"ETag": f'"v{version}"', **headers}
    )


def user(n: int) -> EntityRef:
    return EntityRef(EntityType.USER, str(n))


async def test_the_request_carries_key_version_reason_and_token(outbox: AsyncOutbox) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request, 8)

    entry = await outbox.enqueue(ActionRequest(user(5), "ban", "fraud ring", expected_version=7))
    sender = make_sender(outbox, handler)
    report = await sender.drain()
    await sender.client.aclose()
    [request] = seen
    assert (request.method, request.url.path) == ("PATCH", "/admin/users/5")
    assert request.headers["Idempotency-Key"] == entry.idempotency_key
    assert request.headers["If-Match"] == '"v7"'
    assert request.headers["Authorization"] == "Bearer token-1"
    assert json.loads(request.content) == {"action": "ban", "reason": "fraud ring"}
    assert report.applied == 1 and (await outbox.get(entry.id)).applied_version == 8


async def test_an_expired_token_is_refreshed_once(outbox: AsyncOutbox) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer token-1":
            return httpx.Response(401, json={"title": "Unauthorized", "detail": "access token expired"})
        return ok(request)

    tokens = Tokens()
    await outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    sender = make_sender(outbox, handler, tokens)
    report = await sender.drain()
    await sender.client.aclose()
    assert report.applied == 1 and tokens.issued == 2


async def test_a_refused_login_stops_sending_and_keeps_the_action(outbox: AsyncOutbox) -> None:
    entry = await outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    sender = make_sender(outbox, lambda r: httpx.Response(401, json={"detail": "revoked"}))
    report = await sender.drain()
    await sender.client.aclose()
    assert report.unauthorized and report.applied == 0
    assert (await outbox.get(entry.id)).state is OutboxState.QUEUED


async def test_server_errors_are_retried_later_under_the_same_key(outbox: AsyncOutbox) -> None:
    answers = iter([httpx.Response(503, json={"title": "Service Unavailable"})])
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return next(answers, None) or ok(request)

    entry = await outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    sender = make_sender(outbox, handler)
    first = await sender.drain()
    waiting = await outbox.get(entry.id)
    assert first.retried == 1 and waiting.state is OutboxState.QUEUED and waiting.http_status == 503
    assert (await outbox.next_due_at() or 0) > waiting.updated_at  # backed off, not hammered
    due_now = sqlite3.connect(outbox.outbox.path)  # another connection to the file: the retry is due now
    with due_now:
        due_now.execute("UPDATE actions SET next_attempt_at = NULL")
    due_now.close()
    second = await sender.drain()
    await sender.client.aclose()
    assert second.applied == 1 and keys == [entry.idempotency_key, entry.idempotency_key]


async def test_no_network_leaves_everything_queued_and_reports_offline(outbox: AsyncOutbox) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    for n in range(5):
        await outbox.enqueue(ActionRequest(user(n), "suspend", "spam", expected_version=1))
    sender = make_sender(outbox, handler)
    report = await sender.drain()
    await sender.client.aclose()
    assert report.offline and report.sent == 5
    counts = await outbox.counts()
    assert counts[OutboxState.QUEUED] == 5 and counts[OutboxState.SENDING] == 0


async def test_permanent_refusals_fail_and_conflicts_fetch_the_current_state(outbox: AsyncOutbox) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"id": 2, "status": "banned"}, headers={"ETag": '"v9"'})
        if request.url.path.endswith("/1"):
            return httpx.Response(
                403, json={"detail": "users.write is not granted", "required_role": "admin"}
            )
        return httpx.Response(412, json={"detail": "user 2 changed meanwhile"})

    refused = await outbox.enqueue(ActionRequest(user(1), "suspend", "spam", expected_version=1))
    stale = await outbox.enqueue(ActionRequest(user(2), "suspend", "spam", expected_version=1))
    sender = make_sender(outbox, handler)
    report = await sender.drain()
    await sender.client.aclose()
    assert (report.failed, report.conflicts) == (1, 1)
    failed = await outbox.get(refused.id)
    assert failed.state is OutboxState.FAILED and failed.last_error == "HTTP 403: users.write is not granted"
    conflict = await outbox.get(stale.id)
    assert conflict.server_state == {"id": 2, "status": "banned", "version": 9}


async def test_independent_entities_are_sent_concurrently_one_entity_strictly_in_order(
    outbox: AsyncOutbox,
) -> None:
    in_flight: dict[str, int] = {}
    overlap = {"max": 0, "same_entity": 0}
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        entity = request.url.path
        in_flight[entity] = in_flight.get(entity, 0) + 1
        overlap["same_entity"] = max(overlap["same_entity"], in_flight[entity])
        overlap["max"] = max(overlap["max"], sum(in_flight.values()))
        await asyncio.sleep(0.01)
        in_flight[entity] -= 1
        order.append(f"{entity} {json.loads(request.content)['action']}")
        version = int(request.headers["If-Match"].strip('"v')) + 1
        return httpx.Response(200, json={"version": version}, headers={"ETag": f'"v{version}"'})

    for n in range(10):
        await outbox.enqueue(ActionRequest(user(n), "suspend", "spam", expected_version=1))
        await outbox.enqueue(ActionRequest(user(n), "unsuspend", "ok"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api.test")
    sender = OutboxSender(outbox, client, Tokens(), concurrency=8)
    report = await sender.drain()
    await client.aclose()
    assert report.applied == 20
    assert overlap["max"] > 1 and overlap["same_entity"] == 1
    for n in range(10):
        mine = [o for o in order if o.startswith(f"/admin/users/{n} ")]
        assert mine == [f"/admin/users/{n} suspend", f"/admin/users/{n} unsuspend"]


async def test_etag_versions() -> None:
    assert parse_etag_version('"v12"') == 12
    assert parse_etag_version('W/"v3"') == 3
    assert parse_etag_version('"abc"') is None
    assert parse_etag_version(None) is None


async def test_the_running_sender_sends_what_is_queued_when_woken(outbox: AsyncOutbox) -> None:
    sent = asyncio.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.set()
        return ok(request)

    sender = make_sender(outbox, handler)
    task = asyncio.create_task(sender.run(idle_poll_s=30))
    try:
        await asyncio.sleep(0.05)  # idle: nothing queued yet
        entry = await outbox.enqueue(
            ActionRequest(user(3), "verify_email", "checked by phone", expected_version=1)
        )
        sender.wake()
        await asyncio.wait_for(sent.wait(), 5)
        deadline = asyncio.get_running_loop().time() + 5
        while (await outbox.get(entry.id)).state is not OutboxState.APPLIED:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await sender.client.aclose()


async def test_a_slow_answer_for_one_entity_does_not_hold_back_the_others(outbox: AsyncOutbox) -> None:
    applied_at: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(1.0 if request.url.path.endswith("/0") else 0.01)
        return ok(request)

    for n in range(24):
        await outbox.enqueue(ActionRequest(user(n), "suspend", "spam", expected_version=1))
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api.test")

    def note(results: list) -> None:  # type: ignore[type-arg]
        for result in results:
            applied_at[result.entity.id] = loop.time()

    sender = OutboxSender(outbox, client, Tokens(), batch_size=4, concurrency=4, on_results=note)
    started = loop.time()
    report = await sender.drain()
    await client.aclose()
    assert report.applied == 24
    others = [at - started for entity_id, at in applied_at.items() if entity_id != "0"]
    assert max(others) < 0.8  # all 23 landed while user 0's request was still waiting
    assert applied_at["0"] - started >= 1.0


async def test_each_answer_is_stored_in_the_transaction_that_claims_the_next_action(
    outbox: AsyncOutbox,
) -> None:
    """One commit (one fsync under synchronous=FULL) per round instead of one to store and one to claim."""
    await outbox.enqueue_many(
        [
            ActionRequest(user(1), "suspend", "spam", expected_version=1),
            ActionRequest(user(1), "unsuspend", "appeal"),
            ActionRequest(user(1), "ban", "fraud"),
        ]
    )
    versions = iter(range(2, 10))
    transactions: list[str] = []
    outbox.outbox.trace(lambda sql: transactions.append(sql) if sql == "BEGIN IMMEDIATE" else None)
    sender = make_sender(outbox, lambda request: ok(request, next(versions)))
    sender.concurrency = 1
    report = await sender.drain()
    await sender.client.aclose()
    outbox.outbox.trace(None)

    assert report.applied == 3
    # claim the first; store each answer together with the next claim (the last claim finds nothing)
    assert len(transactions) == 4
    assert [e.applied_version for e in await outbox.entries()] == [2, 3, 4]

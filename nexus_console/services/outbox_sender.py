"""Drain the outbox through the API: in order per entity, independent entities side by side.

Each entry is one request (`outbox_model.http_call`: an admin action's PATCH, an incident's change or
timeline entry) with its idempotency key and `If-Match: "v<version>"`. A connection error or a 5xx
leaves the action queued under the same key (the server replays a request it has already applied), a
409/412 parks only that entity in `conflict` with the server's current state, and every other entity
keeps going.

Also a small command-line replay process (used by the crash tests, and handy for draining a queue
without the GUI):

    python -m nexus_console.services.outbox_sender --outbox PATH --api URL --email E [--password-env VAR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from nexus_console.domain.backoff import Backoff
from nexus_console.domain.outbox_model import (
    HttpCall,
    OutboxEntry,
    SendOutcome,
    SendResult,
    classify_status,
    http_call,
)
from nexus_console.services.auth import PasswordLogin
from nexus_console.services.outbox import AsyncOutbox

TokenProvider = Callable[[], Awaitable[str]]


@dataclass
class DrainReport:
    sent: int = 0
    applied: int = 0
    replayed: int = 0  # applied answers the server gave from its idempotency record
    conflicts: int = 0
    failed: int = 0
    retried: int = 0
    offline: bool = False  # stopped early: the API could not be reached
    unauthorized: bool = False  # stopped early: the API refused the credentials

    def add(self, results: list[SendResult]) -> None:
        self.sent += len(results)
        for result in results:
            if result.outcome is SendOutcome.APPLIED:
                self.applied += 1
                self.replayed += result.replayed
            elif result.outcome is SendOutcome.CONFLICT:
                self.conflicts += 1
            elif result.outcome is SendOutcome.FAILED:
                self.failed += 1
            else:
                self.retried += 1


def parse_etag_version(etag: str | None) -> int | None:
    """`"v12"` (or `W/"v12"`) -> 12."""
    if not etag:
        return None
    value = etag.removeprefix("W/").strip('"')
    if value.startswith("v") and value[1:].isdigit():
        return int(value[1:])
    return None


def _json_or_none(response: httpx.Response) -> Mapping[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class OutboxSender:
    """Sends what the outbox has ready. `drain()` once, or `run()` until cancelled."""

    def __init__(
        self,
        outbox: AsyncOutbox,
        client: httpx.AsyncClient,
        token_provider: TokenProvider,
        *,
        batch_size: int = 64,
        concurrency: int = 16,
        request_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        on_results: Callable[[list[SendResult]], None] | None = None,
        on_claimed: Callable[[list[OutboxEntry]], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.token_provider = token_provider
        self.batch_size = batch_size
        self.request_timeout_s = request_timeout_s
        self.backoff = backoff or Backoff(0.5, 30.0)
        self._clock = clock
        self._on_results = on_results
        self._on_claimed = on_claimed  # entries moved to `sending`
        self.concurrency = max(1, concurrency)
        self._token: str | None = None
        self._wake = asyncio.Event()

    # --- running -------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Send now: something was queued, or the network came back."""
        self._wake.set()

    async def drain(self, max_s: float | None = None) -> DrainReport:
        """Send until nothing is ready (or `max_s` has passed; requests in flight finish); stop early
        when the API is unreachable or refuses us.

        A rolling window of `concurrency` requests: a slow answer for one entity holds only that slot,
        and free slots are refilled (in chunks, to keep the claiming queries few) while it waits.
        """
        report = DrainReport()
        deadline = None if max_s is None else time.monotonic() + max_s
        in_flight: set[asyncio.Task[SendResult]] = set()
        results: list[SendResult] = []
        claiming = True
        refill_at = max(1, self.concurrency // 2)
        try:
            while True:
                if claiming and deadline is not None and time.monotonic() >= deadline:
                    claiming = False
                free = self.concurrency - len(in_flight)
                limit = min(free, self.batch_size) if claiming and (free >= refill_at or not in_flight) else 0
                if results or limit:
                    # the answers so far and the next claim share one transaction (one fsync)
                    stop, batch = await self._record_and_claim(results, report, limit)
                    results = []
                    if stop:
                        claiming = False  # offline or refused: let what is in flight land, then stop
                    in_flight.update(asyncio.create_task(self._send_tagged(entry)) for entry in batch)
                    if limit and not batch and not in_flight:
                        return report
                if not in_flight:
                    return report
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                results = [task.result() for task in done]
        finally:
            for task in in_flight:
                task.cancel()

    async def _record_and_claim(
        self, results: list[SendResult], report: DrainReport, limit: int
    ) -> tuple[bool, list[OutboxEntry]]:
        """Store a group of answers and claim up to `limit` more, unless the answers say the API is
        unreachable or refuses the credentials: then (True, [])."""
        offline = any(r.outcome is SendOutcome.RETRY and r.http_status is None for r in results)
        unauthorized = any(r.outcome is SendOutcome.UNAUTHORIZED for r in results)
        retry_at = None
        if offline or unauthorized or any(r.outcome is SendOutcome.RETRY for r in results):
            retry_at = self._clock() + self.backoff.next_delay()
        elif results:
            self.backoff.reset()
        stop = offline or unauthorized
        batch = await self.outbox.record_and_claim(results, retry_at, 0 if stop else limit)
        if batch and self._on_claimed is not None:
            self._on_claimed(batch)
        if results:
            report.add(results)
            report.offline |= offline
            report.unauthorized |= unauthorized
            if self._on_results is not None:
                self._on_results(results)
        return stop, batch

    async def run(self, idle_poll_s: float = 5.0) -> None:
        """Drain whenever woken, when a retry falls due, or every `idle_poll_s`; until cancelled.

        One sender per outbox: it first takes back what an earlier, cancelled run left in `sending`.
        """
        await self.outbox.call(self.outbox.outbox.recover)
        while True:
            self._wake.clear()  # before draining: a wake() during the drain is not lost
            await self.drain()
            due = await self.outbox.next_due_at()
            wait_s = idle_poll_s if due is None else min(idle_poll_s, max(0.0, due - self._clock()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()

    # --- one request ---------------------------------------------------------------------------------

    async def _send_tagged(self, entry: OutboxEntry) -> SendResult:
        return dataclasses.replace(await self.send(entry), entity=entry.entity)

    async def _auth_headers(self, refresh: bool) -> dict[str, str]:
        if self._token is None or refresh:
            self._token = await self.token_provider()
        return {"Authorization": f"Bearer {self._token}"}

    async def send(self, entry: OutboxEntry) -> SendResult:
        """PATCH one action and classify the answer (never raises for HTTP or network trouble)."""
        call = http_call(entry)
        try:
            version = entry.expected_version
            if entry.request.spec.sends_current_version:
                state = await self._current_state(call)
                version = state.get("version") if state is not None else None
                if not isinstance(version, int):
                    return SendResult(entry.id, SendOutcome.RETRY, None, "the current version was not read")
            if version is None:
                return SendResult(entry.id, SendOutcome.FAILED, None, "no entity version to send as If-Match")
            headers = {"Idempotency-Key": entry.idempotency_key, "If-Match": f'"v{version}"'}
            response = None
            for refresh in (False, True):
                headers.update(await self._auth_headers(refresh))
                response = await self.client.request(
                    call.method,
                    call.path,
                    json=dict(call.body),
                    headers=headers,
                    timeout=self.request_timeout_s,
                )
                if response.status_code != 401:
                    break
            assert response is not None
            return await self._result(entry, response)
        except httpx.TransportError as exc:
            return SendResult(entry.id, SendOutcome.RETRY, None, f"{type(exc).__name__}: {exc}".strip(": "))
        except Exception as exc:  # the token provider failed (login refused, keychain timeout, ...)
            return SendResult(entry.id, SendOutcome.RETRY, None, f"{type(exc).__name__}: {exc}")

    async def _result(self, entry: OutboxEntry, response: httpx.Response) -> SendResult:
        status = response.status_code
        outcome = classify_status(status)
        body = _json_or_none(response)
        if outcome is SendOutcome.APPLIED:
            version = parse_etag_version(response.headers.get("ETag"))
            if version is None and body is not None and isinstance(body.get("version"), int):
                version = body["version"]
            replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
            return SendResult(entry.id, outcome, status, None, version, body, replayed)
        error = _problem_text(response, body)
        if outcome is SendOutcome.CONFLICT:
            return SendResult(
                entry.id, outcome, status, error, None, await self._current_state(http_call(entry)) or body
            )
        return SendResult(entry.id, outcome, status, error)

    async def _current_state(self, call: HttpCall) -> Mapping[str, Any] | None:
        """The entity as the server has it now (shown beside a conflict; an addition's If-Match)."""
        try:
            response = await self.client.get(
                call.state_path, headers=await self._auth_headers(False), timeout=self.request_timeout_s
            )
        except httpx.TransportError:
            return None
        body = _json_or_none(response)
        if response.status_code != 200 or body is None:
            return None
        state = dict(body)
        version = parse_etag_version(response.headers.get("ETag"))
        if version is not None:
            state["version"] = version
        return state


def _problem_text(response: httpx.Response, body: Mapping[str, Any] | None) -> str:
    if body is not None and (body.get("detail") or body.get("title")):
        return f"HTTP {response.status_code}: {body.get('detail') or body.get('title')}"
    return f"HTTP {response.status_code} from {response.request.url.path}"


# --- command line ------------------------------------------------------------------------------------


async def replay(args: argparse.Namespace) -> int:
    password = os.environ.get(args.password_env, "")
    outbox = await AsyncOutbox.open(args.outbox)
    try:
        async with httpx.AsyncClient(base_url=args.api, timeout=args.timeout) as client:
            sender = OutboxSender(
                outbox,
                client,
                PasswordLogin(client, args.email, password),
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                backoff=Backoff(0.2, 2.0),
            )
            recovered = outbox.outbox.recovered
            print(
                f"replaying {await outbox.open_count()} open actions, {recovered} resumed after a crash",
                flush=True,
            )
            deadline = time.monotonic() + args.max_seconds
            while time.monotonic() < deadline:
                report = await sender.drain()
                print(
                    f"sent {report.sent} applied {report.applied} replayed {report.replayed} "
                    f"conflicts {report.conflicts} failed {report.failed} retried {report.retried}",
                    flush=True,
                )
                due = await outbox.next_due_at()
                if due is None:
                    return 0
                await asyncio.sleep(max(0.05, min(2.0, due - time.time())))
            return 1
    finally:
        await outbox.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send the queued admin actions of an outbox file.")
    parser.add_argument("--outbox", required=True, help="the outbox SQLite file")
    parser.add_argument("--api", required=True, help="base URL of the Nexus API")
    parser.add_argument("--email", required=True)
    parser.add_argument(
        "--password-env", default="NEXUS_PASSWORD", help="environment variable with the password"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="give up after this long")
    return asyncio.run(replay(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

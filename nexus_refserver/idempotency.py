"""Idempotency keys: the first request with a key runs; later ones with the same key replay its response.

The key is reserved by inserting a row before the work starts (unique per actor and key), so two
concurrent requests with one key cannot both run: the loser waits for the winner's stored response.
Only successful (2xx) responses are stored; an error had no effect, so its key is released for a retry.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from nexus_refserver.problems import ProblemError
from nexus_refserver.schema import idempotency_keys

WAIT_FOR_FIRST_REQUEST_S = 15.0
KEY_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    headers: dict[str, str]


class _Running:
    """The first request with the key has not finished yet."""

    def __repr__(self) -> str:
        return "RUNNING"


RUNNING = _Running()


def request_fingerprint(method: str, path: str, body: object) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def forget_unfinished(self) -> None:
        """At start-up: reservations whose request never finished (the server stopped mid-request), and
        keys older than KEY_RETENTION, which no client retries any more."""
        cutoff = datetime.now(UTC) - KEY_RETENTION
        with self._engine.begin() as conn:
            conn.execute(
                delete(idempotency_keys).where(
                    or_(idempotency_keys.c.status_code.is_(None), idempotency_keys.c.created_at < cutoff)
                )
            )

    def reserve(self, actor: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None when this request owns the key and must run; else the response to replay."""
        try:
            with self._engine.begin() as conn:
                self.insert_reservation(conn, actor, key, fingerprint)
            return None
        except IntegrityError:
            pass
        deadline = time.monotonic() + WAIT_FOR_FIRST_REQUEST_S
        while True:
            found = self.find(actor, key, fingerprint)
            if found is None:
                # the first request failed and released the key: try to own it
                return self.reserve(actor, key, fingerprint)
            if isinstance(found, StoredResponse):
                return found
            if time.monotonic() > deadline:
                raise ProblemError(409, "a request with this Idempotency-Key is still running")
            time.sleep(0.02)

    def find(self, actor: str, key: str, fingerprint: str) -> StoredResponse | _Running | None:
        """What the key holds: nothing (None), a running first request (RUNNING), or its stored response.

        A key used with another request is a 422 problem."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(idempotency_keys).where(
                    and_(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key)
                )
            ).first()
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise ProblemError(
                422,
                "this Idempotency-Key was already used with a different request",
                title="Idempotency-Key reused",
            )
        if row.status_code is None:
            return RUNNING
        return StoredResponse(
            status_code=row.status_code,
            body=(row.response_body or "").encode(),
            headers=json.loads(row.response_headers or "{}"),
        )

    @staticmethod
    def insert_reservation(conn: Connection, actor: str, key: str, fingerprint: str) -> None:
        """Reserve the key inside the caller's transaction; IntegrityError when it is taken."""
        conn.execute(
            insert(idempotency_keys).values(
                actor=actor, key=key, request_hash=fingerprint, created_at=datetime.now(UTC)
            )
        )

    @staticmethod
    def store_response(conn: Connection, actor: str, key: str, response: StoredResponse) -> None:
        """Complete the key inside the caller's transaction."""
        conn.execute(
            update(idempotency_keys)
            .where(and_(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key))
            .values(
                status_code=response.status_code,
                response_body=response.body.decode(),
                response_headers=json.dumps(response.headers),
            )
        )

    def complete(self, actor: str, key: str, response: StoredResponse) -> None:
        with self._engine.begin() as conn:
            self.store_response(conn, actor, key, response)

    def release(self, actor: str, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                delete(idempotency_keys).where(
                    and_(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key)
                )
            )

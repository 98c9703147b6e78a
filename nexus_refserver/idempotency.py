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

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
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
                conn.execute(
                    insert(idempotency_keys).values(
                        actor=actor, key=key, request_hash=fingerprint, created_at=datetime.now(UTC)
                    )
                )
            return None
        except IntegrityError:
            pass
        deadline = time.monotonic() + WAIT_FOR_FIRST_REQUEST_S
        while True:
            with self._engine.connect() as conn:
                row = conn.execute(
                    select(idempotency_keys).where(
                        and_(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key)
                    )
                ).first()
            if row is None:
                # the first request failed and released the key: try to own it
                return self.reserve(actor, key, fingerprint)
            if row.request_hash != fingerprint:
                raise ProblemError(
                    422,
                    "this Idempotency-Key was already used with a different request",
                    title="Idempotency-Key reused",
                )
            if row.status_code is not None:
                return StoredResponse(
                    status_code=row.status_code,
                    body=(row.response_body or "").encode(),
                    headers=json.loads(row.response_headers or "{}"),
                )
            if time.monotonic() > deadline:
                raise ProblemError(409, "a request with this Idempotency-Key is still running")
            time.sleep(0.02)

    def complete(self, actor: str, key: str, response: StoredResponse) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(idempotency_keys)
                .where(and_(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key))
                .values(
                    status_code=response.status_code,
                    response_body=response.body.decode(),
                    response_headers=json.dumps(response.headers),
                )
            )

    def release(self, actor: str, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                delete(idempotency_keys).where(
                    and_(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key)
                )
            )

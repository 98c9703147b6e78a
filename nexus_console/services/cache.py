"""The last known state of every source, in SQLite in the platform cache directory.

All SQLite work runs on one owned worker thread (a SqliteStore), so calls are serialised and the GUI thread
never waits.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from nexus_console.domain.auth import Me
from nexus_console.domain.freshness import Stamped
from nexus_console.services.sqlite_store import SqliteStore

log = logging.getLogger(__name__)

CACHE_FILE = "cache.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS last_state (
    source TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    source_time REAL NOT NULL,
    received_at REAL NOT NULL,
    interval_s REAL NOT NULL
)
"""


class LocalCache:
    def __init__(self, path: Path, *, namespace: str = "", timeout_s: float = 5.0) -> None:
        self.path = path
        self.namespace = namespace  # the profile: two servers' states never mix
        self._store = SqliteStore(path, schema=_SCHEMA, timeout_s=timeout_s, thread_name="local-cache")

    @property
    def timeout_s(self) -> float:
        return self._store.timeout_s

    async def load(self, source: str) -> Stamped[Any] | None:
        row = await self._store.call(_load, self._key(source))
        if row is None:
            return None
        value_json, source_time, received_at, interval_s = row
        return Stamped(json.loads(value_json), source_time, received_at, interval_s)

    async def save(self, source: str, stamped: Stamped[Any]) -> None:
        """The value must be JSON-serialisable (pollers encode it with their CacheCodec)."""
        value_json = json.dumps(stamped.value, separators=(",", ":"))
        await self._store.call(_save, self._key(source), value_json, stamped)

    async def sources(self) -> list[str]:
        prefix = self._key("")
        return [key[len(prefix) :] for key in await self._store.call(_sources) if key.startswith(prefix)]

    async def aclose(self) -> None:
        await self._store.aclose()

    def _key(self, source: str) -> str:
        return f"{self.namespace}/{source}" if self.namespace else source


def _load(db: sqlite3.Connection, source: str) -> tuple[str, float, float, float] | None:
    return db.execute(
        "SELECT value_json, source_time, received_at, interval_s FROM last_state WHERE source = ?",
        (source,),
    ).fetchone()


def _save(db: sqlite3.Connection, source: str, value_json: str, stamped: Stamped[Any]) -> None:
    with db:
        db.execute(
            "INSERT INTO last_state (source, value_json, source_time, received_at, interval_s) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET value_json = excluded.value_json, "
            "source_time = excluded.source_time, received_at = excluded.received_at, "
            "interval_s = excluded.interval_s",
            (source, value_json, stamped.source_time, stamped.received_at, stamped.interval_s),
        )


def _sources(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT source FROM last_state ORDER BY source")]


async def cached_user(cache: LocalCache) -> Me | None:
    """The signed-in user as last seen (the `me` source in the local cache): an offline start uses it."""
    try:
        cached = await cache.load("me")
        return Me.from_json(cached.value) if cached is not None else None
    except Exception:
        log.warning("the cached user is unusable", exc_info=True)
        return None

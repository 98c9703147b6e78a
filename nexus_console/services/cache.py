"""The last known state of every source, in SQLite in the platform cache directory.

All SQLite work runs on one owned worker thread, so calls are serialised and the GUI thread never waits.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from nexus_console.domain.freshness import Stamped
from nexus_console.services.blocking import run_blocking

CACHE_FILE = "cache.sqlite3"
T = TypeVar("T")

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
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-cache")
        self._connection: sqlite3.Connection | None = None

    async def load(self, source: str) -> Stamped[Any] | None:
        row = await self._call(self._load, self._key(source))
        if row is None:
            return None
        value_json, source_time, received_at, interval_s = row
        return Stamped(json.loads(value_json), source_time, received_at, interval_s)

    async def save(self, source: str, stamped: Stamped[Any]) -> None:
        """The value must be JSON-serialisable (pollers encode it with their CacheCodec)."""
        value_json = json.dumps(stamped.value, separators=(",", ":"))
        await self._call(self._save, self._key(source), value_json, stamped)

    async def sources(self) -> list[str]:
        prefix = self._key("")
        return [key[len(prefix) :] for key in await self._call(self._sources) if key.startswith(prefix)]

    async def aclose(self) -> None:
        try:
            await self._call(self._close)
        finally:
            self._executor.shutdown(wait=False)

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await run_blocking(self._executor, fn, *args, timeout_s=self.timeout_s)

    def _key(self, source: str) -> str:
        return f"{self.namespace}/{source}" if self.namespace else source

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute(_SCHEMA)
        return self._connection

    def _load(self, source: str) -> tuple[str, float, float, float] | None:
        return (
            self._db()
            .execute(
                "SELECT value_json, source_time, received_at, interval_s FROM last_state WHERE source = ?",
                (source,),
            )
            .fetchone()
        )

    def _save(self, source: str, value_json: str, stamped: Stamped[Any]) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO last_state (source, value_json, source_time, received_at, interval_s) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET value_json = excluded.value_json, "
                "source_time = excluded.source_time, received_at = excluded.received_at, "
                "interval_s = excluded.interval_s",
                (source, value_json, stamped.source_time, stamped.received_at, stamped.interval_s),
            )

    def _sources(self) -> list[str]:
        return [row[0] for row in self._db().execute("SELECT source FROM last_state ORDER BY source")]

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

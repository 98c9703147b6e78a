"""One SQLite file used from asyncio: its connection lives on its own worker thread.

Every call runs on that one thread, so calls are serialised, the connection never changes threads and the
event loop never touches the disk. The connection opens on the first call (WAL, then the given pragmas).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from nexus_console.services.blocking import run_blocking

T = TypeVar("T")


def connect(
    path: Path | str, *, pragmas: Sequence[str] = (), schema: str = "", **connect_args: Any
) -> sqlite3.Connection:
    """Open `path` (creating its directory) in WAL mode, apply `pragmas` ("synchronous=FULL", ...) and run
    `schema` (idempotent DDL). `connect_args` go to sqlite3.connect."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, **connect_args)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        for pragma in pragmas:
            connection.execute(f"PRAGMA {pragma}")
        if schema:
            connection.executescript(schema)
    except BaseException:
        connection.close()
        raise
    return connection


class SqliteStore:
    """A lazily opened SQLite connection on a one-thread executor; `call` runs work there with a timeout."""

    def __init__(
        self,
        path: Path | str,
        *,
        pragmas: Sequence[str] = (),
        schema: str = "",
        timeout_s: float,
        thread_name: str,
        **connect_args: Any,
    ) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._pragmas = tuple(pragmas)
        self._schema = schema
        self._connect_args = connect_args
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._connection: sqlite3.Connection | None = None  # only touched on the worker thread

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on the worker thread, awaited for at most `timeout_s`.

        (run_blocking awaits under asyncio.timeout, not wait_for, which on Python 3.11 can swallow a cancel.)
        """
        return await run_blocking(self._executor, self._apply, fn, args, timeout_s=self.timeout_s)

    async def aclose(self) -> None:
        """Close the connection on its thread, then stop the thread (waiting for it only when the close
        finished, so a stuck call never blocks the event loop)."""
        closed = False
        try:
            await run_blocking(self._executor, self._close, timeout_s=self.timeout_s)
            closed = True
        finally:
            self._executor.shutdown(wait=closed)

    def _apply(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._connection is None:
            self._connection = connect(
                self.path, pragmas=self._pragmas, schema=self._schema, **self._connect_args
            )
        return fn(self._connection, *args)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

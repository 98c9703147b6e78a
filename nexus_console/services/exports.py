"""Exports of tables and reports to CSV or XLSX, written by a process of their own (`services.export_worker`
says why) and watched from the session's executor, so the window keeps turning: an `ExportJob` publishes its
progress on a feed, can be cancelled, and its `result()` is the file written (a cancelled or failed job leaves
no file under the chosen name: `services.report_export`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_console.services.export_process import ExportCancel, export_in_process
from nexus_console.services.feeds import Feed
from nexus_console.services.report_export import ExportFormat, ExportResult


@dataclass(frozen=True, slots=True)
class ExportProgress:
    rows_written: int
    total_rows: int | None

    def text(self) -> str:
        if self.total_rows:
            return f"{self.rows_written:,} of {self.total_rows:,} rows written"
        return f"{self.rows_written:,} rows written"


class ExportJob:
    """One export under way: `progress` (a feed), `cancel()`, and `await result()`."""

    def __init__(
        self,
        path: Path,
        future: asyncio.Future[ExportResult],
        cancel: ExportCancel,
        progress: Feed[ExportProgress],
    ) -> None:
        self.path = path
        self.progress = progress
        self._future = future
        self._cancel = cancel

    def cancel(self) -> None:
        self._cancel()

    async def result(self) -> ExportResult:
        return await self._future


class Exports:
    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self._executor = executor

    def start(
        self,
        path: Path,
        fmt: ExportFormat | str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        total_rows: int | None = None,
        sheet_name: str = "Report",
    ) -> ExportJob:
        """Start writing `rows` to `path` (call on the loop's thread); `rows` is read on the executor."""
        loop = asyncio.get_running_loop()
        cancel = ExportCancel()
        progress: Feed[ExportProgress] = Feed(f"export {path.name}")

        def report(written: int, total: int | None) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(progress.publish, ExportProgress(written, total))

        def run() -> ExportResult:
            return export_in_process(
                path,
                ExportFormat(fmt),
                columns,
                rows,
                total_rows=total_rows,
                on_progress=report,
                cancel=cancel,
                sheet_name=sheet_name,
            )

        return ExportJob(path, loop.run_in_executor(self._executor, run), cancel, progress)

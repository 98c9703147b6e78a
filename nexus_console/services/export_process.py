"""The console's side of an export in its own process (`services.export_worker`, which says why): start the
child, feed it the rows in pickled batches from a thread, read its progress and outcome, and terminate it on
cancel. Blocking: run it on a worker thread."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from nexus_console.services.export_worker import read_frame, send_frame
from nexus_console.services.report_export import ExportCancelled, ExportFormat, ExportResult

BATCH_ROWS = 5_000  # a batch pickles in a few ms: the GUI thread never waits longer for the lock
STOP_WAIT_S = 10.0


class ExportCancel:
    """Cancels an export: stops feeding rows and terminates its process (which removes its partial file)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._process = process
            if self.event.is_set():
                process.terminate()

    def __call__(self) -> None:
        with self._lock:
            self.event.set()
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()


def export_in_process(
    path: Path,
    fmt: ExportFormat,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    total_rows: int | None,
    sheet_name: str,
    on_progress: Callable[[int, int | None], None],
    cancel: ExportCancel,
) -> ExportResult:
    """Write `rows` to `path` in a child process; raises as `export_rows` would (ExportCancelled, OSError,
    the rows' own error)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nexus_console.services.export_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    cancel.attach(process)
    feeding_failed: list[BaseException] = []

    def feed() -> None:
        stdin = process.stdin
        assert stdin is not None
        try:
            job = {"path": str(path), "format": fmt.value, "columns": list(columns), "total_rows": total_rows,
                   "sheet_name": sheet_name}  # fmt: skip
            send_frame(stdin, job)
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(row))
                if len(batch) == BATCH_ROWS:
                    if cancel.event.is_set():
                        return
                    send_frame(stdin, batch)
                    batch = []
            send_frame(stdin, batch)
            send_frame(stdin, None)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child stopped (cancelled, or failed: it says which)
        except BaseException as exc:  # the rows failed: nothing may be left under the name
            feeding_failed.append(exc)
            cancel()
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    feeder = threading.Thread(target=feed, name=f"export-feed {path.name}", daemon=True)
    feeder.start()
    try:
        outcome = _outcome(process, on_progress)
    finally:
        feeder.join()
        process.stdout.close()
        try:
            process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if feeding_failed:
        raise feeding_failed[0]
    kind, *details = outcome
    if kind == "done":
        rows_written, sheets, seconds = details
        return ExportResult(path, rows_written, sheets, seconds)
    if kind == "cancelled":
        raise ExportCancelled()
    if kind == "oserror":
        errno, strerror, filename = details
        raise OSError(errno, strerror, filename)
    raise RuntimeError(f"the export failed: {details[0]}")


def _outcome(
    process: subprocess.Popen[bytes], on_progress: Callable[[int, int | None], None]
) -> tuple[Any, ...]:
    assert process.stdout is not None
    while True:
        try:
            frame = read_frame(process.stdout)
        except EOFError:
            code = process.wait()
            return ("error", f"the export process stopped unexpectedly (exit code {code})")
        if frame[0] == "progress":
            on_progress(frame[1], frame[2])
            continue
        return tuple(frame)

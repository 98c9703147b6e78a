"""Exports in a process of their own (`python -m nexus_console.services.export_worker`).

Why a process: xlsxwriter is pure Python, and on a worker thread it holds the interpreter lock the GUI thread
needs for every paint; measured, the window froze for 1-2 s at a time during a million-row export. Here the
console's side only pickles rows in batches (C, a few ms each) and writes them to a pipe; the child writes the
file with `report_export.export_rows` and reports progress. A cancel terminates the child, whose SIGTERM
handler cancels the export, so its partial file is removed as on any cancel.

Frames both ways are length-prefixed pickles. Parent → child: the job (path, format, columns, total, sheet
name), then row batches, then None. Child → parent: ("progress", written, total), then ("done", rows, sheets,
seconds) or ("cancelled",) or ("oserror", errno, strerror, filename) or ("error", text).
"""

from __future__ import annotations

import pickle
import signal
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from nexus_console.services.report_export import ExportCancelled, ExportFormat, export_rows

HEADER = struct.Struct("!I")


def send_frame(stream: BinaryIO, value: Any) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    """The next frame; EOFError at the end of the stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError
    size = HEADER.unpack(head)[0]
    body = stream.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)  # frames come only from the console that started this process


def main() -> int:
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    job = read_frame(source)

    def rows() -> Iterator[Any]:
        while not cancel.is_set():
            try:
                batch = read_frame(source)
            except EOFError:
                return  # the console went away or cancelled: export_rows checks `cancel` next
            if batch is None:
                return
            yield from batch

    try:
        result = export_rows(
            Path(job["path"]),
            ExportFormat(job["format"]),
            job["columns"],
            rows(),
            total_rows=job["total_rows"],
            on_progress=lambda written, total: send_frame(sink, ("progress", written, total)),
            cancel=cancel,
            sheet_name=job["sheet_name"],
        )
    except ExportCancelled:
        send_frame(sink, ("cancelled",))
        return 0
    except OSError as exc:
        send_frame(sink, ("oserror", exc.errno, exc.strerror, exc.filename))
        return 0
    except Exception as exc:  # reported to the console, which raises it there
        send_frame(sink, ("error", f"{type(exc).__name__}: {exc}"))
        return 0
    send_frame(sink, ("done", result.rows, result.sheets, result.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

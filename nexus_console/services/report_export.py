"""Reports to CSV or Excel, streamed row by row from any iterable. Qt-free.

`export_rows` writes rows strictly in order and never holds them: xlsxwriter's constant-memory mode flushes
each finished row to a temporary file, so the peak stays flat for a million rows as for ten (an in-memory
workbook, or a DataFrame handed to openpyxl, grows with every cell). A sheet holds at most Excel's 1,048,576
rows, so a longer report continues on `Report (2)`, `Report (3)` …, each with the header.

The export goes to a hidden temporary file beside the target (`.<name>.<random>.part`), renamed onto the
chosen name with `os.replace` only once complete: a cancelled or failed export removes its partial file and
never leaves a half-written report under the name the user chose, nor replaces a file already there.
Thread-safe: each call owns its writer and files and the module keeps no mutable state, so an export runs on
a worker thread while another sets `cancel`; `on_progress` is called on the exporting thread.
"""

from __future__ import annotations

import contextlib
import csv
import numbers
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

EXCEL_MAX_DATA_ROWS = 1_048_575  # Excel's 1,048,576 rows less the header row each sheet repeats
EXCEL_MAX_COLUMNS = 16_384
_SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_WIDTH_MIN, _WIDTH_MAX = 8, 50  # column widths in characters, from the header
_DATETIME_WIDTH, _DATE_WIDTH = 19, 10  # a first row's dates widen theirs to show without "####"
# Cell types xlsxwriter writes as we want without help (datetime and date through the sheet's handlers);
# a row holding anything else goes through `_xlsx_cell` first.
_XLSX_NATIVE = frozenset({int, float, Decimal, str, bool, type(None), datetime, date})
_CSV_NATIVE = frozenset({int, float, str, bool, type(None), date})  # csv writes None as "", date as ISO


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ExportCancelled(Exception):
    """The export was cancelled through its event; the partial file was removed."""

    def __init__(self, message: str = "The export was cancelled; no file was written.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int  # data rows, headers not counted
    sheets: int  # 1 for CSV
    seconds: float


def export_rows(
    path: Path,
    fmt: ExportFormat,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    total_rows: int | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
    sheet_name: str = "Report",
    max_rows_per_sheet: int = EXCEL_MAX_DATA_ROWS,
    progress_every: int = 10_000,
) -> ExportResult:
    """Write `columns` then every row of `rows` to `path` as CSV or XLSX, consuming `rows` once, in order.

    `on_progress(rows_written, total_rows)` is called every `progress_every` rows and once at the end;
    `cancel` is checked at the same points and before the file is put in place: once set, the partial file
    is removed and ExportCancelled raised. Any exception (from `rows` too) removes it and propagates.
    CSV: utf-8, None empty, datetimes ISO 8601. XLSX: a bold frozen header on every sheet, numbers as numbers,
    datetimes as Excel dates (aware ones in UTC, since Excel has no time zones), None blank, the rest as text;
    after `max_rows_per_sheet` data rows the report continues on a new sheet.
    """
    fmt = ExportFormat(fmt)
    if not 1 <= max_rows_per_sheet <= EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"max_rows_per_sheet must be within 1..{EXCEL_MAX_DATA_ROWS:,}")
    if progress_every < 1:
        raise ValueError("progress_every must be at least 1")
    path = Path(path)
    started = time.perf_counter()
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    cancelled = (cancel or threading.Event()).is_set
    written, reported = 0, -1

    def checkpoint() -> None:
        nonlocal reported
        if on_progress is not None and reported != written:
            on_progress(written, total_rows)
            reported = written
        if cancelled():
            raise ExportCancelled()

    try:
        if cancelled():
            raise ExportCancelled()
        sink = _CsvSink(part, columns) if fmt is ExportFormat.CSV else _XlsxSink(part, columns, sheet_name)
        with sink:
            write, in_sheet = sink.write, 0
            limit = max_rows_per_sheet if fmt is ExportFormat.XLSX else -1  # a CSV file is one table
            for row in rows:
                if in_sheet == limit:
                    sink.next_sheet()
                    in_sheet = 0
                write(row)
                in_sheet += 1
                written += 1
                if written % progress_every == 0:
                    checkpoint()
            if cancelled():  # before closing, which takes a while for a workbook
                raise ExportCancelled()
        checkpoint()  # the total, once the file is complete
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        raise
    return ExportResult(path, written, sink.sheets, time.perf_counter() - started)


# A spreadsheet opening the CSV would run a text cell starting so as a formula (a vendor named
# "=HYPERLINK(…)"): such cells get a leading apostrophe, as OWASP advises. Excel files need none (text
# cells are written as strings there).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    return f"'{value}" if type(value) is str and value.startswith(_FORMULA_START) else value


class _Sink:
    sheets = 1

    def __enter__(self) -> _Sink:
        return self


class _CsvSink(_Sink):
    def __init__(self, part: Path, columns: Sequence[str]) -> None:
        self._file = part.open("x", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(columns)

    def write(self, row: Sequence[Any]) -> None:
        if not _CSV_NATIVE.issuperset(map(type, row)):
            row = [value.isoformat() if isinstance(value, datetime) else value for value in row]
        if any(type(value) is str and value.startswith(_FORMULA_START) for value in row):
            row = [_inert(value) for value in row]
        self._writer.writerow(row)

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class _XlsxSink(_Sink):
    def __init__(self, part: Path, columns: Sequence[str], sheet_name: str) -> None:
        # xlsxwriter keeps each sheet's rows in a scratch file until close(), and deletes it only then:
        self._scratch = tempfile.TemporaryDirectory(prefix="nexus-export-", ignore_cleanup_errors=True)
        self._file = part.open("xb")  # at once, so a folder that cannot be written fails before any row
        import xlsxwriter  # here: the console's process never writes a workbook (services.export_worker does)

        self._book = xlsxwriter.Workbook(
            self._file,
            {
                "constant_memory": True,
                "tmpdir": self._scratch.name,
                "strings_to_formulas": False,  # a cell reading "=cmd|..." is text, never a formula
                "strings_to_urls": False,
                "nan_inf_to_errors": True,  # NaN / inf become #NUM! / #DIV/0! rather than failing
                "default_date_format": "yyyy-mm-dd hh:mm:ss",
                # Python's zipfile adds ZIP64 records only to a part that needs them (a sheet over 4 GB).
                "use_zip64": True,
            },
        )
        self._columns = list(columns)
        self._base_name = _sheet_name(sheet_name)
        self._bold = self._book.add_format({"bold": True})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._widths = [min(max(len(str(name)) + 2, _WIDTH_MIN), _WIDTH_MAX) for name in self._columns]
        self._widened = False
        self.sheets = 0
        self.next_sheet()

    def next_sheet(self) -> None:
        self.sheets += 1
        suffix = "" if self.sheets == 1 else f" ({self.sheets})"
        sheet = self._book.add_worksheet(self._base_name[: _SHEET_NAME_MAX - len(suffix)] + suffix)
        sheet.add_write_handler(datetime, _write_datetime)
        sheet.add_write_handler(date, self._write_date)
        sheet.write_row(0, 0, self._columns, self._bold)
        sheet.freeze_panes(1, 0)
        self._sheet, self._row = sheet, 1
        self._set_widths()

    def write(self, row: Sequence[Any]) -> None:
        if not _XLSX_NATIVE.issuperset(map(type, row)):
            row = [_xlsx_cell(value) for value in row]
        if not self._widened:
            self._widen_for(row)
        if self._sheet.write_row(self._row, 0, row):
            # write_row stops at the first cell it could not write whole: a string over Excel's 32,767
            # characters is written truncated (-2); the cells after it are written one by one.
            for col, value in enumerate(row):
                if self._sheet.write(self._row, col, value) == -1:
                    raise ValueError(f"Excel sheets hold at most {EXCEL_MAX_COLUMNS:,} columns")
        self._row += 1

    def _write_date(self, sheet: Any, row: int, col: int, value: date, fmt: Any = None) -> int:
        return sheet.write_datetime(row, col, value, fmt or self._date)

    def _widen_for(self, row: Sequence[Any]) -> None:  # once, from the first row: no data is scanned
        self._widened = True
        for col, value in enumerate(row[: len(self._widths)]):
            if isinstance(value, date):
                least = _DATETIME_WIDTH if isinstance(value, datetime) else _DATE_WIDTH
                self._widths[col] = max(self._widths[col], least)
        self._set_widths()

    def _set_widths(self) -> None:
        for col, width in enumerate(self._widths):
            self._sheet.set_column(col, col, width)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None:
                self._book.close()
            else:  # nothing to assemble: close the sheets' scratch files so their directory can go
                for sheet in self._book.worksheets():
                    scratch = getattr(sheet, "row_data_fh", None)
                    if scratch is not None:
                        scratch.close()
        finally:
            self._file.close()
            self._scratch.cleanup()


def _write_datetime(sheet: Any, row: int, col: int, value: datetime, fmt: Any = None) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return sheet.write_datetime(row, col, value, fmt)


def _xlsx_cell(value: Any) -> Any:
    """A value xlsxwriter writes as we want: numbers, dates and blanks as they are, anything else as text."""
    if value is None or isinstance(value, numbers.Real | Decimal):  # bool and IntEnum included
        return value
    if isinstance(value, datetime):  # a subclass (pandas' Timestamp): a plain naive one, in UTC if aware
        return datetime(
            *(value.astimezone(UTC) if value.tzinfo else value).timetuple()[:6], value.microsecond
        )
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    return str(value)


def _sheet_name(name: str) -> str:
    """A name Excel accepts: no []:*?/\\ characters, no leading or trailing apostrophe, 31 characters."""
    cleaned = _SHEET_NAME_FORBIDDEN.sub("_", name)[:_SHEET_NAME_MAX].strip().strip("'")
    return cleaned or "Report"

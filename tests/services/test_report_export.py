"""Report export: CSV and Excel files that read back as written, Excel's row limit met by splitting into
sheets, and a cancelled or failed export that leaves no file behind (nor touches one already there)."""

from __future__ import annotations

import csv
import tempfile
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from nexus_console.services.report_export import (
    EXCEL_MAX_DATA_ROWS,
    ExportCancelled,
    ExportFormat,
    ExportResult,
    export_rows,
)

COLUMNS = ["service", "latency_ms", "errors", "checked_at", "owner"]
CHECKED = datetime(2026, 3, 11, 14, 20, 5)
ROWS = [
    ("svc-a", 12.5, 0, CHECKED, "team-a"),
    ("svc-b", 3.0, 7, CHECKED + timedelta(minutes=1), None),
    ("svc-c", 0.25, 42, None, "team-c"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "reports"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system temporary directory, for this test alone: an export leaves nothing in it either."""
    path = tmp_path / "system-tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    yield path
    assert list(path.iterdir()) == []


class Stamp(datetime):
    """A datetime of its own type, as pandas' Timestamp is."""


def numbered(count: int, consumed: list[int] | None = None) -> Iterator[tuple[int, int]]:
    for i in range(count):
        if consumed is not None:
            consumed[0] = i + 1
        yield (i, i % 7)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


# --- CSV ---------------------------------------------------------------------------------------------------


def test_a_csv_export_reads_back_with_its_header_values_blanks_and_iso_datetimes(folder: Path) -> None:
    result = export_rows(folder / "checks.csv", ExportFormat.CSV, COLUMNS, iter(ROWS))

    assert read_csv(folder / "checks.csv") == [
        COLUMNS,
        ["svc-a", "12.5", "0", "2026-03-11T14:20:05", "team-a"],
        ["svc-b", "3.0", "7", "2026-03-11T14:21:05", ""],
        ["svc-c", "0.25", "42", "", "team-c"],
    ]
    assert result == ExportResult(folder / "checks.csv", rows=3, sheets=1, seconds=result.seconds)
    assert list(folder.iterdir()) == [folder / "checks.csv"]


def test_a_csv_datetime_keeps_its_offset_in_iso_8601(folder: Path) -> None:
    at = datetime(2026, 3, 11, 14, 20, tzinfo=timezone(timedelta(hours=2)))
    export_rows(folder / "r.csv", ExportFormat.CSV, ["at", "day"], [(at, date(2026, 3, 11))])

    assert read_csv(folder / "r.csv")[1] == ["2026-03-11T14:20:00+02:00", "2026-03-11"]


def test_a_csv_text_cell_a_spreadsheet_would_run_as_a_formula_is_kept_as_text(folder: Path) -> None:
    rows = [('=HYPERLINK("http://x")', -5, "+1", "@SUM(A1)", "plain", "a=b")]
    export_rows(folder / "r.csv", ExportFormat.CSV, ["vendor", "n", "a", "b", "c", "d"], rows)

    assert read_csv(folder / "r.csv")[1] == [
        '\'=HYPERLINK("http://x")',
        "-5",
        "'+1",
        "'@SUM(A1)",
        "plain",
        "a=b",
    ]


def test_csv_never_splits_a_report(folder: Path) -> None:
    result = export_rows(
        folder / "r.csv", ExportFormat.CSV, ["n", "m"], numbered(2500), max_rows_per_sheet=1000
    )

    assert (result.rows, result.sheets) == (2500, 1)
    assert len(read_csv(folder / "r.csv")) == 2501


# --- XLSX --------------------------------------------------------------------------------------------------


def test_an_xlsx_export_has_a_bold_header_numbers_as_numbers_and_datetimes_as_dates(folder: Path) -> None:
    result = export_rows(folder / "checks.xlsx", ExportFormat.XLSX, COLUMNS, iter(ROWS))

    book = openpyxl.load_workbook(folder / "checks.xlsx", read_only=True)
    try:
        assert book.sheetnames == ["Report"]
        header, *data = book["Report"].iter_rows()
        assert [cell.value for cell in header] == COLUMNS
        assert all(cell.font.b for cell in header)
        assert [[cell.value for cell in row] for row in data] == [list(row) for row in ROWS]
        first = data[0]
        assert isinstance(first[1].value, float) and isinstance(first[2].value, int)
        assert isinstance(first[3].value, datetime) and first[3].is_date
    finally:
        book.close()
    assert (result.rows, result.sheets) == (3, 1)
    assert list(folder.iterdir()) == [folder / "checks.xlsx"]


def test_xlsx_writes_aware_datetimes_in_utc_and_other_values_as_text(folder: Path) -> None:
    aware = datetime(2026, 3, 11, 16, 20, tzinfo=timezone(timedelta(hours=2)))
    rows = [
        (aware, date(2026, 3, 11), "=1+1", True, None),
        (Stamp.fromisoformat("2026-03-11T16:20+02:00"), date(2026, 3, 12), ExportFormat.CSV, 1, Path("a/b")),
    ]
    export_rows(folder / "r.xlsx", ExportFormat.XLSX, ["at", "day", "text", "flag", "other"], rows)

    book = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    try:
        cells = list(book.active.iter_rows())[1:]
        values = [[cell.value for cell in row] for row in cells]
        date_formats = [row[1].number_format for row in cells]
    finally:
        book.close()
    assert values == [
        [datetime(2026, 3, 11, 14, 20), datetime(2026, 3, 11), "=1+1", True, None],
        [datetime(2026, 3, 11, 14, 20), datetime(2026, 3, 12), "csv", 1, "a/b"],
    ]
    assert date_formats == ["yyyy-mm-dd", "yyyy-mm-dd"]  # a date without a time of day


def test_a_string_longer_than_an_excel_cell_is_cut_to_fit_and_the_rest_of_the_row_kept(folder: Path) -> None:
    export_rows(folder / "r.xlsx", ExportFormat.XLSX, ["before", "log", "after"], [(1, "x" * 40_000, 3)])

    book = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    before, log, after = list(book.active.iter_rows(values_only=True))[1]
    book.close()
    assert (before, len(log), after) == (1, 32_767, 3)


def test_a_report_longer_than_a_sheet_continues_on_numbered_sheets_each_with_the_header(folder: Path) -> None:
    result = export_rows(
        folder / "r.xlsx", ExportFormat.XLSX, ["n", "m"], numbered(2500), max_rows_per_sheet=1000
    )

    assert (result.rows, result.sheets) == (2500, 3)
    book = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    try:
        assert book.sheetnames == ["Report", "Report (2)", "Report (3)"]
        sheets = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
        bold = [all(cell.font.b for cell in next(sheet.iter_rows())) for sheet in book.worksheets]
    finally:
        book.close()
    assert [len(rows) for rows in sheets] == [1001, 1001, 501]
    assert all(rows[0] == ("n", "m") for rows in sheets) and all(bold)
    assert [rows[1][0] for rows in sheets] == [0, 1000, 2000]  # in order, none lost or repeated
    assert sheets[2][-1] == (2499, 2499 % 7)
    full = openpyxl.load_workbook(folder / "r.xlsx")  # freeze panes are not read in read-only mode
    assert [sheet.freeze_panes for sheet in full.worksheets] == ["A2", "A2", "A2"]


def test_sheet_names_are_made_acceptable_to_excel(folder: Path) -> None:
    name = "Q1: latency/errors [draft]*? for every service"
    export_rows(
        folder / "r.xlsx", ExportFormat.XLSX, ["n", "m"], numbered(3), sheet_name=name, max_rows_per_sheet=2
    )

    book = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    names = book.sheetnames
    book.close()
    assert names == ["Q1_ latency_errors _draft___ fo", "Q1_ latency_errors _draft__ (2)"]
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


@pytest.mark.slow
def test_a_million_rows_to_csv_are_all_there_in_one_file(folder: Path) -> None:
    result = export_rows(folder / "big.csv", ExportFormat.CSV, ["n", "m"], numbered(1_000_000))

    assert (result.rows, result.sheets) == (1_000_000, 1)
    with (folder / "big.csv").open(encoding="utf-8") as file:
        lines = sum(1 for _ in file)
    assert lines == 1_000_001 and list(folder.iterdir()) == [folder / "big.csv"]


@pytest.mark.slow
def test_one_row_past_excel_s_limit_goes_to_a_second_sheet(folder: Path) -> None:
    result = export_rows(
        folder / "big.xlsx", ExportFormat.XLSX, ["n", "m"], numbered(EXCEL_MAX_DATA_ROWS + 1)
    )

    assert (result.rows, result.sheets) == (1_048_576, 2)
    book = openpyxl.load_workbook(folder / "big.xlsx", read_only=True)
    try:
        first, second = book.worksheets
        assert first.max_row == 1_048_576  # Excel's last row: the header and EXCEL_MAX_DATA_ROWS rows
        assert list(second.iter_rows(values_only=True)) == [("n", "m"), (1_048_575, 1_048_575 % 7)]
    finally:
        book.close()


# --- progress, cancel, failure -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_progress_is_reported_with_the_total_every_so_many_rows_and_once_at_the_end(
    folder: Path, fmt: ExportFormat
) -> None:
    seen: list[tuple[int, int | None]] = []
    export_rows(
        folder / f"r.{fmt}",
        fmt,
        ["n", "m"],
        numbered(2500),
        total_rows=2500,
        on_progress=lambda done, total: seen.append((done, total)),
        progress_every=1000,
    )
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_the_end_is_not_reported_twice_and_an_unknown_total_is_none(folder: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    export_rows(
        folder / "r.csv",
        ExportFormat.CSV,
        ["n", "m"],
        numbered(2000),
        on_progress=lambda done, total: seen.append((done, total)),
        progress_every=1000,
    )
    assert seen == [(1000, None), (2000, None)]


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_cancel_stops_the_export_at_the_next_progress_and_leaves_no_file(
    folder: Path, fmt: ExportFormat
) -> None:
    cancel = threading.Event()
    consumed = [0]

    def progress(done: int, total: int | None) -> None:
        assert total == 100_000
        if done >= 10_000:
            cancel.set()

    with pytest.raises(ExportCancelled, match="cancelled; no file was written"):
        export_rows(
            folder / f"r.{fmt}",
            fmt,
            ["n", "m"],
            numbered(100_000, consumed),
            total_rows=100_000,
            on_progress=progress,
            cancel=cancel,
        )

    assert consumed[0] == 10_000
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_cancelled_export_leaves_a_file_already_at_the_path_as_it_was(
    folder: Path, fmt: ExportFormat
) -> None:
    target = folder / f"r.{fmt}"
    target.write_bytes(b"last week's report")
    cancel = threading.Event()

    with pytest.raises(ExportCancelled):
        export_rows(
            target,
            fmt,
            ["n", "m"],
            numbered(100_000),
            cancel=cancel,
            on_progress=lambda done, total: cancel.set(),
        )

    assert target.read_bytes() == b"last week's report"
    assert list(folder.iterdir()) == [target]


def test_an_export_cancelled_before_it_starts_writes_nothing(folder: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExportCancelled):
        export_rows(folder / "r.xlsx", ExportFormat.XLSX, ["n", "m"], numbered(10), cancel=cancel)
    assert list(folder.iterdir()) == []


def test_an_export_on_a_worker_thread_is_cancelled_from_another_thread(folder: Path) -> None:
    cancel, started = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def progress(done: int, total: int | None) -> None:
        started.set()
        cancel.wait(timeout=10)

    def work() -> None:
        try:
            export_rows(
                folder / "r.xlsx",
                ExportFormat.XLSX,
                ["n", "m"],
                numbered(50_000),
                on_progress=progress,
                cancel=cancel,
                progress_every=1000,
            )
        except ExportCancelled as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(timeout=10)
    cancel.set()
    worker.join(timeout=10)

    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ExportCancelled)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_a_failing_source_propagates_its_error_and_leaves_no_file(folder: Path, fmt: ExportFormat) -> None:
    def failing() -> Iterator[tuple[int, int]]:
        yield from numbered(25_000)
        raise ConnectionError("the database went away")

    existing = folder / "kept.txt"
    existing.write_text("untouched")
    with pytest.raises(ConnectionError, match="the database went away"):
        export_rows(folder / f"r.{fmt}", fmt, ["n", "m"], failing())

    assert list(folder.iterdir()) == [existing]
    assert existing.read_text() == "untouched"


def test_a_folder_that_does_not_exist_fails_before_any_row_is_read(folder: Path) -> None:
    consumed = [0]
    with pytest.raises(FileNotFoundError):
        export_rows(folder / "missing" / "r.xlsx", ExportFormat.XLSX, ["n", "m"], numbered(10, consumed))
    assert consumed[0] == 0


def test_an_empty_report_is_a_header_alone(folder: Path) -> None:
    csv_result = export_rows(folder / "r.csv", ExportFormat.CSV, ["n", "m"], [])
    xlsx_result = export_rows(folder / "r.xlsx", ExportFormat.XLSX, ["n", "m"], [])

    assert read_csv(folder / "r.csv") == [["n", "m"]]
    book = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows == [("n", "m")]
    assert (csv_result.rows, xlsx_result.rows, xlsx_result.sheets) == (0, 0, 1)

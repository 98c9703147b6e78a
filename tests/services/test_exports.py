"""Exports as the console runs them: in a process of their own, fed rows from the console, with progress,
cancel and errors as `export_rows` has them, and nothing left under the name when one does not finish."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from nexus_console.services.exports import ExportProgress, Exports
from nexus_console.services.report_export import ExportCancelled


def rows(count: int) -> Iterator[tuple[object, ...]]:
    for i in range(count):
        yield (i, f"vendor {i % 50}", i * 0.5, datetime(2026, 10, 1 + i % 28))


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def exports() -> Iterator[Exports]:
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    yield Exports(executor)
    executor.shutdown(wait=True)


def test_an_export_is_written_whole_with_progress_along_the_way(exports: Exports, out: Path) -> None:
    seen: list[ExportProgress] = []

    async def scenario() -> None:
        job = exports.start(
            out / "r.xlsx", "xlsx", ["n", "vendor", "half", "day"], rows(25_000), total_rows=25_000
        )
        job.progress.subscribe(seen.append)
        result = await job.result()
        await asyncio.sleep(0)  # progress is delivered through the loop
        assert (result.rows, result.sheets) == (25_000, 1)

    run(scenario())
    assert [p.rows_written for p in seen][-1] == 25_000 and seen[0].total_rows == 25_000
    sheet = openpyxl.load_workbook(out / "r.xlsx", read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("n", "vendor", "half", "day") and len(values) == 25_001
    assert values[-1][:3] == (24_999, "vendor 49", 12_499.5)


def test_a_cancelled_export_leaves_no_file_and_says_so(exports: Exports, out: Path) -> None:
    (out / "kept.csv").write_text("before\n")

    async def scenario() -> None:
        job = exports.start(out / "kept.csv", "csv", ["n", "vendor", "half", "day"], rows(2_000_000))
        progressed = asyncio.Event()
        job.progress.subscribe(lambda p: progressed.set())
        await asyncio.wait_for(progressed.wait(), 30)
        job.cancel()
        with pytest.raises(ExportCancelled, match="cancelled; no file was written"):
            await asyncio.wait_for(job.result(), 30)

    run(scenario())
    assert sorted(p.name for p in out.iterdir()) == ["kept.csv"]
    assert (out / "kept.csv").read_text() == "before\n"


def test_rows_that_fail_half_way_raise_their_error_and_leave_no_file(exports: Exports, out: Path) -> None:
    def failing() -> Iterator[tuple[int]]:
        yield from ((i,) for i in range(12_000))
        raise ValueError("the replica went away")

    async def scenario() -> None:
        job = exports.start(out / "r.csv", "csv", ["n"], failing())
        with pytest.raises(ValueError, match="the replica went away"):
            await asyncio.wait_for(job.result(), 30)

    run(scenario())
    assert list(out.iterdir()) == []


def test_a_folder_that_cannot_be_written_is_an_os_error(exports: Exports, out: Path) -> None:
    async def scenario() -> None:
        job = exports.start(out / "missing" / "r.csv", "csv", ["n"], iter([(1,)]))
        with pytest.raises(FileNotFoundError):
            await asyncio.wait_for(job.result(), 30)

    run(scenario())


def test_a_small_csv_reads_back(exports: Exports, out: Path) -> None:
    async def scenario() -> None:
        await exports.start(out / "r.csv", "csv", ["n", "vendor", "half", "day"], rows(3)).result()

    run(scenario())
    assert list(csv.reader((out / "r.csv").open())) == [
        ["n", "vendor", "half", "day"],
        ["0", "vendor 0", "0.0", "2026-10-01T00:00:00"],
        ["1", "vendor 1", "0.5", "2026-10-02T00:00:00"],
        ["2", "vendor 2", "1.0", "2026-10-03T00:00:00"],
    ]

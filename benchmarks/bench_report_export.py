"""A 1,000,000-row report exported to Excel and CSV, against pandas + openpyxl in the same run.

Every figure comes from a fresh subprocess (`python -c`), one export each, so no run inherits another's
heap; the file goes to a temporary directory removed afterwards. The rows: 1,000,000 × 10 columns (3 ints,
3 floats, 2 short strings, a naive datetime, a column mixing bools and ints), made by a generator as the
export consumes them.

- report_xlsx_1m_rows_s: `export_rows(..., ExportFormat.XLSX, ...)` on the generator, the median of
  XLSX_RUNS runs; one sheet (1,000,000 data rows fit under Excel's 1,048,576).
- report_xlsx_vs_pandas_openpyxl: the textbook build — the same rows in a DataFrame, then
  `DataFrame.to_excel(path, engine="openpyxl", index=False)`; only to_excel is timed (building the DataFrame
  is not), once; its seconds over ours.
- report_xlsx_1m_peak_mb: the peak RSS (`ru_maxrss`) of the subprocesses of report_xlsx_1m_rows_s, the
  highest of them: the interpreter, its imports and the export.
- report_csv_1m_rows_s: the same rows through `export_rows(..., ExportFormat.CSV, ...)`, once.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROWS = 1_000_000
XLSX_RUNS = 3
COLUMNS = [
    "id",
    "checks",
    "errors",
    "latency_ms",
    "p99_ms",
    "ratio",
    "service",
    "state",
    "checked_at",
    "flag",
]
START = datetime(2026, 3, 1)
STATES = ("up", "degraded", "down")
SERVICES = tuple(f"svc-{i:04d}" for i in range(1000))
SECOND = timedelta(seconds=1)
_CHILD = "import sys; from benchmarks.bench_report_export import child; child(sys.argv[1], sys.argv[2])"


def rows(count: int = ROWS) -> Iterator[tuple[Any, ...]]:
    """3 ints, 3 floats, 2 short strings, a datetime, a bool or an int: made one at a time."""
    for i in range(count):
        yield (
            i,
            i % 1440,
            (i * 7) % 13,
            1.5 + i * 0.001,
            (i % 997) / 7,
            (i % 100) / 100,
            SERVICES[i % 1000],
            STATES[i % 3],
            START + SECOND * i,
            i % 2 == 0 if i % 4 else i % 50,
        )


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def child(mode: str, folder: str) -> None:
    """In the subprocess: one export into `folder`, its figures printed as one JSON line."""
    path = Path(folder) / f"report.{'csv' if mode == 'csv' else 'xlsx'}"
    if mode == "pandas":
        import pandas as pd

        frame = pd.DataFrame.from_records(rows(), columns=COLUMNS)
        before = _peak_mb()
        started = time.perf_counter()
        frame.to_excel(path, engine="openpyxl", index=False)
        out = {"seconds": time.perf_counter() - started, "rows": len(frame), "sheets": 1}
    else:
        from nexus_console.services.report_export import ExportFormat, export_rows

        before = _peak_mb()
        result = export_rows(path, ExportFormat(mode), COLUMNS, rows(), total_rows=ROWS)
        out = {"seconds": result.seconds, "rows": result.rows, "sheets": result.sheets}
    out.update(peak_mb=_peak_mb(), before_mb=before, file_mb=path.stat().st_size / 1e6)
    print(json.dumps(out))


def _measure(mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, mode, folder],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    xlsx = [_measure("xlsx") for _ in range(XLSX_RUNS)]
    csv_run = _measure("csv")
    pandas_run = _measure("pandas")
    ours = statistics.median(run["seconds"] for run in xlsx)
    peak = max(run["peak_mb"] for run in xlsx)
    shape = f"{ROWS:,} rows × {len(COLUMNS)} columns"
    each = ", ".join(f"{run['seconds']:.1f}" for run in xlsx)
    load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    return [
        {
            "name": "report_xlsx_1m_rows_s",
            "value": round(ours, 2),
            "unit": "s",
            "target": "see report_xlsx_vs_pandas_openpyxl",
            "note": f"export_rows to XLSX (constant_memory), {shape} from a generator, {xlsx[0]['sheets']} "
            f"sheet, {xlsx[0]['file_mb']:.1f} MB file; median of {XLSX_RUNS} fresh subprocesses ({each} s); "
            f"{load}",
        },
        {
            "name": "report_xlsx_vs_pandas_openpyxl",
            "value": round(pandas_run["seconds"] / ours, 2),
            "unit": "x",
            "target": ">= 3",
            "baseline": {
                "name": "report_xlsx_pandas_openpyxl_1m_rows_s",
                "value": round(pandas_run["seconds"], 2),
            },
            "note": f"pandas DataFrame.to_excel(engine='openpyxl', index=False), {shape}, "
            f"{pandas_run['sheets']} sheet, {pandas_run['file_mb']:.1f} MB file: only to_excel timed "
            f"(the DataFrame is built first, untimed), one run, {pandas_run['seconds']:.1f} s over our "
            f"median {ours:.1f} s; its peak RSS {pandas_run['peak_mb']:.0f} MB",
        },
        {
            "name": "report_xlsx_1m_peak_mb",
            "value": round(peak, 1),
            "unit": "MB",
            "target": "<= 250",
            "note": f"ru_maxrss of a fresh subprocess exporting {shape} to XLSX from a generator, highest of "
            f"{XLSX_RUNS}; {min(run['before_mb'] for run in xlsx):.0f} MB before the export "
            "(interpreter and imports)",
        },
        {
            "name": "report_csv_1m_rows_s",
            "value": round(csv_run["seconds"], 2),
            "unit": "s",
            "target": "informational",
            "note": f"export_rows to CSV (utf-8), the same {shape} from a generator, one fresh subprocess, "
            f"{csv_run['file_mb']:.1f} MB file; peak RSS {csv_run['peak_mb']:.0f} MB",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

"""Running a saved report: ask the server for its table, write the file (CSV or Excel through
`services.report_export`; PDF through a renderer the caller passes, since PDF layout is Qt's), and deliver it
(a copy into a folder, and by e-mail). One path for the console's schedule, its builder and the headless
`nexus-console report run`."""

from __future__ import annotations

import asyncio
import html
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nexus_console.domain.reports import REPORT_PATH, ReportSpec, ReportTable, report_filename
from nexus_console.services.export_process import ExportCancel, export_in_process
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import Profile
from nexus_console.services.report_export import ExportFormat
from nexus_console.services.report_mail import MailError, send_report_mail
from nexus_console.services.telemetry import JsonApi, fetch_parsed

# (html, path) -> pages: Qt's layout (views.pdf_export.write_pdf), handed in by whoever may import views
PdfRenderer = Callable[[str, Path], int]


class ReportRunError(Exception):
    """Why a report did not run or reach everyone, as a sentence; `path` when the file was written."""

    def __init__(self, text: str, path: Path | None = None) -> None:
        super().__init__(text)
        self.path = path


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    path: Path
    rows: int
    table: ReportTable
    delivered: tuple[str, ...] = ()  # "copied to …", "mailed to …"

    def sentence(self) -> str:
        done = f"Wrote {self.rows:,} rows of {self.table.range_text()} to {self.path}"
        return f"{done}; {'; '.join(self.delivered)}." if self.delivered else f"{done}."


async def fetch_report(api: JsonApi, spec: ReportSpec) -> ReportTable:
    return await fetch_parsed(api, REPORT_PATH, ReportTable.from_json, spec.query_params())


def report_html(spec: ReportSpec, table: ReportTable) -> str:
    head = "".join(f"<th align='left'>{html.escape(label)}</th>" for label in table.labels)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    cut = "<p><i>Cut at the server's row limit.</i></p>" if table.truncated else ""
    about = f"{spec.describe()} · {table.range_text()} · data as of {table.as_of_text()}"
    return (
        f"<h2>{html.escape(spec.name)}</h2><p>{html.escape(about)}</p>{cut}"
        "<table border='1' cellspacing='0' cellpadding='3' width='100%'>"
        f"<tr>{head}</tr>{body}</table>"
    )


async def write_report(
    spec: ReportSpec, table: ReportTable, path: Path, fmt: str, render_pdf: PdfRenderer | None = None
) -> int:
    """Write `table` to `path`; returns the rows written."""
    if fmt == "pdf":
        if render_pdf is None:
            raise ReportRunError("PDF reports are written by the console or the report command, not here.")
        tmp = path.with_name(f".{path.name}.part")
        try:
            render_pdf(report_html(spec, table), tmp)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return len(table.rows)
    result = await asyncio.to_thread(
        export_in_process, path, ExportFormat(fmt), table.labels, table.rows, total_rows=len(table.rows),
        sheet_name=spec.name, on_progress=lambda _written, _total: None, cancel=ExportCancel(),
    )  # fmt: skip
    return result.rows


async def deliver(
    spec: ReportSpec, outcome_path: Path, table: ReportTable, profile: Profile, keychain: Keychain | None
) -> tuple[str, ...]:
    """Copy into the report's folder and mail it; every failure is collected, then raised together."""
    done: list[str] = []
    failed: list[str] = []
    if spec.folder:
        folder = Path(spec.folder).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / outcome_path.name
            if target.resolve() != outcome_path.resolve():
                await asyncio.to_thread(shutil.copyfile, outcome_path, target)
            done.append(f"copied to {folder}")
        except OSError as exc:
            failed.append(f"could not copy it to {folder}: {exc.strerror or exc}")
    if spec.email_to:
        if profile.smtp is None:
            failed.append(f"profile {profile.name!r} has no mail server (an [smtp] section) to send it with")
        else:
            subject = f"{spec.name}: {table.range_text()}"
            rows = f"{len(table.rows):,} rows"
            text = f"{spec.describe()}\n{rows}, data as of {table.as_of_text()}.\n\nNexus Console"
            try:
                await send_report_mail(profile.smtp, keychain, spec.email_to, subject, text, outcome_path)
                done.append(f"mailed to {', '.join(spec.email_to)}")
            except MailError as exc:
                failed.append(str(exc).rstrip("."))
    if failed:
        raise ReportRunError("; ".join([*done, *failed]).capitalize() + ".")
    return tuple(done)


async def run_report(
    api: JsonApi,
    spec: ReportSpec,
    out: Path,
    *,
    fmt: str | None = None,
    profile: Profile,
    keychain: Keychain | None,
    render_pdf: PdfRenderer | None = None,
    deliver_it: bool = True,
) -> ReportOutcome:
    """Fetch, write to `out` (a file, or a folder to name it in), deliver. Raises what failed: the API's
    errors (PermissionDenied, FetchError), OSError for the file, ReportRunError (with `path`) for delivery."""
    fmt = fmt or spec.format
    table = await fetch_report(api, spec)
    path = out / report_filename(spec, table, fmt) if out.is_dir() else out
    rows = await write_report(spec, table, path, fmt, render_pdf)
    try:
        delivered = await deliver(spec, path, table, profile, keychain) if deliver_it else ()
    except ReportRunError as exc:
        raise ReportRunError(f"Wrote {rows:,} rows to {path}, but: {exc}", path) from None
    return ReportOutcome(path, rows, table, delivered)

"""The session's reports: the saved ones (`reports.toml`), running one for the builder, and the schedule that
runs the due ones while the console is open (written into the report's folder, else `reports/` in the data
directory, and mailed as the report says). Views call these methods; they import no service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nexus_console.domain.reports import ReportSpec, ReportTable, ScheduledRun
from nexus_console.services.feeds import Feed
from nexus_console.services.keychain import Keychain
from nexus_console.services.profiles import Profile, data_dir
from nexus_console.services.report_runner import PdfRenderer, fetch_report, run_report
from nexus_console.services.report_schedule import (
    CHECK_EVERY_S,
    RUNS_FILE,
    ReportScheduler,
    RunLog,
)
from nexus_console.services.report_store import ReportStore
from nexus_console.services.tasks import TaskRunner
from nexus_console.services.telemetry import JsonApi

REPORTS_DIR = "reports"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    reports_path: Path | None = None  # default: reports.toml in the config dir
    runs_path: Path | None = None  # default: report-runs.json in the data dir
    output_dir: Path | None = None  # where a scheduled report without a folder is written
    check_every_s: float = CHECK_EVERY_S


class ReportRuntime:
    def __init__(
        self,
        api: JsonApi,
        profile: Profile,
        keychain: Keychain | None,
        settings: ReportSettings | None = None,
    ) -> None:
        self.settings = settings = settings or ReportSettings()
        self._api = api
        self._profile = profile
        self._keychain = keychain
        self.store = ReportStore(settings.reports_path)
        self.output_dir = settings.output_dir or data_dir() / REPORTS_DIR
        self.render_pdf: PdfRenderer | None = None  # app.py hands in Qt's PDF layout
        self.scheduler = ReportScheduler(
            self.store.load,
            self._run_scheduled,
            RunLog(settings.runs_path or data_dir() / RUNS_FILE),
            check_every_s=settings.check_every_s,
        )

    @property
    def runs(self) -> Feed[ScheduledRun]:
        return self.scheduler.runs

    def start(self, tasks: TaskRunner) -> None:
        tasks.run(self.scheduler.run_forever(), name="report-schedule")

    def saved(self) -> dict[str, ReportSpec]:
        return self.store.load()

    def save(self, spec: ReportSpec) -> None:
        self.store.save(spec)

    def delete(self, name: str) -> None:
        self.store.delete(name)

    async def query(self, spec: ReportSpec) -> ReportTable:
        """The report's table as the server answers it now (the builder's preview)."""
        return await fetch_report(self._api, spec)

    async def _run_scheduled(self, spec: ReportSpec) -> str:
        out = Path(spec.folder).expanduser() if spec.folder else self.output_dir
        out.mkdir(parents=True, exist_ok=True)
        outcome = await run_report(
            self._api, spec, out, profile=self._profile, keychain=self._keychain, render_pdf=self.render_pdf
        )
        return outcome.sentence()

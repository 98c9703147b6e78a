"""Analytics: users, vendors, content and (for finance and admins) revenue, a page each, from the
`/analytics/*` documents the session polls. Every figure carries the instant it describes and its age; every
table and chart exports (CSV or Excel through the session's exports, on a worker)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from nexus_console.domain.analytics import CONTENT, REVENUE, USERS, VENDORS, DataTable
from nexus_console.domain.auth import ANALYTICS_READERS
from nexus_console.domain.reports import ScheduledRun
from nexus_console.views.analytics.page import AnalyticsPage
from nexus_console.views.analytics.report_builder import ReportBuilder
from nexus_console.views.pane import Pane, StaleBanner
from nexus_console.workers.session import ConsoleSession

PAGE_TITLES = {USERS: "Users", VENDORS: "Vendors", CONTENT: "Content", REVENUE: "Revenue"}


class AnalyticsPane(Pane):
    title = "Analytics"
    icon_name = "analytics"
    required_roles = ANALYTICS_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.tabs = QTabWidget(self)
        self._no_page_banner = StaleBanner(self)  # never shown: a user without analytics pages
        self.pages: dict[str, AnalyticsPage] = {}
        documents = session.analytics.documents if session.analytics is not None else {}
        for kind, poller in documents.items():
            page = AnalyticsPage(kind, self.export_table, self)
            self.pages[kind] = page
            self.tabs.addTab(page, PAGE_TITLES[kind])
            self.watch(poller, page.set_status)
        self.builder: ReportBuilder | None = None
        if session.reports is not None:
            self.builder = ReportBuilder(session, self.run_task, self)
            self.tabs.addTab(self.builder, "Reports")
            self.watch(session.reports.runs, self._on_scheduled_run, while_hidden=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._tick)
        self.every(1000, self._tick)

    def page(self, kind: str) -> AnalyticsPage:
        return self.pages[kind]

    @property
    def banner(self) -> StaleBanner:
        """The stale banner of the page on show."""
        page = self.tabs.currentWidget()
        return page.banner if isinstance(page, AnalyticsPage) else self._no_page_banner

    def export_table(self, table: DataTable, path: Path, fmt: str) -> None:
        """Write `table` to `path` ("csv" or "xlsx") on a worker; the page says where it went, or why not."""
        page = self.tabs.currentWidget()
        assert isinstance(page, AnalyticsPage)

        async def export() -> None:
            job = self.session.exports.start(path, fmt, table.columns, table.rows, total_rows=len(table.rows))
            try:
                result = await job.result()
            except OSError as error:
                page.show_result(f"Could not save “{table.title}” to {path}: {error.strerror or error}.")
                return
            page.show_result(f"Saved {result.rows:,} rows of “{table.title}” to {result.path}.")

        page.show_result(f"Saving “{table.title}” to {path}…")
        self.run_task(export(), name=f"export {path.name}")

    def _on_scheduled_run(self, run: ScheduledRun) -> None:
        if self.builder is not None:
            self.builder.message.setText(f"Scheduled at {run.at:%H:%M}: {run.text}")

    def _tick(self, *_signal_args: object) -> None:
        page = self.tabs.currentWidget()
        if isinstance(page, AnalyticsPage):
            page.refresh(time.time())

"""Analytics: the executive page, then users, vendors, content and (finance, admins) revenue, a page each,
from the `/analytics/*` documents the session polls, and the report builder. Every figure carries the
instant it describes and its age; every table and chart exports (CSV or Excel, on a worker)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from nexus_console.domain.analytics import CONTENT, REVENUE, USERS, VENDORS, DataTable
from nexus_console.domain.auth import ANALYTICS_READERS, REVENUE_READERS
from nexus_console.domain.reports import ScheduledRun
from nexus_console.views.analytics import executive
from nexus_console.views.analytics.behaviour_pages import EngagementPage, FunnelPage, QueryPage
from nexus_console.views.analytics.executive import ExecutivePage
from nexus_console.views.analytics.page import AnalyticsPage
from nexus_console.views.analytics.report_builder import ReportBuilder
from nexus_console.views.pane import Pane, StaleBanner
from nexus_console.workers.session import ConsoleSession

PAGE_TITLES = {USERS: "Users", VENDORS: "Vendors", CONTENT: "Content", REVENUE: "Revenue"}
UPTIME_EVERY_S = 60.0


class AnalyticsPane(Pane):
    title = "Analytics"
    icon_name = "analytics"
    required_roles = ANALYTICS_READERS

    def __init__(self, session: ConsoleSession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.tabs = QTabWidget(self)
        self._no_page_banner = StaleBanner(self)  # never shown: a user without analytics pages
        self.pages: dict[str, AnalyticsPage] = {}
        self.executive: ExecutivePage | None = None
        self._uptime_asked = 0.0
        if session.analytics is not None:
            self.executive = self._executive_page(session)
            self.tabs.addTab(self.executive, "Executive")
        documents = session.analytics.documents if session.analytics is not None else {}
        for kind, poller in documents.items():
            page = AnalyticsPage(kind, self.export_table, self)
            self.pages[kind] = page
            self.tabs.addTab(page, PAGE_TITLES[kind])
            self.watch(poller, page.set_status)
            if kind == VENDORS and session.analytics is not None:
                self.watch(session.analytics.vendor_months, page.set_trends)
        self.behaviour: list[QueryPage] = []
        if session.analytics is not None:
            analytics = session.analytics
            run = lambda coro, name: self.run_task(coro, name=name)  # noqa: E731
            self.funnels = FunnelPage(analytics.funnel, run, self)
            self.engagement = EngagementPage(analytics.activity, analytics.retention, run, self)
            self.behaviour = [self.funnels, self.engagement]
            self.tabs.insertTab(self.tabs.indexOf(self.pages[USERS]) + 1, self.engagement, "Engagement")
            self.tabs.insertTab(self.tabs.indexOf(self.engagement) + 1, self.funnels, "Funnels")
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

    def _executive_page(self, session: ConsoleSession) -> ExecutivePage:
        assert session.analytics is not None
        analytics = session.analytics
        page = ExecutivePage(
            may_read_revenue=self.allows(REVENUE_READERS), may_read_incidents=session.incidents is not None
        )
        sources: dict[str, Any] = {
            executive.USERS: analytics.documents[USERS],
            executive.VENDORS: analytics.documents[VENDORS],
            executive.MONTHLY: analytics.monthly,
            executive.API: session.health.api_health,
        }
        if session.incidents is not None:
            sources[executive.INCIDENTS] = session.incidents.list
        for name, poller in sources.items():
            self.watch(poller, lambda status, name=name: page.set_source(name, status))
        self.watch(session.uptime.feed, page.set_uptime)
        return page

    def page(self, kind: str) -> AnalyticsPage:
        return self.pages[kind]

    @property
    def banner(self) -> StaleBanner:
        """The stale banner of the page on show."""
        page = self.tabs.currentWidget()
        if isinstance(page, AnalyticsPage | ExecutivePage | QueryPage):
            return page.banner
        return self._no_page_banner

    def export_table(self, page: AnalyticsPage, table: DataTable, path: Path, fmt: str) -> None:
        """Write `table` to `path` ("csv" or "xlsx") on a worker; `page` says where it went, or why not."""

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
        page, now = self.tabs.currentWidget(), time.time()
        if isinstance(page, AnalyticsPage | ExecutivePage | QueryPage):
            page.refresh(now)
        if isinstance(page, ExecutivePage) and now - self._uptime_asked >= UPTIME_EVERY_S:
            self._uptime_asked = now  # the uptime record answers when asked (as for the Uptime pane)
            self.run_task(self.session.uptime.refresh(), name="executive uptime")

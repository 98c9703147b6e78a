"""The report builder on the reference server: an analyst builds "weekly vendor performance", sees the table
(checked against SQL over the server's own orders), exports it to Excel, saves it with a schedule, and the
console's schedule runs it and mails it through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import sqlite3
import tomllib
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
from PySide6.QtCore import Qt

from nexus_console.domain.reports import ReportSpec
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile, SmtpSettings
from nexus_console.services.report_runtime import ReportSettings
from nexus_console.services.report_schedule import RunLog
from nexus_console.views.analytics import AnalyticsPane
from nexus_console.views.analytics.report_builder import ReportBuilder
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer
from tests.support.session import console_session
from tests.support.smtp import smtp_server

WEEKLY = "Weekly vendor performance"


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_orders_by_vendor(server: RefServer, date_from: str, date_to: str) -> Counter[tuple[str, str]]:
    """Orders a vendor and ISO week in [from, to), computed here from the server's own database."""
    path = server.data_dir / "marketplace.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT v.name, o.placed_at FROM orders o JOIN vendors v ON v.id = o.vendor_id"
        ).fetchall()
    start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    counted: Counter[tuple[str, str]] = Counter()
    for name, placed_at in rows:
        day = datetime.fromisoformat(placed_at).date()
        if start <= day < end:
            counted[(name, monday(day).isoformat())] += 1
    return counted


def tick(builder: ReportBuilder, *labels: str) -> None:
    for i in range(builder.metrics.count()):
        item = builder.metrics.item(i)
        item.setCheckState(Qt.CheckState.Checked if item.text() in labels else Qt.CheckState.Unchecked)


def test_an_analyst_builds_weekly_vendor_performance_exports_it_and_it_arrives_by_mail_on_schedule(
    qloop: QLoop, refserver_session: RefServer, tmp_path: Path
) -> None:
    reports_file = tmp_path / "reports.toml"
    runs = RunLog(tmp_path / "runs.json")
    settings = SessionSettings(
        reports=ReportSettings(
            reports_path=reports_file, runs_path=runs.path, output_dir=tmp_path / "out", check_every_s=0.2
        )
    )

    async def scenario() -> None:
        with smtp_server() as mail:
            profile = Profile(
                "lab",
                refserver_session.base_url,
                smtp=SmtpSettings("127.0.0.1", "reports@nexus.test", port=mail.port),
            )
            async with api_stack(refserver_session.base_url) as stack:
                me = await stack.auth.login(Credentials("analyst@nexus.test", DEMO_PASSWORD))
                async with console_session(profile, stack.api, stack.http, me, settings=settings) as session:
                    pane = AnalyticsPane(session)
                    pane.resize(1366, 768)
                    pane.show()
                    try:
                        builder = pane.builder
                        assert builder is not None
                        pane.tabs.setCurrentWidget(builder)
                        revenue = next(builder.metrics.item(i) for i in range(builder.metrics.count())
                                       if builder.metrics.item(i).text() == "Revenue")  # fmt: skip
                        assert not revenue.flags() & Qt.ItemFlag.ItemIsEnabled, "analysts read no revenue"

                        builder.name.setText(WEEKLY)
                        tick(builder, "Orders", "Units")
                        builder.breakdowns[0].setCurrentText("Vendor")
                        builder.breakdowns[1].setCurrentText("Week")
                        builder.days.setValue(28)
                        builder.run_button.click()
                        await wait_until(lambda: builder.table is not None, timeout_s=20)
                        table = builder.table
                        assert table is not None and not table.truncated
                        assert table.labels == ("Vendor", "Vendor ID", "Week", "Orders", "Units")
                        expected = weekly_orders_by_vendor(refserver_session, table.date_from, table.date_to)
                        shown = {(row[0], row[2]): row[3] for row in builder.model.items()}
                        assert shown == dict(expected)
                        assert "rows" in builder.summary.text() and table.date_to in builder.summary.text()

                        builder.export(tmp_path / "weekly.xlsx", "xlsx")
                        await wait_until(lambda: builder.message.text().startswith("Saved "), timeout_s=20)
                        sheet = openpyxl.load_workbook(tmp_path / "weekly.xlsx", read_only=True).worksheets[0]
                        values = list(sheet.iter_rows(values_only=True))
                        assert values[0] == table.labels and len(values) == len(table.rows) + 1

                        builder.schedule.setText("* * * * *")
                        builder.email_to.setText("ops@nexus.test")
                        builder.save_button.click()
                        assert builder.message.text().startswith(f"Saved “{WEEKLY}”. It runs * * * * *")
                        assert builder.saved.currentText() == WEEKLY
                        # as though it had last run two minutes ago: the schedule finds it due
                        runs.record(WEEKLY, datetime.now().astimezone() - timedelta(minutes=2))
                        await wait_until(lambda: len(mail.messages) == 1, timeout_s=20)
                        await wait_until(lambda: "Scheduled at" in builder.message.text(), timeout_s=5)
                    finally:
                        pane.shutdown()
                        pane.hide()
                        pane.deleteLater()
        (message,) = mail.messages
        assert mail.recipients == [["ops@nexus.test"]]
        assert message["Subject"].startswith(f"{WEEKLY}: ")
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename().startswith(
            "weekly_vendor_performance_"
        ) and attachment.get_filename().endswith(".xlsx")
        mailed = tmp_path / "mailed.xlsx"
        mailed.write_bytes(attachment.get_content())
        rows = list(openpyxl.load_workbook(mailed, read_only=True).worksheets[0].iter_rows(values_only=True))
        assert rows[0] == ("Vendor", "Vendor ID", "Week", "Orders", "Units")
        assert (tmp_path / "out" / attachment.get_filename()).exists(), "a copy stays in the output folder"

    qloop.run(scenario(), timeout_s=90)
    saved = ReportSpec.from_toml(WEEKLY, tomllib.loads(reports_file.read_text())["reports"][WEEKLY])
    assert (
        saved.dimensions == ("vendor", "week") and saved.metrics == ("orders", "units") and saved.days == 28
    )

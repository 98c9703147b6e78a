"""Saved reports: what they ask the server, when they run, and the sentences that say why one cannot."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nexus_console.domain.reports import ReportError, ReportSpec, schedule_to_cron
from nexus_console.services.report_schedule import next_run
from nexus_console.services.report_store import ReportStore

WEEKLY = ReportSpec(
    "Weekly vendor performance",
    metrics=("orders", "units", "revenue"),
    dimensions=("vendor", "week"),
    filters={"channel": ("webshop",)},
    days=28,
    schedule="weekly mon 08:00",
    email_to=("ops@nexus.test",),
)


def test_a_report_asks_the_server_for_its_figures_breakdowns_filters_and_days() -> None:
    assert WEEKLY.query_params() == {
        "metrics": "orders,units,revenue",
        "dimensions": "vendor,week",
        "channel": "webshop",
        "days": "28",
    }
    assert WEEKLY.describe() == "Orders, Units, Revenue by Vendor, Week · last 28 days"
    assert WEEKLY.needs_revenue()


@pytest.mark.parametrize(
    ("schedule", "cron"),
    [
        ("daily 08:00", "0 8 * * *"),
        ("Weekly MON 7:30", "30 7 * * 1"),
        ("weekly sun 23:59", "59 23 * * 7"),
        ("monthly 1 06:15", "15 6 1 * *"),
        ("0 8 * * 1-5", "0 8 * * 1-5"),
    ],
)
def test_schedules_are_written_in_words_or_as_cron(schedule: str, cron: str) -> None:
    assert schedule_to_cron(schedule) == cron


def test_a_report_that_cannot_run_says_why_in_a_sentence() -> None:
    with pytest.raises(ReportError, match="Unknown figure “profit”; choose from orders"):
        ReportSpec("x", metrics=("profit",))
    with pytest.raises(ReportError, match="Pick at least one figure"):
        ReportSpec("x", metrics=())
    with pytest.raises(ReportError, match="is not a schedule: write “daily 08:00”"):
        ReportSpec("x", metrics=("orders",), schedule="every tuesday")
    with pytest.raises(ReportError, match="“ops” is not an e-mail address"):
        ReportSpec("x", metrics=("orders",), email_to=("ops",))
    with pytest.raises(ReportError, match="At most 3 breakdowns"):
        ReportSpec("x", metrics=("orders",), dimensions=("day", "vendor", "channel", "status"))


def test_the_next_run_of_a_weekly_report_is_next_monday_morning_in_local_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Europe/Oslo")
    time.tzset()
    oslo = ZoneInfo("Europe/Oslo")
    sunday_evening = datetime(2026, 12, 6, 21, 0, tzinfo=oslo)
    assert next_run(WEEKLY, sunday_evening) == datetime(2026, 12, 7, 8, 0, tzinfo=oslo).astimezone()
    monday_at_nine = datetime(2026, 12, 7, 9, 0, tzinfo=oslo)
    assert next_run(WEEKLY, monday_at_nine) == datetime(2026, 12, 14, 8, 0, tzinfo=oslo).astimezone()
    monkeypatch.undo()
    time.tzset()


def test_a_cron_line_with_an_impossible_hour_is_refused_when_its_next_run_is_asked() -> None:
    spec = ReportSpec("x", metrics=("orders",), schedule="0 25 * * *")
    with pytest.raises(ReportError, match="not a schedule cron can read"):
        next_run(spec, datetime(2026, 12, 7).astimezone())


def test_saved_reports_survive_in_a_toml_file_a_person_can_edit(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "reports.toml")
    store.save(WEEKLY)
    store.save(ReportSpec("Daily orders", metrics=("orders",), dimensions=("day",), days=7, format="csv"))
    assert ReportStore(tmp_path / "reports.toml").load() == {
        "Daily orders": ReportSpec(
            "Daily orders", metrics=("orders",), dimensions=("day",), days=7, format="csv"
        ),
        "Weekly vendor performance": WEEKLY,
    }
    assert '[reports."Weekly vendor performance"]' in (tmp_path / "reports.toml").read_text()
    store.delete("Daily orders")
    assert list(store.load()) == ["Weekly vendor performance"]
    with pytest.raises(ReportError, match="No report named “Nope” \\(known: “Weekly vendor performance”\\)"):
        store.get("Nope")


def test_an_unknown_setting_in_the_file_is_named() -> None:
    with pytest.raises(ReportError, match="settings this console does not know: colour"):
        ReportSpec.from_toml("x", {"metrics": ["orders"], "colour": "red"})

"""The Analytics pane on the reference server: each role sees the pages its permissions allow, the figures
match an independent computation over the server's own platform data (SQL written here), and every table
exports to CSV and Excel from the pane."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from nexus_console.domain.analytics import CONTENT, REVENUE, USERS, VENDORS
from nexus_console.services.api_client import PermissionDenied
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile
from nexus_console.views.analytics import AnalyticsPane
from nexus_console.workers.session import ConsoleSession
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer
from tests.support.session import console_session


def platform_db(server: RefServer, name: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.data_dir / (name + '.sqlite3')}?mode=ro", uri=True)


def as_of(pane: AnalyticsPane, kind: str) -> datetime:
    view = pane.page(kind).view
    assert view is not None
    return view.as_of


def tile(pane: AnalyticsPane, kind: str, label: str) -> str:
    view = pane.page(kind).view
    assert view is not None
    return next(t.value for t in view.tiles if t.label == label)


def tile_on_screen(pane: AnalyticsPane, kind: str, label: str) -> str:
    shown = {t.label.text(): t.value.text() for t in pane.page(kind).tiles}
    return shown[label]


def with_analytics_pane(
    server: RefServer, email: str, check: Callable[[ConsoleSession, AnalyticsPane], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    async def scenario() -> None:
        async with api_stack(server.base_url) as stack:
            me = await stack.auth.login(Credentials(email, DEMO_PASSWORD))
            async with console_session(Profile("lab", server.base_url), stack.api, stack.http, me) as session:
                pane = AnalyticsPane(session)
                pane.resize(1366, 768)
                pane.show()
                try:
                    await wait_until(
                        lambda: all(p.view is not None for p in pane.pages.values()), timeout_s=30
                    )
                    await check(session, pane)
                finally:
                    pane.shutdown()
                    pane.hide()
                    pane.deleteLater()

    return scenario


def test_an_analyst_sees_users_vendors_and_content_that_match_the_platform_data(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        assert [pane.tabs.tabText(i) for i in range(pane.tabs.count())] == [
            "Executive",
            "Users",
            "Engagement",
            "Funnels",
            "Vendors",
            "Content",
            "Reports",
        ]
        instant = as_of(pane, USERS)
        with platform_db(refserver_session, "users") as db:
            total = db.execute("SELECT count(*) FROM users").fetchone()[0]
            last_active = [
                datetime.fromisoformat(r[0]) for r in db.execute("SELECT last_active_at FROM users")
            ]
            countries = db.execute(
                "SELECT country, count(*) AS n FROM users GROUP BY country ORDER BY n DESC, country"
            ).fetchall()
        monthly_active = sum(
            1 for t in last_active if t.replace(tzinfo=instant.tzinfo) >= instant - timedelta(days=30)
        )
        assert tile(pane, USERS, "Users") == f"{total:,}"
        assert tile_on_screen(pane, USERS, "Users") == f"{total:,}"
        assert tile(pane, USERS, "Monthly active") == f"{monthly_active:,}"
        by_country = pane.page(USERS).table("Users by country").model.items()
        assert sorted(by_country, key=lambda r: (-r[1], r[0])) == [tuple(row) for row in countries]

        with platform_db(refserver_session, "marketplace") as db:
            vendors = db.execute("SELECT count(*) FROM vendors").fetchone()[0]
            since = (as_of(pane, VENDORS) - timedelta(days=30)).replace(tzinfo=None)
            orders = db.execute("SELECT vendor_id, placed_at, amount_cents, status FROM orders").fetchall()
        assert tile(pane, VENDORS, "Vendors") == f"{vendors:,}"
        orders_by_vendor: dict[int, int] = {}
        revenue_by_vendor: dict[int, int] = {}
        for vendor_id, placed_at, amount, status in orders:
            if status == "completed" and datetime.fromisoformat(placed_at).replace(tzinfo=None) >= since:
                orders_by_vendor[vendor_id] = orders_by_vendor.get(vendor_id, 0) + 1
                revenue_by_vendor[vendor_id] = revenue_by_vendor.get(vendor_id, 0) + amount
        leaders = pane.page(VENDORS).table("Top vendors, last 30 days").model.items()
        best = max(revenue_by_vendor.values())
        assert (
            leaders[0][3] == best / 100
            and leaders[0][2] == orders_by_vendor[next(v for v, r in revenue_by_vendor.items() if r == best)]
        )

        with platform_db(refserver_session, "workstation") as db:
            contents = db.execute("SELECT count(*) FROM contents").fetchone()[0]
        assert tile(pane, CONTENT, "Contents") == f"{contents:,}"
        assert "Data as of 1 Nov 2026" in pane.page(USERS).info.text()

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=60)


def test_finance_sees_revenue_that_matches_the_orders_and_a_month_on_month_change(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        assert [pane.tabs.tabText(i) for i in range(pane.tabs.count())] == [
            "Executive",
            "Users",
            "Engagement",
            "Funnels",
            "Vendors",
            "Content",
            "Revenue",
            "Reports",
        ]
        since = (as_of(pane, REVENUE) - timedelta(days=30)).replace(tzinfo=None)
        with platform_db(refserver_session, "marketplace") as db:
            orders = db.execute("SELECT placed_at, amount_cents, status FROM orders").fetchall()
        recent = [(amount, status) for placed_at, amount, status in orders
                  if datetime.fromisoformat(placed_at).replace(tzinfo=None) >= since]  # fmt: skip
        revenue = sum(amount for amount, status in recent if status == "completed")
        completed = sum(1 for _, status in recent if status == "completed")
        assert tile(pane, REVENUE, "Revenue") == f"${revenue / 100:,.0f}"
        assert tile(pane, REVENUE, "Orders") == f"{completed:,}"
        view = pane.page(REVENUE).view
        assert view is not None and view.series is not None
        assert view.series.months[-1] == "2026-10"  # November has only begun on 1 Nov: not a month yet
        month_tile = next(t for t in view.tiles if t.label == "Last full month")
        assert month_tile.detail.startswith("2026-10 · MoM ")
        pane.tabs.setCurrentWidget(pane.page(REVENUE))
        assert pane.page(REVENUE).chart.isVisible()

    qloop.run(with_analytics_pane(refserver_session, "finance@nexus.test", check)(), timeout_s=60)


def test_the_server_refuses_revenue_to_an_analyst_and_says_which_role_it_needs(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            await stack.auth.login(Credentials("analyst@nexus.test", DEMO_PASSWORD))
            with pytest.raises(PermissionDenied) as refused:
                await stack.api.get_json("/analytics/revenue")
            assert "finance" in str(refused.value)

    qloop.run(scenario(), timeout_s=30)


def test_a_table_exports_to_csv_and_excel_from_its_page(
    qloop: QLoop, refserver_session: RefServer, tmp_path: Path
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        page = pane.page(VENDORS)
        pane.tabs.setCurrentWidget(page)
        block = page.table("Top vendors, last 30 days")
        shown = block.model.items()
        block.export(tmp_path / "top.csv", "csv")
        await wait_until(lambda: page.result.text().startswith("Saved "), timeout_s=10)
        assert (
            page.result.text()
            == f"Saved {len(shown)} rows of “Top vendors, last 30 days” to {tmp_path / 'top.csv'}."
        )
        with open(tmp_path / "top.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["#", "Vendor", "Orders", "Revenue (USD)"]
        assert [row[1] for row in rows[1:]] == [row[1] for row in shown]

        block.export(tmp_path / "top.xlsx", "xlsx")
        await wait_until(lambda: page.result.text().startswith("Saved ") and "top.xlsx" in page.result.text())
        sheet = openpyxl.load_workbook(tmp_path / "top.xlsx", read_only=True).worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == ("#", "Vendor", "Orders", "Revenue (USD)")
        assert [tuple(v) for v in values[1:]] == [tuple(row) for row in shown]

        block.export(tmp_path / "no-such-folder" / "top.csv", "csv")
        await wait_until(lambda: page.result.text().startswith("Could not save"), timeout_s=10)
        assert "No such file or directory" in page.result.text()

    qloop.run(with_analytics_pane(refserver_session, "admin@nexus.test", check)(), timeout_s=60)


def orders_in_month(server: RefServer, month: str) -> tuple[int, int]:
    """(orders of any status, cents of completed ones) placed in `month` (YYYY-MM, UTC)."""
    with platform_db(server, "marketplace") as db:
        rows = db.execute("SELECT placed_at, amount_cents, status FROM orders").fetchall()
    placed = [(amount, status) for at, amount, status in rows if at[:7] == month]
    return len(placed), sum(amount for amount, status in placed if status == "completed")


def executive_tile(pane: AnalyticsPane, label: str) -> Any:
    assert pane.executive is not None
    return next((tile for tile in pane.executive.tiles_shown if tile.label == label), None)


def test_the_executive_page_shows_the_business_at_a_glance_for_finance(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        assert pane.tabs.currentWidget() is pane.executive, "the first page an executive sees"
        await wait_until(
            lambda: getattr(executive_tile(pane, "Revenue, last whole month"), "available", False)
        )
        october, october_cents = orders_in_month(refserver_session, "2026-10")
        september, _ = orders_in_month(refserver_session, "2026-09")
        revenue = executive_tile(pane, "Revenue, last whole month")
        assert revenue.value == f"${october_cents / 100:,.0f}" and len(revenue.trend) >= 12
        orders = executive_tile(pane, "Orders, last whole month")
        change = (october - september) / september * 100
        assert orders.value == f"{october:,}"
        assert orders.detail.startswith(f"2026-10 · MoM {'+' if change >= 0 else '−'}{abs(change):.1f} %")
        assert executive_tile(pane, "Incidents").detail == "not readable with your role"
        assert "Platform data as of 2026-11-01" in pane.executive.info.text()
        shown = {w.label.text(): w.value.text() for w in pane.executive.tiles if w.isVisible()}
        assert shown["Orders, last whole month"] == f"{october:,}"

    qloop.run(with_analytics_pane(refserver_session, "finance@nexus.test", check)(), timeout_s=60)


def test_the_executive_page_of_an_analyst_leaves_revenue_to_finance(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        await wait_until(
            lambda: getattr(executive_tile(pane, "Orders, last whole month"), "available", False)
        )
        revenue = executive_tile(pane, "Revenue")
        assert (revenue.value, revenue.detail, revenue.available) == ("—", "for finance and admins", False)
        await wait_until(lambda: executive_tile(pane, "Open incidents") is not None, timeout_s=20)

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=60)


def test_the_vendors_page_ranks_last_months_units_and_its_rising_stars(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        page = pane.page(VENDORS)
        title = "Leaderboard by units, 2026-10"
        await wait_until(lambda: any(b.data.title == title for b in page.tables), timeout_s=20)
        with platform_db(refserver_session, "marketplace") as db:
            rows = db.execute(
                "SELECT v.name, SUM(o.quantity) AS units FROM orders o JOIN vendors v ON v.id = o.vendor_id"
                " WHERE substr(o.placed_at, 1, 7) = '2026-10'"
                " GROUP BY v.id ORDER BY units DESC, v.name, v.id LIMIT 10"
            ).fetchall()
        shown = [(row[1], row[2]) for row in page.table(title).model.items()]
        assert shown == [(name, units) for name, units in rows]
        assert any(b.data.title == "Rising stars, 2026-10 against 2026-09" for b in page.tables)

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=60)


def test_the_users_page_shows_every_user_in_one_behaviour_segment(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(session: ConsoleSession, pane: AnalyticsPane) -> None:
        body, _ = await session.api.get_json("/analytics/users")
        shown = pane.page(USERS).table("Users by behaviour").model.items()
        assert [(row[0], row[1], row[3]) for row in shown] == [
            (s["label"], s["users"], s["orders"]) for s in body["segments"]
        ]
        assert sum(row[1] for row in shown) == body["total_users"]

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=60)

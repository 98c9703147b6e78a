"""The analytics views: months compared only when complete, MoM and YoY from the monthly series, and tiles
that say what range they cover."""

from __future__ import annotations

from typing import Any

from nexus_console.domain.analytics import MonthlySeries, change, month_over_month, revenue_view, users_view
from nexus_console.domain.executive import ExecutiveInputs, executive_tiles, whole_months
from nexus_console.domain.reports import ReportTable
from nexus_console.domain.vendor_trends import vendor_trend_tables


def test_a_month_is_compared_with_the_month_before_and_the_same_month_a_year_earlier() -> None:
    series = MonthlySeries("Revenue", ("2025-10", "2026-09", "2026-10"), (100.0, 200.0, 250.0))
    assert month_over_month(series) == ("2026-10", "+25.0 %", "+150.0 %")


def test_january_is_compared_with_december_of_the_year_before() -> None:
    series = MonthlySeries("Revenue", ("2025-12", "2026-01"), (400.0, 300.0))
    assert month_over_month(series) == ("2026-01", "−25.0 %", None)


def test_there_is_no_change_against_nothing() -> None:
    assert change(5, None) is None and change(5, 0) is None
    assert month_over_month(MonthlySeries("x", (), ())) is None


def revenue_body(as_of: str, months: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "generated_at": as_of,
        "currency": "USD",
        "revenue_cents_30d": 123_456_78,
        "commission_cents_30d": 1_000_00,
        "orders_30d": 1200,
        "average_order_value_cents": 10_288,
        "refund_rate": 0.021,
        "payment_failure_rate": 0.013,
        "by_channel": [{"channel": "webshop", "revenue_cents": 100_00, "orders": 1}],
        "by_month": [
            {"month": m, "revenue_cents": cents, "commission_cents": cents // 10, "orders": 1}
            for m, cents in months
        ],
        "top_vendors_by_revenue": [],
    }


def test_the_month_under_way_is_not_charted_or_compared_but_stays_in_the_table() -> None:
    view = revenue_view(revenue_body("2026-11-15T00:00:00+00:00", [("2026-09", 100_00), ("2026-10", 150_00),
                                                                  ("2026-11", 10_00)]))  # fmt: skip
    assert view.series is not None and view.series.months == ("2026-09", "2026-10")
    assert view.series.values == (100.0, 150.0)  # in dollars
    month = next(t for t in view.tiles if t.label == "Last full month")
    assert (month.value, month.detail) == ("$150", "2026-10 · MoM +50.0 %")
    by_month = next(t for t in view.tables if t.title == "By month")
    assert [row[0] for row in by_month.rows] == ["2026-09", "2026-10", "2026-11"]
    revenue = next(t for t in view.tiles if t.label == "Revenue")
    assert (revenue.value, revenue.detail) == ("$123,457", "last 30 days")


def test_stickiness_is_daily_over_monthly_active_users() -> None:
    body = {
        "as_of": "2026-11-01T00:00:00+00:00",
        "total_users": 1000,
        "active_users": 900,
        "suspended_users": 5,
        "banned_users": 2,
        "dau": 150,
        "wau": 400,
        "mau": 600,
        "new_users_7d": 10,
        "new_users_30d": 40,
        "email_verified_rate": 0.8,
        "by_country": [{"key": "DE", "count": 600}, {"key": "AT", "count": 400}],
        "signups_by_month": [{"key": "2026-10", "count": 40}],
    }
    tiles = {t.label: t for t in users_view(body).tiles}
    assert tiles["Stickiness (DAU/MAU)"].value == "25.0 %"
    assert tiles["Monthly active"].detail == "last 30 days"
    assert tiles["Users"].value == "1,000"


def report_by_month(date_from: str, as_of: str, months: list[tuple[str, int]]) -> ReportTable:
    return ReportTable.from_json(
        {
            "columns": [
                {"name": "month", "label": "Month", "type": "month"},
                {"name": "orders", "label": "Orders", "type": "integer"},
            ],
            "rows": [[m, n] for m, n in months],
            "from": date_from,
            "to": as_of[:10],
            "as_of": as_of,
            "truncated": False,
        }
    )


def test_the_executive_trends_keep_whole_months_only() -> None:
    table = report_by_month(
        "2025-09-27",
        "2026-11-15T00:00:00Z",
        [("2025-09", 3), ("2025-10", 90), ("2026-09", 100), ("2026-10", 110), ("2026-11", 40)],
    )
    series = whole_months(table, "orders")
    assert series is not None and series.months == ("2025-10", "2026-09", "2026-10")
    tiles = {t.label: t for t in executive_tiles(ExecutiveInputs(monthly=table), now=0)}
    orders = tiles["Orders, last whole month"]
    assert (orders.value, orders.detail) == ("110", "2026-10 · MoM +10.0 % · YoY +22.2 %")
    assert orders.trend == (90.0, 100.0, 110.0)
    assert not tiles["Revenue"].available and tiles["Uptime, 30 days"].value == "—"


def test_rising_stars_grew_most_in_units_and_sold_enough_to_count() -> None:
    table = ReportTable.from_json(
        {
            "columns": [
                {"name": "vendor", "label": "Vendor", "type": "string"},
                {"name": "vendor_id", "label": "Vendor ID", "type": "integer"},
                {"name": "month", "label": "Month", "type": "month"},
                {"name": "orders", "label": "Orders", "type": "integer"},
                {"name": "units", "label": "Units", "type": "integer"},
            ],
            "rows": [
                ["Atlas", 1, "2026-08", 1, 1],  # the first month starts inside the range: not compared
                ["Atlas", 1, "2026-09", 10, 20],
                ["Atlas", 1, "2026-10", 12, 30],
                ["Birch", 2, "2026-09", 2, 2],
                ["Birch", 2, "2026-10", 6, 9],
                ["Cedar", 3, "2026-10", 5, 6],  # new this month
                ["Dune", 4, "2026-09", 1, 1],
                ["Dune", 4, "2026-10", 2, 3],  # +200 %, but 3 units: too few to count
                ["Atlas", 1, "2026-11", 9, 9],  # the month under way
            ],
            "from": "2026-08-15",
            "to": "2026-11-01",
            "as_of": "2026-11-01T00:00:00Z",
            "truncated": False,
        }
    )
    leaders, rising = vendor_trend_tables(table)
    assert leaders.title == "Leaderboard by units, 2026-10"
    assert leaders.rows == ((1, "Atlas", 30, 12), (2, "Birch", 9, 6), (3, "Cedar", 6, 5), (4, "Dune", 3, 2))
    assert rising.title == "Rising stars, 2026-10 against 2026-09"
    assert rising.rows == (
        (1, "Atlas", 30, 20, "+50 %"),
        (2, "Birch", 9, 2, "+350 %"),
        (3, "Cedar", 6, 0, "new"),
    )

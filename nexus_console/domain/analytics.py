"""The analytics documents (`/analytics/users|vendors|content|revenue`) as what the Analytics pane shows: KPI
tiles, a monthly series, and tables, each of which exports as it is shown. Pure: no I/O, no Qt.

Every view carries the instant its data describes (`as_of`) and the range each figure covers, so no figure
is shown without both; the pane adds the age of the answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

USERS, VENDORS, CONTENT, REVENUE = "users", "vendors", "content", "revenue"
ANALYTICS_KINDS = (USERS, VENDORS, CONTENT, REVENUE)


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    value: str
    detail: str = ""  # the range, or the change against the month before


@dataclass(frozen=True, slots=True)
class DataTable:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class MonthlySeries:
    title: str
    months: tuple[str, ...]  # "YYYY-MM", oldest first
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AnalyticsView:
    kind: str
    as_of: datetime
    tiles: tuple[Tile, ...]
    series: MonthlySeries | None
    tables: tuple[DataTable, ...]


def count(value: float) -> str:
    return f"{value:,.0f}"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.1f} %"


def money(cents: float, currency: str = "USD") -> str:
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{cents / 100:,.0f}"


def change(current: float, previous: float | None) -> str | None:
    """'+4.2 %' / '−1.0 %' against `previous`; None when there is nothing to compare with."""
    if previous is None or previous == 0:
        return None
    delta = (current - previous) / previous * 100
    return f"{'+' if delta >= 0 else '−'}{abs(delta):.1f} %"


def month_over_month(series: MonthlySeries) -> tuple[str, str | None, str | None] | None:
    """The last complete month of `series` with its change on the month before (MoM) and on the same month a
    year earlier (YoY). The month `as_of` falls in is not complete and is left out by the caller."""
    if not series.months:
        return None
    by_month = dict(zip(series.months, series.values, strict=True))
    month = series.months[-1]
    year, number = int(month[:4]), int(month[5:7])
    previous = f"{year - (number == 1)}-{12 if number == 1 else number - 1:02d}"
    last_year = f"{year - 1}-{number:02d}"
    value = by_month[month]
    return month, change(value, by_month.get(previous)), change(value, by_month.get(last_year))


def _complete_months(
    rows: Sequence[Mapping[str, Any]], month_key: str, value_key: str, as_of: datetime, title: str
) -> MonthlySeries:
    current = f"{as_of.year}-{as_of.month:02d}"
    # A month that has started but not ended would show as a fall: only whole months are compared.
    kept = [row for row in rows if str(row[month_key]) < current]
    return MonthlySeries(
        title, tuple(str(row[month_key]) for row in kept), tuple(float(row[value_key]) for row in kept)
    )


def _trend_detail(series: MonthlySeries) -> str:
    latest = month_over_month(series)
    if latest is None:
        return ""
    month, mom, yoy = latest
    parts = [f"{month}"] + [f"{label} {text}" for label, text in (("MoM", mom), ("YoY", yoy)) if text]
    return " · ".join(parts)


def _as_of(body: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(body["as_of"]))


def _keyed(rows: Sequence[Mapping[str, Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple((str(row["key"]), int(row["count"])) for row in rows)


def users_view(body: Mapping[str, Any]) -> AnalyticsView:
    as_of = _as_of(body)
    signups = _complete_months(body["signups_by_month"], "key", "count", as_of, "Sign-ups by month")
    last_month = signups.values[-1] if signups.values else 0
    mau = int(body["mau"])
    tiles = (
        Tile("Users", count(body["total_users"]), f"{count(body['active_users'])} active"),
        Tile("Daily active", count(body["dau"]), "last 24 h"),
        Tile("Weekly active", count(body["wau"]), "last 7 days"),
        Tile("Monthly active", count(mau), "last 30 days"),
        Tile("Stickiness (DAU/MAU)", percent(int(body["dau"]) / mau if mau else 0.0), "last 30 days"),
        Tile("New users", count(body["new_users_30d"]), f"last 30 days · {count(body['new_users_7d'])} in 7"),
        Tile("Sign-ups, last full month", count(last_month), _trend_detail(signups)),
        Tile("E-mail verified", percent(float(body["email_verified_rate"])), "all users"),
        Tile(
            "Suspended · banned", f"{count(body['suspended_users'])} · {count(body['banned_users'])}", "now"
        ),
    )
    total = int(body["total_users"]) or 1
    segments = tuple(  # absent from a document cached by an older server
        (str(s["label"]), int(s["users"]), percent(int(s["users"]) / total), int(s["orders"]))
        for s in body.get("segments", ())
    )
    tables = (
        DataTable("Users by behaviour", ("Segment", "Users", "Share", "Completed orders"), segments),
        *(
            DataTable(title, (dimension, *GROUP_COLUMNS), _groups(body.get(key, ())))
            for key, title, dimension in USER_GROUPS
            if body.get(key)  # absent from a document cached by an older server
        ),
        DataTable("Users by country", ("Country", "Users"), _keyed(body["by_country"])),
    )
    return AnalyticsView(USERS, as_of, tiles, signups, tables)


USER_GROUPS = (  # (the document's field, the table's title, its first column)
    ("by_acquisition_source", "Users by acquisition source", "Source"),
    ("by_age_band", "Users by age", "Age"),
    ("by_gender", "Users by gender", "Gender"),
)
GROUP_COLUMNS = ("Users", "Active, last 30 days", "Active share", "Buyers", "Buyer share", "Completed orders")


def _groups(rows: Sequence[Mapping[str, Any]]) -> tuple[tuple[Any, ...], ...]:
    """A group a row: its users, how many were active in 30 days and bought, and their orders."""

    def share(part: int, whole: int) -> str:
        return percent(part / whole) if whole else "—"

    return tuple(
        (
            str(row["label"]),
            users,
            active,
            share(active, users),
            buyers,
            share(buyers, users),
            int(row["orders"]),
        )
        for row in rows
        for users, active, buyers in [(int(row["users"]), int(row["active_users_30d"]), int(row["buyers"]))]
    )


def vendors_view(body: Mapping[str, Any]) -> AnalyticsView:
    compliance = body["compliance"]
    tiles = (
        Tile("Vendors", count(body["total_vendors"]), "all statuses"),
        Tile("Awaiting approval", count(body["pending_approval"]), "now"),
        Tile("Average commission", f"{float(body['avg_commission_pct']):.1f} %", "all vendors"),
        Tile("Products", count(body["total_products"]), f"{count(body['pending_products'])} pending"),
        Tile("Flagged products", count(body["flagged_products"]), "now"),
        Tile("Compliance warnings", count(compliance["warnings"]), "all time"),
        Tile("Products removed", count(compliance["products_removed"]), "all time"),
        Tile("Late shipments", count(compliance["late_shipments"]), "all time"),
    )
    leaders = tuple(
        (rank, str(row["name"]), int(row["orders"]), int(row["revenue_cents"]) / 100)
        for rank, row in enumerate(body["top_vendors_by_orders"], start=1)
    )
    link_leaders = tuple(  # absent from a document cached by an older server
        (rank, str(row["name"]), percent(float(row["quality"])), int(row["verified"]),
         int(row["rejected"]) + int(row["removed"]), int(row["pending"]))
        for rank, row in enumerate(body.get("top_vendors_by_link_quality", ()), start=1)
    )  # fmt: skip
    tables = (
        DataTable("Top vendors, last 30 days", ("#", "Vendor", "Orders", "Revenue (USD)"), leaders),
        DataTable(
            "Top vendors by link quality",
            ("#", "Vendor", "Links verified", "Verified", "Rejected or removed", "Pending"),
            link_leaders,
        ),
        DataTable("Vendors by status", ("Status", "Vendors"), _keyed(body["by_status"])),
    )
    return AnalyticsView(VENDORS, _as_of(body), tiles, None, tables)


def content_view(body: Mapping[str, Any]) -> AnalyticsView:
    tiles = (
        Tile("Contents", count(body["total_contents"]), "catalogue"),
        Tile("Sync sessions", count(body["sync_sessions_30d"]), "last 30 days"),
        Tile("Sync hours", f"{float(body['sync_hours_30d']):,.1f}", "last 30 days"),
        Tile("Completed syncs", percent(float(body["completion_rate"])), "last 30 days"),
        Tile("Subjects detected", percent(float(body["detection_rate"])), "last 30 days"),
        Tile("Subjects verified", percent(float(body["subject_verification_rate"])), "catalogue"),
    )
    if "subject_click_through_30d" in body:  # absent from a document cached by an older server
        click_through = float(body["subject_click_through_30d"])
        tiles += (Tile("Subject click-through", percent(click_through), "of detected syncs, last 30 days"),)
    top = tuple(
        (rank, str(row["title"]), str(row["genre"]), int(row["sync_sessions"]))
        for rank, row in enumerate(body["top_contents"], start=1)
    )
    top_clicked = tuple(
        (rank, str(row["title"]), str(row["genre"]), int(row["detected_sessions"]),
         int(row["sessions_with_click"]), int(row["clicks"]), percent(float(row["click_through"])))
        for rank, row in enumerate(body.get("top_contents_by_click_through", ()), start=1)
    )  # fmt: skip
    by_genre_clicks = tuple(
        (str(row["genre"]), int(row["detected_sessions"]), int(row["sessions_with_click"]),
         percent(float(row["click_through"])))
        for row in body.get("click_through_by_genre", ())
    )  # fmt: skip
    click_columns = ("Detected syncs", "With a subject click", "Click-through")
    tables = (
        DataTable("Top content, last 30 days", ("#", "Title", "Genre", "Sync sessions"), top),
        DataTable(
            "Subject click-through by content, last 30 days",
            ("#", "Title", "Genre", *click_columns[:2], "Clicks", click_columns[2]),
            top_clicked,
        ),
        DataTable("Subject click-through by genre, last 30 days", ("Genre", *click_columns), by_genre_clicks),
        DataTable("Catalogue by genre", ("Genre", "Contents"), _keyed(body["by_genre"])),
    )
    return AnalyticsView(CONTENT, _as_of(body), tiles, None, tables)


def revenue_view(body: Mapping[str, Any]) -> AnalyticsView:
    as_of = _as_of(body)
    currency = str(body.get("currency", "USD"))
    monthly = _complete_months(body["by_month"], "month", "revenue_cents", as_of, "Revenue by month")
    series = MonthlySeries(monthly.title, monthly.months, tuple(cents / 100 for cents in monthly.values))
    tiles = (
        Tile("Revenue", money(body["revenue_cents_30d"], currency), "last 30 days"),
        Tile("Commission", money(body["commission_cents_30d"], currency), "last 30 days"),
        Tile("Orders", count(body["orders_30d"]), "last 30 days"),
        Tile("Average order", money(body["average_order_value_cents"], currency), "last 30 days"),
        Tile("Refunds", percent(float(body["refund_rate"])), "of orders, last 30 days"),
        Tile("Failed payments", percent(float(body["payment_failure_rate"])), "of orders, last 30 days"),
        Tile(
            "Last full month",
            money(monthly.values[-1] if monthly.values else 0, currency),
            _trend_detail(monthly),
        ),
    )
    channels = tuple(
        (str(row["channel"]), int(row["orders"]), int(row["revenue_cents"]) / 100)
        for row in body["by_channel"]
    )
    months = tuple(
        (
            str(row["month"]),
            int(row["orders"]),
            int(row["revenue_cents"]) / 100,
            int(row["commission_cents"]) / 100,
        )
        for row in body["by_month"]
    )
    leaders = tuple(
        (rank, str(row["name"]), int(row["orders"]), int(row["revenue_cents"]) / 100)
        for rank, row in enumerate(body["top_vendors_by_revenue"], start=1)
    )
    tables = (
        DataTable(
            "Revenue by channel, last 30 days", ("Channel", "Orders", f"Revenue ({currency})"), channels
        ),
        DataTable(
            "Top vendors by revenue, last 30 days",
            ("#", "Vendor", "Orders", f"Revenue ({currency})"),
            leaders,
        ),
        DataTable(
            "By month", ("Month", "Orders", f"Revenue ({currency})", f"Commission ({currency})"), months
        ),
    )
    return AnalyticsView(REVENUE, as_of, tiles, series, tables)


VIEW_BUILDERS: dict[str, Callable[[Mapping[str, Any]], AnalyticsView]] = {
    USERS: users_view,
    VENDORS: vendors_view,
    CONTENT: content_view,
    REVENUE: revenue_view,
}

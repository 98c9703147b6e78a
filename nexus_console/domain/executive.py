"""The executive view: the business at a glance, a tile a figure (revenue, orders, average order, users,
new users, vendors, products, uptime, API p95, incidents), with the last whole month against the month
before (MoM) and the same month a year earlier (YoY), and a monthly trend for a sparkline. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import add
from typing import Any

from nexus_console.domain.analytics import MonthlySeries, count, money, month_over_month, users_view
from nexus_console.domain.health_documents import ApiHealth
from nexus_console.domain.incident_flow import IncidentList
from nexus_console.domain.reports import ReportTable
from nexus_console.domain.uptime import Tally
from nexus_console.domain.uptime_report import uptime_text
from nexus_console.domain.uptime_windows import ServiceUptime

DAY_S = 86_400
MONTHLY_DAYS = 400  # asked of /analytics/report by month: 13 whole months, for a year-on-year change


@dataclass(frozen=True, slots=True)
class ExecutiveTile:
    label: str
    value: str
    detail: str  # the range, the changes, or why the figure is not shown
    trend: tuple[float, ...] = ()  # a value a month, oldest first (a sparkline)
    available: bool = True


@dataclass(frozen=True, slots=True)
class ExecutiveInputs:
    users: Mapping[str, Any] | None = None  # /analytics/users
    vendors: Mapping[str, Any] | None = None  # /analytics/vendors
    monthly: ReportTable | None = None  # /analytics/report by month: orders (and revenue for finance)
    uptime: Sequence[ServiceUptime] | None = None
    api: ApiHealth | None = None
    incidents: IncidentList | None = None
    may_read_revenue: bool = False
    may_read_incidents: bool = True


def whole_months(table: ReportTable, column: str) -> MonthlySeries | None:
    """`column` a month from a by-month report, whole months only: not a first month the range starts
    inside of, not the month the data's as-of instant falls in."""
    names = [c.name for c in table.columns]
    if "month" not in names or column not in names:
        return None
    month_at, value_at = names.index("month"), names.index(column)
    current = table.as_of[:7]
    first_partial = table.date_from[:7] if not table.date_from.endswith("-01") else None
    kept = [row for row in table.rows if row[month_at] < current and row[month_at] != first_partial]
    return MonthlySeries(
        column, tuple(r[month_at] for r in kept), tuple(float(r[value_at] or 0) for r in kept)
    )


def _changes(series: MonthlySeries) -> str:
    latest = month_over_month(series)
    if latest is None:
        return ""
    month, mom, yoy = latest
    return " · ".join([month, *(f"{label} {text}" for label, text in (("MoM", mom), ("YoY", yoy)) if text)])


def _trend_tile(label: str, series: MonthlySeries | None, show: Any) -> ExecutiveTile:
    if series is None or not series.values:
        return ExecutiveTile(label, "—", "no whole month yet", available=False)
    return ExecutiveTile(label, show(series.values[-1]), _changes(series), series.values)


def executive_tiles(inputs: ExecutiveInputs, now: float) -> tuple[ExecutiveTile, ...]:
    tiles: list[ExecutiveTile] = []
    monthly = inputs.monthly
    if inputs.may_read_revenue:
        revenue = whole_months(monthly, "revenue") if monthly else None
        orders = whole_months(monthly, "orders") if monthly else None
        tiles.append(_trend_tile("Revenue, last whole month", revenue, money_from_dollars))
        if revenue is not None and orders is not None and orders.values and orders.values[-1]:
            pairs = zip(revenue.values, orders.values, strict=True)
            aov = MonthlySeries("aov", revenue.months, tuple(r / o if o else 0.0 for r, o in pairs))
            tiles.append(_trend_tile("Average order", aov, money_from_dollars))
    else:
        tiles.append(ExecutiveTile("Revenue", "—", "for finance and admins", available=False))
    orders = whole_months(monthly, "orders") if monthly else None
    tiles.append(_trend_tile("Orders, last whole month", orders, count))
    if inputs.users is not None:
        users = inputs.users
        signups = users_view(users).series
        tiles.append(
            ExecutiveTile("Users", count(users["total_users"]), f"{count(users['mau'])} active in 30 days")
        )
        tiles.append(_trend_tile("New users, last whole month", signups, count))
    if inputs.vendors is not None:
        vendors = inputs.vendors
        waiting = f"{count(vendors['pending_approval'])} awaiting approval"
        tiles.append(ExecutiveTile("Vendors", count(vendors["total_vendors"]), waiting))
        flagged = f"{count(vendors['flagged_products'])} flagged"
        tiles.append(ExecutiveTile("Products", count(vendors["total_products"]), flagged))
    tiles.append(_uptime_tile(inputs.uptime))
    if inputs.api is not None:
        api = inputs.api
        tiles.append(
            ExecutiveTile("API p95", f"{api.p95_ms:,.0f} ms", f"p99 {api.p99_ms:,.0f} ms · {api.status}")
        )
    else:
        tiles.append(ExecutiveTile("API p95", "—", "no answer from the API yet", available=False))
    tiles.append(_incident_tile(inputs, now))
    return tuple(tiles)


def money_from_dollars(value: float) -> str:
    return money(value * 100)


def _uptime_tile(uptime: Sequence[ServiceUptime] | None) -> ExecutiveTile:
    if not uptime:
        return ExecutiveTile("Uptime, 30 days", "—", "nothing recorded yet", available=False)
    total: Tally = reduce(add, (service.last_30d for service in uptime))
    return ExecutiveTile(
        "Uptime, 30 days", uptime_text(total), f"all {len(uptime)} services, as this console saw them"
    )


def _incident_tile(inputs: ExecutiveInputs, now: float) -> ExecutiveTile:
    if not inputs.may_read_incidents:
        return ExecutiveTile("Incidents", "—", "not readable with your role", available=False)
    if inputs.incidents is None:
        return ExecutiveTile("Incidents", "—", "no answer yet", available=False)
    incidents = inputs.incidents.incidents
    recent = sum(1 for incident in incidents if incident.created_at >= now - 30 * DAY_S)
    return ExecutiveTile(
        "Open incidents", count(len(inputs.incidents.active)), f"{recent} declared in 30 days"
    )

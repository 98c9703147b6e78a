"""Saved reports: what a report asks the server's `/analytics/report` for (metrics, dimensions, filters, a
range of days ending at the data's as-of instant), when it runs by itself, where it goes, and the table the
server answers. Pure: no I/O, no Qt."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

REPORT_PATH = "/analytics/report"
METRICS = {
    "orders": "Orders",
    "units": "Units",
    "refunds": "Refunds",
    "refund_rate": "Refund rate",
    "revenue": "Revenue",
    "commission": "Commission",
    "average_order_value": "Average order value",
}
REVENUE_METRICS = frozenset({"revenue", "commission", "average_order_value"})  # finance and admins only
DIMENSIONS = {
    "day": "Day",
    "week": "Week",
    "month": "Month",
    "vendor": "Vendor",
    "category": "Category",
    "channel": "Channel",
    "status": "Status",
}
FILTERS = ("channel", "status", "category", "vendor_id")
MAX_DIMENSIONS = 3
MAX_RANGE_DAYS = 3 * 365 + 1  # three years, a leap day included (the server's limit)
FORMATS = ("csv", "xlsx", "pdf")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ReportError(ValueError):
    """A report that cannot run as written, as the sentence to show."""


@dataclass(frozen=True, slots=True)
class ReportSpec:
    name: str
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    days: int = 30  # the range: this many days up to the data's as-of instant
    schedule: str | None = None  # "daily 08:00", "weekly mon 08:00", "monthly 1 08:00" or a cron line
    format: str = "xlsx"
    folder: str | None = None  # delivery: a copy written here on each scheduled run
    email_to: tuple[str, ...] = ()  # delivery: sent as an attachment over the profile's SMTP server

    def __post_init__(self) -> None:
        problems = report_problems(self)
        if problems:
            raise ReportError(problems[0])

    def query_params(self) -> dict[str, str]:
        params = {"metrics": ",".join(self.metrics), "days": str(self.days)}
        if self.dimensions:
            params["dimensions"] = ",".join(self.dimensions)
        for key, values in self.filters.items():
            if values:
                params[key] = ",".join(values)
        return params

    def needs_revenue(self) -> bool:
        return any(metric in REVENUE_METRICS for metric in self.metrics)

    def describe(self) -> str:
        """'Orders, Units by Vendor, Week · last 7 days'."""
        what = ", ".join(METRICS[m] for m in self.metrics)
        by = f" by {', '.join(DIMENSIONS[d] for d in self.dimensions)}" if self.dimensions else ""
        return f"{what}{by} · last {self.days} days"

    def to_toml(self) -> dict[str, Any]:
        body: dict[str, Any] = {"metrics": list(self.metrics), "days": self.days, "format": self.format}
        if self.dimensions:
            body["dimensions"] = list(self.dimensions)
        filters = {key: list(values) for key, values in self.filters.items() if values}
        if filters:
            body["filters"] = filters
        for key in ("schedule", "folder"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.email_to:
            body["email_to"] = list(self.email_to)
        return body

    @classmethod
    def from_toml(cls, name: str, body: Mapping[str, Any]) -> ReportSpec:
        known = {"metrics", "dimensions", "filters", "days", "schedule", "format", "folder", "email_to"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ReportError(
                f"Report “{name}” has settings this console does not know: {', '.join(unknown)}."
            )
        return cls(
            name=name,
            metrics=tuple(str(m) for m in body.get("metrics", ())),
            dimensions=tuple(str(d) for d in body.get("dimensions", ())),
            filters={str(k): tuple(str(v) for v in values) for k, values in body.get("filters", {}).items()},
            days=int(body.get("days", 30)),
            schedule=body.get("schedule") or None,
            format=str(body.get("format", "xlsx")),
            folder=body.get("folder") or None,
            email_to=tuple(str(a) for a in body.get("email_to", ())),
        )


def report_problems(spec: ReportSpec) -> list[str]:
    """Why `spec` cannot run, in sentences (empty: it can)."""
    problems = []
    if not spec.name.strip():
        problems.append("A report needs a name.")
    if not spec.metrics:
        problems.append("Pick at least one figure (orders, units, revenue, …).")
    for metric in spec.metrics:
        if metric not in METRICS:
            problems.append(f"Unknown figure “{metric}”; choose from {', '.join(METRICS)}.")
    for dimension in spec.dimensions:
        if dimension not in DIMENSIONS:
            problems.append(f"Unknown breakdown “{dimension}”; choose from {', '.join(DIMENSIONS)}.")
    if len(spec.dimensions) > MAX_DIMENSIONS:
        problems.append(f"At most {MAX_DIMENSIONS} breakdowns.")
    if len(set(spec.dimensions)) != len(spec.dimensions):
        problems.append("Each breakdown can be used once.")
    for key in spec.filters:
        if key not in FILTERS:
            problems.append(f"Unknown filter “{key}”; filter by {', '.join(FILTERS)}.")
    if not 1 <= spec.days <= MAX_RANGE_DAYS:
        problems.append("The range is 1 day to 3 years.")
    if spec.format not in FORMATS:
        problems.append(f"Unknown format “{spec.format}”; choose csv, xlsx or pdf.")
    if spec.schedule:
        try:
            schedule_to_cron(spec.schedule)
        except ReportError as exc:
            problems.append(str(exc))
    for address in spec.email_to:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            problems.append(f"“{address}” is not an e-mail address.")
    return problems


_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"


def schedule_to_cron(schedule: str) -> str:
    """'daily 08:00' → '0 8 * * *'; 'weekly mon 08:00' → '0 8 * * 1'; 'monthly 1 08:00' → '0 8 1 * *'; a
    five-field cron line is kept as it is (checked when the next run is computed)."""
    text = " ".join(schedule.lower().split())
    if match := re.fullmatch(rf"daily {_TIME}", text):
        return f"{int(match[2])} {int(match[1])} * * *"
    if match := re.fullmatch(rf"weekly ({'|'.join(WEEKDAYS)}) {_TIME}", text):
        return f"{int(match[3])} {int(match[2])} * * {WEEKDAYS.index(match[1]) + 1}"
    if match := re.fullmatch(rf"monthly ([1-9]|[12]\d|3[01]) {_TIME}", text):
        return f"{int(match[3])} {int(match[2])} {int(match[1])} * *"
    if len(text.split()) == 5:
        return text
    raise ReportError(
        f"“{schedule}” is not a schedule: write “daily 08:00”, “weekly mon 08:00”, “monthly 1 08:00” or "
        "a five-field cron line such as “0 8 * * 1”."
    )


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    name: str
    at: datetime
    ok: bool
    text: str  # what happened, as a sentence


@dataclass(frozen=True, slots=True)
class ReportColumn:
    name: str
    label: str
    type: str  # string, integer, number, currency, date, month


@dataclass(frozen=True, slots=True)
class ReportTable:
    """The server's answer: columns, rows, and the range and instant it describes."""

    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    date_from: str
    date_to: str
    as_of: str
    truncated: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ReportTable:
        columns = tuple(
            ReportColumn(str(c["name"]), str(c["label"]), str(c["type"])) for c in body["columns"]
        )
        rows = tuple(tuple(row) for row in body["rows"])
        if any(len(row) != len(columns) for row in rows):
            raise ValueError("a row does not have one value a column")
        return cls(
            columns, rows, str(body["from"]), str(body["to"]), str(body["as_of"]), bool(body["truncated"])
        )

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(column.label for column in self.columns)

    def range_text(self) -> str:
        return f"{self.date_from} to {self.date_to} (end exclusive)"

    def as_of_text(self) -> str:
        """'1 Nov 2026 00:00 UTC' (the server's RFC 3339 instant, as people read it)."""
        try:
            instant = datetime.fromisoformat(self.as_of.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return self.as_of
        return instant.strftime("%-d %b %Y %H:%M UTC")


def report_filename(spec: ReportSpec, table: ReportTable, fmt: str) -> str:
    """'weekly_vendor_performance_2026-10-25_2026-11-01.xlsx'."""
    stem = re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_") or "report"
    return f"{stem}_{table.date_from}_{table.date_to}.{fmt}"

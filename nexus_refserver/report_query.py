"""Report queries (`GET /analytics/report`): metrics over orders, grouped by up to three dimensions.

One GROUP BY over `orders` (outer-joined to `vendors` and `products` when a dimension or filter needs them)
sums the additive parts; ratios and averages are derived from the sums afterwards. Time is grouped by the
order's UTC calendar day as `YYYY-MM-DD` text (`YYYY-MM` when only months are asked), the same on SQLite
and PostgreSQL; days are folded into ISO weeks and months in Python, which costs at most 1,096 days times
the other groups. The range is half-open, on that UTC day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import String, case, cast, func, select, type_coerce

from nexus_refserver.databases import Databases, rfc3339
from nexus_refserver.generator import CATEGORIES, DATA_AS_OF
from nexus_refserver.problems import ProblemError
from nexus_refserver.schema import orders, products, vendors

# name -> (label, column type)
METRICS: dict[str, tuple[str, str]] = {
    "orders": ("Orders", "integer"),
    "units": ("Units", "integer"),
    "refunds": ("Refunds", "integer"),
    "refund_rate": ("Refund rate", "number"),
    "revenue": ("Revenue (USD)", "currency"),
    "commission": ("Commission (USD)", "currency"),
    "average_order_value": ("Average order value (USD)", "currency"),
}
REVENUE_METRICS = ("revenue", "commission", "average_order_value")  # also need revenue:read
DIMENSIONS: dict[str, tuple[str, str]] = {
    "day": ("Day", "date"),
    "week": ("Week", "date"),
    "month": ("Month", "month"),
    "vendor": ("Vendor", "string"),
    "category": ("Category", "string"),
    "channel": ("Channel", "string"),
    "status": ("Status", "string"),
}
VENDOR_ID_COLUMN = {"name": "vendor_id", "label": "Vendor ID", "type": "integer"}
CHANNELS = ("consumer_app", "webshop")
STATUSES = ("completed", "failed", "refunded")
CATEGORY_CHOICES = tuple(sorted(CATEGORIES))
MAX_DIMENSIONS = 3
MAX_RANGE_DAYS = 3 * 365 + 1  # three years, a leap day included
DEFAULT_RANGE_DAYS = 30
DEFAULT_TO = DATA_AS_OF.date()  # `to` when not given: the day of the data's as-of instant
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
MAX_VENDOR_IDS = 1_000
MAX_VENDOR_ID = 2**31 - 1
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VENDOR_ID = re.compile(r"[0-9]{1,10}")
_CENT = Decimal("0.01")
_SUMS = 6  # after the group keys: count, units, refunds, completed, amount and commission of completed


def unprocessable(detail: str) -> ProblemError:
    return ProblemError(422, detail, title="Unprocessable Content")


def quoted(value: str) -> str:
    return f"“{value if len(value) <= 40 else value[:39] + '…'}”"


def _items(values: Iterable[str | None]) -> list[str]:
    """Comma-separated and/or repeated values, trimmed and lower-cased; empty items dropped."""
    return [item.strip().lower() for value in values if value for item in value.split(",") if item.strip()]


def _chosen(kind: str, values: list[str], allowed: Iterable[str], *, once: bool) -> tuple[str, ...]:
    allowed = tuple(allowed)
    for value in values:
        if value not in allowed:
            raise unprocessable(f"Unknown {kind} {quoted(value)}; choose from {', '.join(allowed)}.")
    if once:
        for value in values:
            if values.count(value) > 1:
                raise unprocessable(f"The {kind} {quoted(value)} is asked for twice; name each {kind} once.")
    return tuple(dict.fromkeys(values))


def _vendor_ids(values: list[str]) -> tuple[int, ...]:
    ids: dict[int, None] = {}
    for value in values:
        if not _VENDOR_ID.fullmatch(value) or not 1 <= int(value) <= MAX_VENDOR_ID:
            raise unprocessable(f"{quoted(value)} is not a vendor id; vendor ids are whole numbers like 12.")
        ids[int(value)] = None
    if len(ids) > MAX_VENDOR_IDS:
        raise unprocessable(f"A report filters on at most {MAX_VENDOR_IDS:,} vendor ids, not {len(ids):,}.")
    return tuple(ids)


def parse_date(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise unprocessable(f"“{name}” must be a date written YYYY-MM-DD, not {quoted(text)}.")


@dataclass(frozen=True)
class ReportRequest:
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    date_from: date = DEFAULT_TO - timedelta(days=DEFAULT_RANGE_DAYS)
    date_to: date = DEFAULT_TO
    vendor_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT

    @property
    def revenue_metrics(self) -> tuple[str, ...]:
        """The metrics asked for that need revenue:read besides analytics:read."""
        return tuple(metric for metric in self.metrics if metric in REVENUE_METRICS)

    @classmethod
    def parse(
        cls,
        *,
        metrics: str,
        dimensions: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        days: int | None = None,
        vendor_id: list[str] | None = None,
        channel: list[str] | None = None,
        status: list[str] | None = None,
        category: list[str] | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> ReportRequest:
        """The query parameters as given; a 422 problem with a sentence for the first one that is wrong."""
        chosen_metrics = _chosen("metric", _items([metrics]), METRICS, once=True)
        if not chosen_metrics:
            raise unprocessable(f"Choose at least one metric from {', '.join(METRICS)}.")
        asked = _items([dimensions])
        if len(asked) > MAX_DIMENSIONS:
            raise unprocessable(
                f"A report has at most {MAX_DIMENSIONS} dimensions; {quoted(', '.join(asked))} "
                f"is {len(asked)}."
            )
        chosen_dimensions = _chosen("dimension", asked, DIMENSIONS, once=True)
        start, end = date_range(parse_date("from", date_from), parse_date("to", date_to), days)
        return cls(
            metrics=chosen_metrics,
            dimensions=chosen_dimensions,
            date_from=start,
            date_to=end,
            vendor_ids=_vendor_ids(_items(vendor_id or [])),
            channels=_chosen("channel", _items(channel or []), CHANNELS, once=False),
            statuses=_chosen("status", _items(status or []), STATUSES, once=False),
            categories=_chosen("category", _items(category or []), CATEGORY_CHOICES, once=False),
            limit=limit,
        )


def date_range(
    start: date | None,
    end: date | None,
    days: int | None,
    *,
    max_days: int = MAX_RANGE_DAYS,
    longest: str = "a report covers at most 3 years",
) -> tuple[date, date]:
    """[from, to): `to` defaults to the data's as-of day, `from` to `days` (30) days before `to`."""
    end = end or DEFAULT_TO
    if start is not None and days is not None:
        raise unprocessable("Give either “from” or “days”, not both.")
    if start is None:
        span = DEFAULT_RANGE_DAYS if days is None else days
        try:
            start = end - timedelta(days=span)
        except OverflowError:
            raise unprocessable(f"There are not {span} days before {end}; give “from” instead.") from None
    if start >= end:
        raise unprocessable(f"“from” ({start}) must be before “to” ({end}).")
    if (end - start).days > max_days:
        raise unprocessable(
            f"From {start} to {end} is {(end - start).days:,} days; {longest} ({max_days:,} days)."
        )
    return start, end


def utc_date_text(column: Any, dialect: str, length: int) -> Any:
    """'YYYY-MM-DD' (length 10) or 'YYYY-MM' (7) of a timestamp's UTC date, on SQLite and PostgreSQL.

    SQLite stores UTC text, so the prefix of its text form (as analytics._month does); PostgreSQL's text
    form of a timestamptz follows the session time zone, so the date is formatted in UTC explicitly.
    """
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD" if length == 10 else "YYYY-MM")
    return func.substr(cast(column, String), 1, length)


def at_or_after(column: Any, instant: datetime, dialect: str) -> Any:
    """`column >= instant` for a timestamp column, exact to the second on SQLite and PostgreSQL.

    SQLite keeps UTC text (`YYYY-MM-DD HH:MM:SS`) and SQLAlchemy would bind the instant with microseconds,
    which sorts after a stored value at that very second; so the text is compared with text of the same
    form (still by the column's index). PostgreSQL compares timestamptz values.
    """
    if dialect == "sqlite":
        return type_coerce(column, String) >= _sqlite_text(instant)
    return column >= instant


def before(column: Any, instant: datetime, dialect: str) -> Any:
    """`column < instant`, as `at_or_after` compares."""
    if dialect == "sqlite":
        return type_coerce(column, String) < _sqlite_text(instant)
    return column < instant


def _sqlite_text(instant: datetime) -> str:
    # isoformat, not strftime: %Y does not pad years before 1000
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def _money(cents: int | Decimal) -> float:
    return float((Decimal(cents) / 100).quantize(_CENT, rounding=ROUND_HALF_UP))


def _metric(name: str, sums: list[int]) -> int | float:
    count, units, refunds, completed, amount, commission = sums
    if name == "orders":
        return count
    if name == "units":
        return units
    if name == "refunds":
        return refunds
    if name == "refund_rate":
        return round(refunds / count, 4) if count else 0.0
    if name == "revenue":
        return _money(amount)
    if name == "commission":
        return _money(commission)
    return _money(Decimal(amount) / completed) if completed else 0.0  # average_order_value


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    # nulls (an order whose vendor or product row is missing) last
    return tuple((value is None, value) for value in key)


class ReportQuery:
    def __init__(self, dbs: Databases) -> None:
        self._dbs = dbs

    def run(self, request: ReportRequest) -> dict[str, Any]:
        """The report as `ReportResult` describes it."""
        engine = self._dbs.marketplace
        statement, positions = self._statement(request, engine.dialect.name)
        with engine.connect() as conn:
            groups = conn.execute(statement).all()
        totals = self._fold(request, groups, positions)
        keys = sorted(totals, key=_sort_key)
        rows = [
            [*key, *(_metric(metric, totals[key]) for metric in request.metrics)]
            for key in keys[: request.limit]
        ]
        return {
            "generated_at": rfc3339(datetime.now(UTC)),
            "as_of": rfc3339(DATA_AS_OF),
            "from": request.date_from.isoformat(),
            "to": request.date_to.isoformat(),
            "columns": self._columns(request),
            "rows": rows,
            "truncated": len(keys) > request.limit,
        }

    @staticmethod
    def _columns(request: ReportRequest) -> list[dict[str, str]]:
        columns = []
        for name in request.dimensions:
            label, kind = DIMENSIONS[name]
            columns.append({"name": name, "label": label, "type": kind})
            if name == "vendor":
                columns.append(VENDOR_ID_COLUMN)
        for name in request.metrics:
            label, kind = METRICS[name]
            columns.append({"name": name, "label": label, "type": kind})
        return columns

    @staticmethod
    def _statement(request: ReportRequest, dialect: str) -> tuple[Any, dict[str, int]]:
        """The GROUP BY, and where each dimension's value is in its rows (after the group keys: the sums)."""
        o, v, p = orders.c, vendors.c, products.c
        dimensions = set(request.dimensions)
        source = orders
        keys: list[Any] = []
        positions: dict[str, int] = {}
        if dimensions & {"day", "week", "month"}:
            positions["time"] = len(keys)
            keys.append(utc_date_text(o.placed_at, dialect, 10 if dimensions & {"day", "week"} else 7))
        if "vendor" in dimensions:
            source = source.outerjoin(vendors, v.id == o.vendor_id)
            positions["vendor"] = len(keys)
            keys += [v.name, o.vendor_id]
        if "category" in dimensions or request.categories:
            source = source.outerjoin(products, p.id == o.product_id)
        for name, column in (("category", p.category), ("channel", o.channel), ("status", o.status)):
            if name in dimensions:
                positions[name] = len(keys)
                keys.append(column)
        day = utc_date_text(o.placed_at, dialect, 10)
        conditions = [day >= request.date_from.isoformat(), day < request.date_to.isoformat()]
        for values, column in (
            (request.vendor_ids, o.vendor_id),
            (request.channels, o.channel),
            (request.statuses, o.status),
            (request.categories, p.category),
        ):
            if values:
                conditions.append(column.in_(values))
        completed = o.status == "completed"
        labels = [f"k{index}" for index in range(len(keys))]
        statement = (
            select(
                *(key.label(label) for key, label in zip(keys, labels, strict=True)),
                func.count(),
                func.sum(o.quantity),
                func.sum(case((o.status == "refunded", 1), else_=0)),
                func.sum(case((completed, 1), else_=0)),
                func.sum(case((completed, o.amount_cents), else_=0)),
                func.sum(case((completed, o.commission_cents), else_=0)),
            )
            .select_from(source)
            .where(*conditions)
        )
        # grouped by the labels: PostgreSQL would not match the SELECT's expressions with their own binds
        return (statement.group_by(*labels) if labels else statement), positions

    @staticmethod
    def _fold(
        request: ReportRequest, groups: list[Any], positions: dict[str, int]
    ) -> dict[tuple[Any, ...], list[int]]:
        """Sum the SQL groups into the report's keys (days into weeks or months)."""
        totals: dict[tuple[Any, ...], list[int]] = {}
        for group in groups:
            key: list[Any] = []
            for name in request.dimensions:
                if name == "vendor":
                    at = positions["vendor"]
                    key += [group[at], group[at + 1]]
                elif name == "week":
                    day = date.fromisoformat(group[positions["time"]])
                    key.append((day - timedelta(days=day.weekday())).isoformat())
                elif name in ("day", "month"):
                    key.append(group[positions["time"]][: 10 if name == "day" else 7])
                else:
                    key.append(group[positions[name]])
            sums = [int(value or 0) for value in group[-_SUMS:]]
            into = totals.setdefault(tuple(key), [0] * len(sums))
            for index, value in enumerate(sums):
                into[index] += value
        return totals

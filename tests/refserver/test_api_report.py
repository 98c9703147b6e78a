"""GET /analytics/report: every figure checked against the server's own marketplace database.

The expected tables are computed here independently: the raw orders are read from the server's SQLite file
(read-only, with the sqlite3 module) and grouped in Python, with dates parsed as datetimes and weeks taken
from the ISO calendar, not the way the server computes them.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from tests.refserver.conftest import bearer, login
from tests.support.postgres import PgCluster
from tests.support.postgres_fixtures import DATABASES, REFSERVER_SCALE, primary_rows
from tests.support.refserver import RefServer

PROBLEM = "application/problem+json"
ALL_METRICS = ("orders", "units", "refunds", "refund_rate", "revenue", "commission", "average_order_value")


@dataclass(frozen=True)
class Order:
    day: date
    vendor_id: int
    vendor: str | None
    category: str | None
    channel: str
    status: str
    quantity: int
    amount_cents: int
    commission_cents: int


def _orders(server: RefServer) -> list[Order]:
    db = sqlite3.connect(f"file:{server.data_dir / 'marketplace.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT o.placed_at, o.vendor_id, v.name, p.category, o.channel, o.status, o.quantity, "
            "o.amount_cents, o.commission_cents FROM orders o "
            "LEFT JOIN vendors v ON v.id = o.vendor_id LEFT JOIN products p ON p.id = o.product_id"
        ).fetchall()
    finally:
        db.close()
    return [Order(datetime.fromisoformat(row[0]).date(), *row[1:]) for row in rows]


@pytest.fixture(scope="module")
def orders(refserver_session: RefServer) -> list[Order]:
    return _orders(refserver_session)


def _key(order: Order, dimension: str) -> list[object]:
    if dimension == "day":
        return [order.day.isoformat()]
    if dimension == "week":
        year, week, _ = order.day.isocalendar()
        return [date.fromisocalendar(year, week, 1).isoformat()]
    if dimension == "month":
        return [f"{order.day.year:04d}-{order.day.month:02d}"]
    if dimension == "vendor":
        return [order.vendor, order.vendor_id]
    return [getattr(order, dimension)]


def _cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _figures(group: list[Order], metrics: tuple[str, ...]) -> list[object]:
    completed = [o for o in group if o.status == "completed"]
    refunds = sum(1 for o in group if o.status == "refunded")
    revenue = sum(o.amount_cents for o in completed)
    values = {
        "orders": len(group),
        "units": sum(o.quantity for o in group),
        "refunds": refunds,
        "refund_rate": round(refunds / len(group), 4) if group else 0.0,
        "revenue": _cents(Decimal(revenue) / 100),
        "commission": _cents(Decimal(sum(o.commission_cents for o in completed)) / 100),
        "average_order_value": _cents(Decimal(revenue) / len(completed) / 100) if completed else 0.0,
    }
    return [values[metric] for metric in metrics]


def expected_rows(
    orders: list[Order],
    metrics: tuple[str, ...],
    dimensions: tuple[str, ...],
    start: str,
    end: str,
    keep: Callable[[Order], bool] = lambda _: True,
) -> list[list[object]]:
    chosen = [o for o in orders if date.fromisoformat(start) <= o.day < date.fromisoformat(end) and keep(o)]
    groups: dict[tuple, list[Order]] = defaultdict(list)
    for order in chosen:
        groups[tuple(part for d in dimensions for part in _key(order, d))].append(order)
    if not dimensions:
        return [_figures(chosen, metrics)]
    return [[*key, *_figures(groups[key], metrics)] for key in sorted(groups)]


def _report(client: httpx.Client, **params: object) -> dict:
    response = client.get("/analytics/report", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_weekly_orders_units_revenue_by_vendor(api_as, orders: list[Order]) -> None:  # type: ignore[no-untyped-def]
    body = _report(
        api_as("finance"),
        metrics="orders,units,revenue",
        dimensions="vendor,week",
        **{"from": "2026-08-03", "to": "2026-10-05"},
    )
    assert body["from"] == "2026-08-03" and body["to"] == "2026-10-05"
    assert body["as_of"] == "2026-11-01T00:00:00Z"
    assert body["columns"] == [
        {"name": "vendor", "label": "Vendor", "type": "string"},
        {"name": "vendor_id", "label": "Vendor ID", "type": "integer"},
        {"name": "week", "label": "Week", "type": "date"},
        {"name": "orders", "label": "Orders", "type": "integer"},
        {"name": "units", "label": "Units", "type": "integer"},
        {"name": "revenue", "label": "Revenue (USD)", "type": "currency"},
    ]
    expected = expected_rows(
        orders, ("orders", "units", "revenue"), ("vendor", "week"), "2026-08-03", "2026-10-05"
    )
    assert len(expected) > 20
    assert body["rows"] == expected
    assert body["truncated"] is False


def test_totals_without_dimensions_over_the_default_range(api_as, orders: list[Order]) -> None:  # type: ignore[no-untyped-def]
    body = _report(api_as("admin"), metrics=",".join(ALL_METRICS))
    # the default range: the 30 days up to the data's as-of day
    assert (body["from"], body["to"]) == ("2026-10-02", "2026-11-01")
    assert [c["name"] for c in body["columns"]] == list(ALL_METRICS)
    assert [c["type"] for c in body["columns"]] == [
        "integer", "integer", "integer", "number", "currency", "currency", "currency",
    ]  # fmt: skip
    assert body["rows"] == expected_rows(orders, ALL_METRICS, (), "2026-10-02", "2026-11-01")
    assert body["rows"][0][0] > 0 and body["rows"][0][2] > 0  # orders, and some refunded among them
    # `days` instead of `from`
    week = _report(api_as("admin"), metrics="orders,revenue", days=7)
    assert (week["from"], week["to"]) == ("2026-10-25", "2026-11-01")
    assert week["rows"] == expected_rows(orders, ("orders", "revenue"), (), "2026-10-25", "2026-11-01")


def test_filters_repeated_and_comma_separated(api_as, orders: list[Order]) -> None:  # type: ignore[no-untyped-def]
    metrics = ("orders", "units", "refunds", "commission")
    params = {
        "metrics": ",".join(metrics),
        "dimensions": "channel,status,category",
        "from": "2025-11-15",
        "to": "2026-11-01",
        "channel": "webshop",
        "status": ["completed", "refunded"],
        "category": "apparel,books,toys",
        "vendor_id": ["1,2", "3", "4,5,6"],
    }
    body = _report(api_as("finance"), **params)
    expected = expected_rows(
        orders,
        metrics,
        ("channel", "status", "category"),
        "2025-11-15",
        "2026-11-01",
        lambda o: (
            o.channel == "webshop"
            and o.status in ("completed", "refunded")
            and o.category in ("apparel", "books", "toys")
            and o.vendor_id in (1, 2, 3, 4, 5, 6)
        ),
    )
    assert body["rows"] == expected
    assert {row[0] for row in body["rows"]} == {"webshop"}
    assert {row[1] for row in body["rows"]} == {"completed", "refunded"}


def test_iso_weeks_span_two_months(api_as, orders: list[Order]) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    # Monday 2026-09-28 to Sunday 2026-10-04: one ISO week, two months
    in_week = [o for o in orders if date(2026, 9, 28) <= o.day < date(2026, 10, 5)]
    assert {o.day.month for o in in_week} == {9, 10}, "the data no longer has orders on both sides"
    week = _report(
        analyst, metrics="orders,units", dimensions="week", **{"from": "2026-09-28", "to": "2026-10-05"}
    )
    assert week["rows"] == [["2026-09-28", len(in_week), sum(o.quantity for o in in_week)]]
    months = _report(
        analyst, metrics="orders,units", dimensions="month", **{"from": "2026-09-28", "to": "2026-10-05"}
    )
    assert [row[0] for row in months["rows"]] == ["2026-09", "2026-10"]
    assert sum(row[1] for row in months["rows"]) == len(in_week)
    # over a longer range, weeks by channel; the first and last weeks count only their days in the range
    body = _report(
        analyst, metrics="orders,units,refund_rate", dimensions="week,channel",
        **{"from": "2026-09-02", "to": "2026-10-21"},
    )  # fmt: skip
    assert body["rows"] == expected_rows(
        orders, ("orders", "units", "refund_rate"), ("week", "channel"), "2026-09-02", "2026-10-21"
    )
    assert body["rows"][0][0] == "2026-08-31"  # the Monday of 2026-09-02's week


def test_a_small_limit_truncates(api_as, orders: list[Order]) -> None:  # type: ignore[no-untyped-def]
    client = api_as("analyst")
    full = _report(client, metrics="orders", dimensions="day")
    assert full["truncated"] is False
    assert full["rows"] == expected_rows(orders, ("orders",), ("day",), "2026-10-02", "2026-11-01")
    cut = _report(client, metrics="orders", dimensions="day", limit=5)
    assert cut["truncated"] is True
    assert cut["rows"] == full["rows"][:5]
    exact = _report(client, metrics="orders", dimensions="day", limit=len(full["rows"]))
    assert exact["truncated"] is False and exact["rows"] == full["rows"]


def test_the_same_figures_keep_their_etag(api_as) -> None:  # type: ignore[no-untyped-def]
    client = api_as("analyst")
    params = {"metrics": "orders", "dimensions": "status"}
    first = client.get("/analytics/report", params=params)
    second = client.get("/analytics/report", params=params)
    assert first.headers["etag"] == second.headers["etag"]
    again = client.get("/analytics/report", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_an_analyst_may_count_orders_but_not_see_revenue(api_as, orders: list[Order]) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    for metrics in ("revenue", "orders,units,revenue", "average_order_value", "commission"):
        response = analyst.get("/analytics/report", params={"metrics": metrics, "dimensions": "vendor"})
        assert response.status_code == 403, (metrics, response.text)
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == 403
        assert problem["required_role"] == "finance"
        assert "revenue:read" in problem["detail"]
    body = _report(analyst, metrics="orders,units", dimensions="vendor")
    assert body["rows"] == expected_rows(orders, ("orders", "units"), ("vendor",), "2026-10-02", "2026-11-01")


def test_a_viewer_may_not_run_reports(api_as) -> None:  # type: ignore[no-untyped-def]
    response = api_as("viewer").get("/analytics/report", params={"metrics": "orders"})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["required_role"] == "analyst"


@pytest.mark.parametrize(
    "params,sentence",
    [
        (
            {"metrics": "orders,profit"},
            "Unknown metric “profit”; choose from orders, units, refunds, refund_rate, revenue, commission, "
            "average_order_value.",
        ),
        ({"metrics": ","}, "Choose at least one metric from orders, units, refunds"),
        (
            {"metrics": "orders", "dimensions": "vendor,year"},
            "Unknown dimension “year”; choose from day, week, month, vendor, category, channel, status.",
        ),
        (
            {"metrics": "orders", "dimensions": "day,vendor,channel,status"},
            "A report has at most 3 dimensions; “day, vendor, channel, status” is 4.",
        ),
        ({"metrics": "orders,orders"}, "The metric “orders” is asked for twice"),
        (
            {"metrics": "orders", "from": "2026-10-10", "to": "2026-10-10"},
            "“from” (2026-10-10) must be before “to” (2026-10-10).",
        ),
        (
            {"metrics": "orders", "from": "2026-10-20", "to": "2026-10-10"},
            "“from” (2026-10-20) must be before “to” (2026-10-10).",
        ),
        (
            {"metrics": "orders", "from": "2026-02-30"},
            "“from” must be a date written YYYY-MM-DD, not “2026-02-30”.",
        ),
        (
            {"metrics": "orders", "to": "1 Nov 2026"},
            "“to” must be a date written YYYY-MM-DD, not “1 Nov 2026”.",
        ),
        (
            {"metrics": "orders", "from": "2023-10-31"},
            "From 2023-10-31 to 2026-11-01 is 1,097 days; a report covers at most 3 years",
        ),
        ({"metrics": "orders", "from": "2026-10-01", "days": 7}, "Give either “from” or “days”, not both."),
        (
            {"metrics": "orders", "channel": "webshop,shop"},
            "Unknown channel “shop”; choose from consumer_app, webshop.",
        ),
        (
            {"metrics": "orders", "status": "done"},
            "Unknown status “done”; choose from completed, failed, refunded.",
        ),
        (
            {"metrics": "orders", "category": "garden"},
            "Unknown category “garden”; choose from apparel, beauty,",
        ),
        ({"metrics": "orders", "vendor_id": "12,twelve"}, "“twelve” is not a vendor id"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_queries_are_422_sentences(api_as, params: dict, sentence: str) -> None:  # type: ignore[no-untyped-def]
    # as the analyst: a revenue metric in a bad query is still a 422 first
    response = api_as("analyst").get("/analytics/report", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert sentence in response.json()["detail"]


def test_three_years_is_the_longest_range(api_as) -> None:  # type: ignore[no-untyped-def]
    body = _report(api_as("analyst"), metrics="orders", dimensions="month", **{"from": "2023-11-01"})
    assert body["from"] == "2023-11-01" and body["rows"]  # 1,096 days, a leap day included


@pytest.mark.postgres
def test_report_on_postgresql_is_in_utc_whatever_the_session_time_zone(
    pg_cluster: PgCluster,
    pg_refserver: RefServer,
    refserver_factory: Callable[..., RefServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    october = "placed_at >= '2026-10-01T00:00:00Z' AND placed_at < '2026-10-15T00:00:00Z'"
    # a second server on the same data whose PostgreSQL sessions run at UTC+14 (libpq reads PGTZ)
    monkeypatch.setenv("PGTZ", "Pacific/Kiritimati")
    args = ["--seed", "11", "--scale", REFSERVER_SCALE, "--scenario", "none"]
    for name in DATABASES:
        args += [f"--{name}-db-url", pg_cluster.primary_url(name)]
    server = refserver_factory(*args)
    token = login(server.base_url, "finance")["access_token"]
    with httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=30) as client:
        body = _report(
            client, metrics="orders,units,revenue", dimensions="week,channel",
            **{"from": "2026-08-05", "to": "2026-10-20"},
        )  # fmt: skip
        days = _report(
            client, metrics="orders", dimensions="day", **{"from": "2026-10-01", "to": "2026-10-15"}
        )
        totals = _report(client, metrics="orders,refund_rate,average_order_value")
    rows = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT date_trunc('week', placed_at AT TIME ZONE 'UTC')::date AS week, channel, count(*) AS n, "
        "sum(quantity) AS units, sum(amount_cents) FILTER (WHERE status = 'completed') AS cents "
        "FROM orders WHERE placed_at >= '2026-08-05T00:00:00Z' AND placed_at < '2026-10-20T00:00:00Z' "
        "GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert body["rows"] == [
        [r["week"].isoformat(), r["channel"], r["n"], r["units"], _cents(Decimal(r["cents"] or 0) / 100)]
        for r in rows
    ]
    utc_days = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT (placed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM orders "
        f"WHERE {october} GROUP BY 1 ORDER BY 1",
    )
    assert days["rows"] == [[r["day"].isoformat(), r["n"]] for r in utc_days]
    # the session's own calendar (this test's connections run at UTC+14 too) would have put them elsewhere
    local_days = primary_rows(
        pg_cluster,
        "marketplace",
        f"SELECT placed_at::date AS day, count(*) AS n FROM orders WHERE {october} GROUP BY 1 ORDER BY 1",
    )
    assert local_days != utc_days
    total = primary_rows(
        pg_cluster,
        "marketplace",
        "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'refunded') AS refunds, "
        "count(*) FILTER (WHERE status = 'completed') AS done, "
        "sum(amount_cents) FILTER (WHERE status = 'completed') AS cents "
        "FROM orders WHERE placed_at >= '2026-10-02T00:00:00Z' AND placed_at < '2026-11-01T00:00:00Z'",
    )[0]
    aov = _cents(Decimal(total["cents"]) / total["done"] / 100)
    assert totals["rows"] == [[total["n"], round(total["refunds"] / total["n"], 4), aov]]

"""Vendors month by month (the vendor × month report): the leaderboard by units of the last whole month and
its rising stars, the vendors whose units grew most against the month before. Pure."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nexus_console.domain.analytics import DataTable
from nexus_console.domain.reports import ReportTable

TOP = 10
RISING_MIN_UNITS = 5  # a rising star sold at least this many units in the month: not 1 → 3 (+200 %)


def whole_months_of(table: ReportTable) -> list[str]:
    """The months the table covers whole: not one its range starts inside, not the as-of month."""
    month_at = [c.name for c in table.columns].index("month")
    current = table.as_of[:7]
    partial = None if table.date_from.endswith("-01") else table.date_from[:7]
    return sorted(
        {row[month_at] for row in table.rows if row[month_at] < current and row[month_at] != partial}
    )


def vendor_trend_tables(table: ReportTable) -> tuple[DataTable, ...]:
    names = [c.name for c in table.columns]
    if not {"vendor", "month", "units", "orders"} <= set(names):
        return ()
    months = whole_months_of(table)
    if not months:
        return ()
    last, previous = months[-1], (months[-2] if len(months) > 1 else None)
    vendor, month, units, orders = (names.index(n) for n in ("vendor", "month", "units", "orders"))
    vendor_id = names.index("vendor_id") if "vendor_id" in names else vendor
    # by vendor id (two vendors may share a name), shown by name
    sold: dict[tuple[str, Any], dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in table.rows:
        sold[(str(row[vendor]), row[vendor_id])][row[month]] = (int(row[units] or 0), int(row[orders] or 0))
    in_last = sorted(
        ((key, m[last]) for key, m in sold.items() if last in m), key=lambda item: (-item[1][0], item[0])
    )
    leaders = tuple((rank, key[0], u, o) for rank, (key, (u, o)) in enumerate(in_last[:TOP], start=1))
    tables = [DataTable(f"Leaderboard by units, {last}", ("#", "Vendor", "Units", "Orders"), leaders)]
    if previous is not None:
        growth = []
        for key, (u, _o) in in_last:
            before = sold[key].get(previous, (0, 0))[0]
            if u >= RISING_MIN_UNITS and u > before:
                change = "new" if before == 0 else f"+{(u - before) / before * 100:.0f} %"
                growth.append((u - before, key[0], u, before, change))
        growth.sort(key=lambda g: (-g[0], g[1]))
        rising = tuple(
            (rank, name, u, before, change)
            for rank, (_, name, u, before, change) in enumerate(growth[:TOP], 1)
        )
        columns = ("#", "Vendor", f"Units {last}", f"Units {previous}", "Change")
        tables.append(DataTable(f"Rising stars, {last} against {previous}", columns, rising))
    return tuple(tables)

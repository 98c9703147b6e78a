"""What the Uptime pane and its SLA report show: namespace totals, uptime figures in words, and a month's
report per service as rows (CSV) and as HTML (PDF).

A namespace's uptime is time-weighted: its services' seconds added up, so a namespace of ten services with
one down for an hour is 99.58 % for that hour's day, not the average of ten percentages.
"""

from __future__ import annotations

import functools
import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from nexus_console.domain.incident_stats import format_duration
from nexus_console.domain.incidents import Incident
from nexus_console.domain.uptime import ACCOUNTING_RULE, SLA_TARGET, Tally
from nexus_console.domain.uptime_windows import ServiceUptime, bar_level, meets_sla, sum_tallies

WINDOW_FIELDS = ("last_24h", "last_7d", "last_30d", "this_month", "last_month")


@dataclass(frozen=True, slots=True)
class UptimeGroup:
    """A namespace's total (its `uptime.service` is the namespace's name) and its services' figures."""

    namespace: str
    total: ServiceUptime
    services: tuple[ServiceUptime, ...]


def group_by_namespace(
    reports: Sequence[ServiceUptime], namespace_of: Mapping[str, str]
) -> list[UptimeGroup]:
    """Namespaces by name, each with its total and its services by name; services the catalog does not name
    go under "(unknown namespace)"."""
    grouped: dict[str, list[ServiceUptime]] = defaultdict(list)
    for report in reports:
        grouped[namespace_of.get(report.service, "(unknown namespace)")].append(report)
    return [
        UptimeGroup(namespace, _total(namespace, services), tuple(sorted(services, key=lambda s: s.service)))
        for namespace, services in sorted(grouped.items())
    ]


def _total(namespace: str, services: Sequence[ServiceUptime]) -> ServiceUptime:
    # Plain integers per day, not a Tally per addition: 1,000 services × 90 days is 90,000 additions.
    sums = [[0, 0, 0, 0] for _ in services[0].daily]
    for service in services:
        for acc, day in zip(sums, service.daily, strict=True):
            acc[0] += day.up_s
            acc[1] += day.degraded_s
            acc[2] += day.down_s
            acc[3] += day.no_data_s
    daily = tuple(Tally(*acc) for acc in sums)
    windows = {name: sum_tallies(getattr(s, name) for s in services) for name in WINDOW_FIELDS}
    return ServiceUptime(service=namespace, first_day=services[0].first_day, daily=daily, **windows)


def incidents_on(
    incidents: Iterable[Incident], services: set[str], start: float, end: float
) -> list[Incident]:
    """The incidents affecting any of `services` whose impact overlaps [start, end): an open one lasts to
    now. What links an outage on a daily bar to its incident."""
    found = []
    for incident in incidents:
        if not services & set(incident.services):
            continue
        began = incident.impact_started_at or incident.created_at
        ended = incident.resolved_at or incident.closed_at or float("inf")
        if began < end and ended > start:
            found.append(incident)
    return found


@functools.lru_cache(maxsize=4096)  # a table repaints its figures often; equal tallies are shared
def uptime_text(tally: Tally) -> str:
    """'99.95 %' (two decimals, never rounded up to 100 % while anything was down), or '—' with nothing
    known."""
    ratio = tally.uptime_ratio
    if ratio is None:
        return "—"
    percent = ratio * 100
    text = f"{percent:.2f} %"
    if tally.down_s and text == "100.00 %":
        text = "99.99 %"
    return text


@functools.lru_cache(maxsize=4096)
def uptime_detail(tally: Tally) -> str:
    """The figures behind a percentage, for its tooltip."""
    if not tally.total_s:
        return "nothing recorded in this window"
    coverage = tally.coverage_ratio
    parts = [
        f"down {format_duration(tally.down_s)}",
        f"degraded {format_duration(tally.degraded_s)}",
        f"no data {format_duration(tally.no_data_s)}",
        f"coverage {coverage * 100:.1f} %" if coverage is not None else "coverage —",
    ]
    verdict = meets_sla(tally)
    if verdict is not None:
        parts.append(f"SLA {SLA_TARGET * 100:g} % {'met' if verdict else 'missed'}")
    return " · ".join(parts)


REPORT_COLUMNS = ("service", "uptime %", "SLA met", "down (s)", "degraded (s)", "no data (s)", "coverage %")


def sla_report_rows(month: list[tuple[str, Tally, list[Tally]]]) -> list[list[str]]:
    """One row a service (REPORT_COLUMNS), for the CSV export; percentages with three decimals."""
    rows = []
    for service, total, _days in month:
        ratio, coverage, verdict = total.uptime_ratio, total.coverage_ratio, meets_sla(total)
        rows.append(
            [
                service,
                f"{ratio * 100:.3f}" if ratio is not None else "",
                "" if verdict is None else ("yes" if verdict else "no"),
                str(total.down_s),
                str(total.degraded_s),
                str(total.no_data_s),
                f"{coverage * 100:.1f}" if coverage is not None else "",
            ]
        )
    return rows


def sla_report_html(
    year: int, month: int, report: list[tuple[str, Tally, list[Tally]]], generated_at: float
) -> str:
    """The month's SLA report as HTML for the PDF: a summary, a table a service, and the accounting rule."""
    title = f"SLA report — {datetime(year, month, 1, tzinfo=UTC):%B %Y} (UTC)"
    missed = [service for service, total, _ in report if meets_sla(total) is False]
    rows = []
    for service, total, days in report:
        worst = [bar_level(day).value for day in days]
        outage_days = sum(1 for level in worst if level in ("partial outage", "major outage"))
        cells = [
            html.escape(service),
            uptime_text(total),
            {None: "—", True: "met", False: "<b>missed</b>"}[meets_sla(total)],
            format_duration(total.down_s),
            format_duration(total.no_data_s),
            str(outage_days),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = "".join(
        f"<th align='left'>{h}</th>"
        for h in ("Service", "Uptime", "SLA", "Down", "No data", "Days with outage")
    )
    generated = datetime.fromtimestamp(generated_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary = f"{len(report)} services; {len(missed)} missed the {SLA_TARGET * 100:g} % SLA" + (
        f": {html.escape(', '.join(missed))}" if missed else ""
    )
    return (
        f"<h1>{title}</h1><p>{summary}. Generated {generated} by Nexus Console.</p>"
        f"<table border='1' cellspacing='0' cellpadding='3'><tr>{header}</tr>{''.join(rows)}</table>"
        f"<h3>How uptime is counted</h3><p>{html.escape(ACCOUNTING_RULE)}</p>"
    )

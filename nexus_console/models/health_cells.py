"""What the health matrix's cells show: custom roles, columns, outcome colours, the compact age, CellLook."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush

from nexus_console.domain.freshness import format_clock
from nexus_console.domain.health import PROBES, Probe, ProbeOutcome, ProbeResult
from nexus_console.domain.service_catalog import ServiceInfo

# Custom roles.
RAW_ROLE = Qt.ItemDataRole.UserRole  # the ProbeResult / MetricsSample / ServiceInfo behind a cell
STALE_ROLE = Qt.ItemDataRole.UserRole + 1  # bool: the cell shows data that is no longer current
SERVICE_ROLE = Qt.ItemDataRole.UserRole + 2  # service name of the row (None on group rows)
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3  # bool: a namespace group row
SORT_ROLE = Qt.ItemDataRole.UserRole + 4
LOOK_ROLE = Qt.ItemDataRole.UserRole + 5  # CellLook: everything the matrix delegate paints, in one call

SERVICE_COLUMN = 0
PROBE_COLUMNS = {probe: 1 + i for i, probe in enumerate(PROBES)}
RPS_COLUMN = 5
P95_COLUMN = 6
ERRORS_COLUMN = 7
HEADERS = ("service", "health", "live", "ready", "metrics", "req/s", "p95", "5xx/s")

OUTCOME_COLOURS = {
    ProbeOutcome.UP: "#1e7a46",
    ProbeOutcome.DEGRADED: "#9a6b00",
    ProbeOutcome.DOWN: "#a82a2a",
    ProbeOutcome.TIMEOUT: "#8f3f8f",
    ProbeOutcome.ERROR: "#b0452a",
}
UNKNOWN_COLOUR = "#4a4f57"
WARN_TEXT = "#e0a020"
BAD_TEXT = "#ff6b5e"


def format_short_age(age_s: float) -> str:
    """Compact ages for dense cells: '3s', '12m', '2h'."""
    age_s = max(0.0, age_s)
    if age_s < 60:
        return f"{age_s:.0f}s"
    if age_s < 3600:
        return f"{age_s // 60:.0f}m"
    return f"{age_s // 3600:.0f}h"


CELL_AGE_STEP_S = 5  # a probe's interval


def format_cell_age(age_s: float) -> str:
    """Ages in the matrix's probe cells: '<5s', then 5-second steps under a minute ('15s'), then as
    `format_short_age`. A cell's text then changes every few seconds, not every second, so a wall that shows
    the matrix for weeks does not repaint every cell every second; the tooltip keeps the exact age."""
    age_s = max(0.0, age_s)
    if age_s < CELL_AGE_STEP_S:
        return f"<{CELL_AGE_STEP_S}s"
    if age_s < 60:
        return f"{int(age_s // CELL_AGE_STEP_S * CELL_AGE_STEP_S)}s"
    return format_short_age(age_s)


@dataclass(frozen=True, slots=True)
class CellLook:
    """What one cell shows; the view paints it without asking the model role by role."""

    text: str
    background: QBrush | None
    foreground: QBrush | None
    alignment: Qt.AlignmentFlag
    bold: bool
    stale: bool


def probe_tooltip(
    service: ServiceInfo, probe: Probe, result: ProbeResult | None, now: float, stale: bool
) -> str:
    """A probe cell's tooltip: outcome, reason, HTTP answer and latency, when checked, age, staleness, URL."""
    if result is None:
        return f"{service.name} · {probe.value}: no result yet"
    lines = [f"{service.name} · {probe.value}: {result.label}"]
    if result.detail:
        lines.append(result.detail)
    answer = f"HTTP {result.http_status}" if result.http_status is not None else "no HTTP answer"
    if result.latency_ms is not None:
        answer += f" in {result.latency_ms:.0f} ms"
    lines.append(answer)
    lines.append(
        f"checked {format_clock(result.checked_at)} ({format_short_age(now - result.checked_at)} ago)"
    )
    if stale:
        lines.append("STALE: probes are not current")
    lines.append(service.url(probe))
    return "\n".join(lines)

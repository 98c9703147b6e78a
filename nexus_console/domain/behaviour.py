"""User behaviour from the server: the three funnels of the product brief (ordered steps within a
conversion window), cohort retention ("on" and "on or after" a period), and daily, weekly and monthly
active users. The server computes them (`/analytics/funnel|retention|activity`); this is their shape and
how they read. Pure: no I/O, no Qt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.analytics import DataTable

FUNNELS = {
    "registration": "Registration",
    "subject_to_purchase": "Subject to purchase",
    "content_discovery": "Content discovery",
}
WINDOWS_H = {"1 hour": 1, "1 day": 24, "7 days": 168, "14 days": 336, "30 days": 720}
GRAINS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
MODES = {"on": "on", "on_or_after": "on or after"}


def duration_text(seconds: float | None) -> str:
    """'45 s', '12 min', '3 h 20 min', '2 d 4 h'; '—' for nothing."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(int(minutes), 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f} %"


@dataclass(frozen=True, slots=True)
class FunnelStep:
    step: int
    label: str
    users: int
    conversion_from_previous: float
    conversion_overall: float
    drop_off: int
    median_seconds: float | None


@dataclass(frozen=True, slots=True)
class Funnel:
    name: str
    date_from: str
    date_to: str
    window_hours: int
    steps: tuple[FunnelStep, ...]
    still_in_window: int
    as_of: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Funnel:
        steps = tuple(
            FunnelStep(
                int(s["step"]),
                str(s["label"]),
                int(s["users"]),
                float(s["conversion_from_previous"]),
                float(s["conversion_overall"]),
                int(s["drop_off"]),
                None if s["median_seconds_to_convert"] is None else float(s["median_seconds_to_convert"]),
            )
            for s in body["steps"]
        )
        return cls(
            str(body["funnel"]), str(body["from"]), str(body["to"]), int(body["window_hours"]), steps,
            int(body["still_in_window"]), str(body["as_of"]),
        )  # fmt: skip

    def title(self) -> str:
        return FUNNELS.get(self.name, self.name)

    def summary(self) -> str:
        entered = self.steps[0].users if self.steps else 0
        done = self.steps[-1].conversion_overall if self.steps else 0.0
        waiting = f" · {self.still_in_window:,} still inside their window" if self.still_in_window else ""
        return (
            f"{entered:,} entered from {self.date_from} to {self.date_to} (end exclusive) · "
            f"{percent(done)} completed within {duration_text(self.window_hours * 3600)}{waiting}"
        )

    def table(self) -> DataTable:
        rows = tuple(
            (s.step, s.label, s.users, percent(s.conversion_from_previous), percent(s.conversion_overall),
             s.drop_off, duration_text(s.median_seconds))
            for s in self.steps
        )  # fmt: skip
        columns = ("#", "Step", "Users", "Of the step before", "Of all who entered", "Dropped off",
                   "Median time to reach")  # fmt: skip
        return DataTable(f"{self.title()} funnel", columns, rows)


@dataclass(frozen=True, slots=True)
class Cohort:
    cohort: str
    size: int
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Retention:
    grain: str
    mode: str
    cohorts: tuple[Cohort, ...]
    d1: float
    d7: float
    d30: float
    as_of: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Retention:
        cohorts = tuple(
            Cohort(
                str(c["cohort"]), int(c["size"]), tuple(None if v is None else float(v) for v in c["values"])
            )
            for c in body["cohorts"]
        )
        return cls(
            str(body["grain"]), str(body["mode"]), cohorts, float(body["d1"]), float(body["d7"]),
            float(body["d30"]), str(body["as_of"]),
        )  # fmt: skip

    def periods(self) -> int:
        return max((len(c.values) for c in self.cohorts), default=0)

    def table(self) -> DataTable:
        unit = {"day": "Day", "week": "Week", "month": "Month"}.get(self.grain, self.grain)
        columns = ("Cohort", "Users", *(f"{unit} {i}" for i in range(self.periods())))
        rows = tuple((c.cohort, c.size, *c.values) for c in self.cohorts)
        title = f"{GRAINS.get(self.grain, self.grain)} retention ({MODES.get(self.mode, self.mode)})"
        return DataTable(title, columns, rows)


@dataclass(frozen=True, slots=True)
class Activity:
    days: tuple[str, ...]
    dau: tuple[int, ...]
    wau: tuple[int, ...]
    mau: tuple[int, ...]
    as_of: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Activity:
        rows = body["days"]
        return cls(
            tuple(str(r["day"]) for r in rows), tuple(int(r["dau"]) for r in rows),
            tuple(int(r["wau"]) for r in rows), tuple(int(r["mau"]) for r in rows), str(body["as_of"]),
        )  # fmt: skip

    def stickiness(self) -> float | None:
        """DAU / MAU of the last day."""
        return self.dau[-1] / self.mau[-1] if self.mau and self.mau[-1] else None

    def table(self) -> DataTable:
        rows = tuple(zip(self.days, self.dau, self.wau, self.mau, strict=True))
        return DataTable("Active users a day", ("Day", "DAU", "WAU", "MAU"), rows)

"""User behaviour from the server: the three funnels of the product brief (ordered steps within a
conversion window), cohort retention ("on" and "on or after" a period), and daily, weekly and monthly
active users. The server computes them (`/analytics/funnel|retention|activity`); this is their shape and
how they read. Pure: no I/O, no Qt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.analytics import DataTable
from nexus_console.domain.units import duration_text

FUNNELS = {
    "registration": "Registration",
    "subject_to_purchase": "Subject to purchase",
    "content_discovery": "Content discovery",
}
WINDOWS_H = {"1 hour": 1, "1 day": 24, "7 days": 168, "14 days": 336, "30 days": 720}
GRAINS = {"day": "Daily", "week": "Weekly", "month": "Monthly", "quarter": "Quarterly"}
MAX_COHORTS = {"day": 366, "week": 52, "month": 12, "quarter": 4}  # the server keeps a year of activity
BREAKDOWNS = {"country": "Country", "acquisition_source": "Acquisition source", "age_band": "Age"}
MODES = {"on": "on", "on_or_after": "on or after"}


def parse_step_windows(text: str) -> tuple[int, ...]:
    """'24, 2, 168' → (24, 2, 168): hours allowed from each step to the next; blank → (). Raises ValueError
    with a sentence for the first value that is not a whole number of hours from 1 up. The server checks
    the count against the funnel's steps."""
    hours: list[int] = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"Step windows: “{part}” is not a whole number of hours (1 or more).")
        hours.append(int(part))
    return tuple(hours)


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
class FunnelGroup:
    """One value of a breakdown (a country, a source; None for visitors without an account): users a step."""

    key: str | None
    users: tuple[int, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FunnelGroup:
        key = body["key"]
        return cls(None if key is None else str(key), tuple(int(step["users"]) for step in body["steps"]))


@dataclass(frozen=True, slots=True)
class Funnel:
    name: str
    date_from: str
    date_to: str
    window_hours: int
    steps: tuple[FunnelStep, ...]
    still_in_window: int
    as_of: str
    step_window_hours: tuple[int, ...] | None = None
    breakdown: tuple[FunnelGroup, ...] | None = None

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
        step_windows = body.get("step_window_hours")
        groups = body.get("breakdown")
        return cls(
            str(body["funnel"]), str(body["from"]), str(body["to"]), int(body["window_hours"]), steps,
            int(body["still_in_window"]), str(body["as_of"]),
            None if step_windows is None else tuple(int(h) for h in step_windows),
            None if groups is None else tuple(FunnelGroup.from_json(group) for group in groups),
        )  # fmt: skip

    def title(self) -> str:
        return FUNNELS.get(self.name, self.name)

    def summary(self) -> str:
        entered = self.steps[0].users if self.steps else 0
        done = self.steps[-1].conversion_overall if self.steps else 0.0
        waiting = f" · {self.still_in_window:,} still inside their window" if self.still_in_window else ""
        per_step = ""
        if self.step_window_hours:
            limits = ", ".join(duration_text(h * 3600) for h in self.step_window_hours)
            per_step = f" (each step within {limits} of the one before)"
        return (
            f"{entered:,} entered from {self.date_from} to {self.date_to} (end exclusive) · "
            f"{percent(done)} completed within {duration_text(self.window_hours * 3600)}{per_step}{waiting}"
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

    def breakdown_table(self, dimension: str) -> DataTable | None:
        """Users a step for each value of the breakdown, with the share that completed; None without one."""
        if self.breakdown is None:
            return None
        label = BREAKDOWNS.get(dimension, dimension)
        rows = tuple(
            (group.key or "Visitors without an account", *group.users,
             percent(group.users[-1] / group.users[0] if group.users and group.users[0] else None))
            for group in self.breakdown
        )  # fmt: skip
        columns = (label, *(f"{s.step}. {s.label}" for s in self.steps), "Completed")
        return DataTable(f"{self.title()} funnel by {label.lower()}", columns, rows)


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
        unit = {"day": "Day", "week": "Week", "month": "Month", "quarter": "Quarter"}.get(
            self.grain, self.grain
        )
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

"""What the milestones of incidents say, derived and never typed: each incident's time to detect, acknowledge
and resolve (refused when negative), and the 30-day MTTA and MTTR against their targets."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from nexus_console.domain.incidents import MILESTONE_LABELS, Incident

# The platform's objective: incidents resolved in under 15 minutes.
MTTR_TARGET_S = 900.0
# Ours, not the platform's: someone owns an incident within 5 minutes of its detection.
MTTA_TARGET_S = 300.0


@dataclass(frozen=True, slots=True)
class IncidentDurations:
    """Time to detect, acknowledge and resolve, derived from the milestones; None when a milestone is
    missing or the difference is negative (then `problems` says why)."""

    time_to_detect_s: float | None
    time_to_acknowledge_s: float | None
    time_to_resolve_s: float | None
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, incident: Incident) -> IncidentDurations:
        """TTD = detected - impact started; TTA = acknowledged - detected; TTR = resolved - impact started
        (or - detected when the impact start is unknown)."""
        problems: list[str] = []
        resolve_from = "impact_started_at" if incident.impact_started_at is not None else "detected_at"
        return cls(
            time_to_detect_s=_span(incident, "detect", "impact_started_at", "detected_at", problems),
            time_to_acknowledge_s=_span(incident, "acknowledge", "detected_at", "acknowledged_at", problems),
            time_to_resolve_s=_span(incident, "resolve", resolve_from, "resolved_at", problems),
            problems=tuple(problems),
        )


def _span(
    incident: Incident, verb: str, start_field: str, end_field: str, problems: list[str]
) -> float | None:
    start, end = getattr(incident, start_field), getattr(incident, end_field)
    if start is None or end is None:
        return None
    if end < start:
        problems.append(
            f"Time to {verb} is not shown: {MILESTONE_LABELS[end_field]} is {format_duration(start - end)} "
            f"before {MILESTONE_LABELS[start_field]}."
        )
        return None
    return end - start


@dataclass(frozen=True, slots=True)
class IncidentStats:
    """The dashboard's figures over recent incidents: how many, how many open, mean time to acknowledge
    and to resolve against their targets.

    The MTTR target of 15 minutes is the platform's objective; the MTTA target of 5 minutes is the
    console's own choice (the platform sets none).
    """

    count: int
    open_count: int
    mtta_s: float | None
    mttr_s: float | None
    mtta_target_s: float = MTTA_TARGET_S
    mttr_target_s: float = MTTR_TARGET_S

    @property
    def mtta_met(self) -> bool | None:
        return None if self.mtta_s is None else self.mtta_s < self.mtta_target_s

    @property
    def mttr_met(self) -> bool | None:
        return None if self.mttr_s is None else self.mttr_s < self.mttr_target_s

    @classmethod
    def over(
        cls,
        incidents: Iterable[Incident],
        *,
        now: float,
        days: int = 30,
        mtta_target_s: float = MTTA_TARGET_S,
        mttr_target_s: float = MTTR_TARGET_S,
    ) -> IncidentStats:
        """Incidents detected (or, undetected, created) in the last `days` are counted and averaged;
        `open_count` counts every open incident, however old."""
        since = now - days * 86400.0
        count = open_count = 0
        acknowledge_times: list[float] = []
        resolve_times: list[float] = []
        for incident in incidents:
            if incident.is_active:
                open_count += 1
            began = incident.detected_at if incident.detected_at is not None else incident.created_at
            if began < since:
                continue
            count += 1
            durations = IncidentDurations.of(incident)
            if durations.time_to_acknowledge_s is not None:
                acknowledge_times.append(durations.time_to_acknowledge_s)
            if durations.time_to_resolve_s is not None:
                resolve_times.append(durations.time_to_resolve_s)
        return cls(
            count=count,
            open_count=open_count,
            mtta_s=_mean(acknowledge_times),
            mttr_s=_mean(resolve_times),
            mtta_target_s=mtta_target_s,
            mttr_target_s=mttr_target_s,
        )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def format_duration(seconds: float | None) -> str:
    """A short duration: "—" for None, then "45 s", "12 min", "1 h 05 min", "2 d 3 h".

    Rounded down; a negative duration reads as 0 s."""
    if seconds is None:
        return "—"
    whole = max(0, math.floor(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"

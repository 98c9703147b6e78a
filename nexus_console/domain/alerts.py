"""The domain alert and the diffs sources produce (`domain.alert_store.AlertStore` applies them).

Times are epoch seconds (float)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """3 for critical down to 0 for low: higher is more severe."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str | None) -> Severity:
        """Map the severity words used by Prometheus rules and PagerDuty onto the four levels.

        A missing or unknown severity is MEDIUM: an alert nobody classified still needs a look.
        """
        if not text:
            return cls.MEDIUM
        return _SEVERITY_ALIASES.get(text.strip().lower(), cls.MEDIUM)


_SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.HIGH: 2, Severity.MEDIUM: 1, Severity.LOW: 0}
_SEVERITY_ALIASES = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "major": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "minor": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.LOW,
    "informational": Severity.LOW,
    "none": Severity.LOW,
}


class AlertState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    RESOLVED = "resolved"

    @property
    def is_active(self) -> bool:
        return self is not AlertState.RESOLVED


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert from one source. `key` (source + fingerprint) identifies it in the store."""

    fingerprint: str
    source: str  # "nexus", "alertmanager", "prometheus", "local"
    name: str  # alertname / rule name
    severity: Severity
    state: AlertState
    service: str = ""
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    runbook: str = ""
    starts_at: float | None = None
    updated_at: float | None = None
    ends_at: float | None = None
    ack_by: str | None = None
    ack_at: float | None = None
    ack_expires_at: float | None = None
    resolved_by: str | None = None  # who resolved it, when its source says so (the Nexus API)
    source_id: str = ""  # the id actions use at the source (Nexus alert id); empty means the fingerprint
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    pending_for_s: float | None = None  # the rule's `for`: how long it must hold before firing
    value: float | None = None
    threshold: float | None = None
    origins: tuple[str, ...] = ()  # the instances reporting it (several Alertmanagers)
    silenced_until: float | None = None  # a silence's end (state SILENCED), when the source says it
    silence_owner: str | None = None  # who silenced it
    silence_comment: str = ""
    # Identity in the store: the source's own id when it has one (a Nexus alert that fires again after
    # resolving is a new alert with the same fingerprint), else the fingerprint. Computed once: every
    # batch, filter and badge count reads it, millions of times in a storm.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.source}:{self.source_id or self.fingerprint}")

    @property
    def action_id(self) -> str:
        return self.source_id or self.fingerprint

    def age_s(self, now: float) -> float:
        """Seconds since the alert started (0 when the source gave no start time)."""
        return max(0.0, now - self.starts_at) if self.starts_at is not None else 0.0

    def ack_age_s(self, now: float) -> float | None:
        return max(0.0, now - self.ack_at) if self.ack_at is not None else None

    def ack_expired(self, now: float) -> bool:
        return (
            self.state is AlertState.ACKNOWLEDGED
            and self.ack_expires_at is not None
            and now >= self.ack_expires_at
        )

    def pending_progress(self, now: float) -> tuple[float, float] | None:
        """(seconds held so far, seconds required) for a pending alert with a known `for`."""
        if self.state is not AlertState.PENDING or self.pending_for_s is None:
            return None
        return min(self.age_s(now), self.pending_for_s), self.pending_for_s

    def pending_label(self, now: float) -> str | None:
        """The countdown text: "pending 3/5 min" (or "pending 12/30 s" for short holds)."""
        progress = self.pending_progress(now)
        if progress is None:
            return None
        held, required = progress
        if required >= 120:
            return f"pending {int(held // 60)}/{math.ceil(required / 60)} min"
        return f"pending {int(held)}/{math.ceil(required)} s"


@dataclass(frozen=True, slots=True)
class Silence:
    """An Alertmanager silence (an ack is a silence whose comment carries ACK_MARKER)."""

    id: str
    matchers: tuple[Mapping[str, object], ...]
    starts_at: float | None
    ends_at: float | None
    created_by: str
    comment: str
    state: str  # active, pending, expired
    instance: str = ""

    @property
    def is_ack(self) -> bool:
        return self.comment.startswith(ACK_MARKER)


ACK_MARKER = "[ack]"


def ack_comment(comment: str) -> str:
    return f"{ACK_MARKER} {comment}".rstrip()


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """The fingerprint Prometheus and Alertmanager give a label set (FNV-1a 64 over sorted pairs).

    Computing it locally lets a pending alert from Prometheus and the firing one from Alertmanager
    share an identity.
    """
    value = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            value = ((value ^ 0xFF) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def parse_rfc3339(text: str | None) -> float | None:
    """Epoch seconds from an RFC 3339 string; None for empty or Go's zero time (year 1)."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("0001-01-01"):
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Go emits up to 9 fractional digits; datetime takes 6.
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[: dot + 1] + text[dot + 1 : end][:6].ljust(6, "0") + text[end:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_rfc3339(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertDiff:
    """What changed at a source: alerts added or changed (upserts) and keys that went away."""

    upserts: tuple[Alert, ...] = ()
    removals: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.upserts or self.removals)


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change of one alert; `before` is None for a new alert."""

    at: float
    before: AlertState | None
    after: AlertState
    alert: Alert


@dataclass(frozen=True, slots=True)
class StoreChange:
    """The rows one `apply` touched, in the order a table model must announce them.

    1. `removed`: inclusive (first, last) row ranges in the numbering before the apply, highest first,
       so removing them one by one keeps the remaining ranges valid.
    2. `changed`: rows (numbering after removal) whose alert changed in place.
    3. `inserted`: rows appended at the end.
    """

    removed: tuple[tuple[int, int], ...] = ()
    changed: tuple[int, ...] = ()
    inserted: range = range(0)
    transitions: tuple[Transition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.removed or self.changed or len(self.inserted))


def diff_snapshot(previous: Mapping[str, Alert], current: Iterable[Alert]) -> AlertDiff:
    """The diff that turns `previous` (key -> alert) into the full snapshot `current`."""
    seen: set[str] = set()
    upserts = []
    for alert in current:
        key = alert.key
        seen.add(key)
        if previous.get(key) != alert:
            upserts.append(alert)
    removals = tuple(key for key in previous if key not in seen)
    return AlertDiff(tuple(upserts), removals)


def coalesce_diffs(diffs: Iterable[AlertDiff]) -> AlertDiff:
    """One diff with the effect of applying `diffs` in order: the last word on each key wins.

    A table model coalescing updates for 100-250 ms buffers diffs and applies this once.
    """
    last: dict[str, Alert | None] = {}  # None = removed
    for diff in diffs:
        for key in diff.removals:
            last[key] = None
        for alert in diff.upserts:
            last[alert.key] = alert
    upserts = tuple(alert for alert in last.values() if alert is not None)
    removals = tuple(key for key, alert in last.items() if alert is None)
    return AlertDiff(upserts, removals)

"""Group alerts by service, alert name, severity, namespace or any label, with counts per group."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nexus_console.domain.alerts import Alert, AlertState, Severity

GROUP_FIELDS = ("service", "alertname", "severity", "namespace")
NO_VALUE = "(none)"


@dataclass(slots=True)
class AlertGroup:
    """One group: its value, its alerts, and counts by state; `worst` is the highest severity in it."""

    by: str
    value: str
    alerts: list[Alert] = field(default_factory=list)
    by_state: dict[AlertState, int] = field(default_factory=dict)
    worst: Severity = Severity.LOW

    @property
    def count(self) -> int:
        return len(self.alerts)

    @property
    def unhandled(self) -> int:
        """Alerts that still need someone: firing, not acknowledged or silenced."""
        return self.by_state.get(AlertState.FIRING, 0)


def group_key(by: str) -> Callable[[Alert], str]:
    """How to read the grouping value: one of GROUP_FIELDS, or a label name."""
    if by == "service":
        return lambda alert: alert.service or NO_VALUE
    if by == "alertname":
        return lambda alert: alert.name or NO_VALUE
    if by == "severity":
        return lambda alert: alert.severity.value
    if by == "namespace":
        return lambda alert: alert.namespace or NO_VALUE
    return lambda alert: alert.labels.get(by) or NO_VALUE


def group_alerts(alerts: Iterable[Alert], by: str) -> list[AlertGroup]:
    """Groups ordered most urgent first: worst severity, then unhandled count, then size, then name."""
    read = group_key(by)
    groups: dict[str, AlertGroup] = {}
    for alert in alerts:
        value = read(alert)
        group = groups.get(value)
        if group is None:
            group = groups[value] = AlertGroup(by, value)
        group.alerts.append(alert)
        group.by_state[alert.state] = group.by_state.get(alert.state, 0) + 1
        if alert.severity.rank > group.worst.rank:
            group.worst = alert.severity
    return sorted(groups.values(), key=lambda g: (-g.worst.rank, -g.unhandled, -g.count, g.value))

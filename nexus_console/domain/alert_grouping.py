"""Group alerts by service, alert name, severity, namespace or any label, with counts per group."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nexus_console.domain.alerts import Alert, AlertState, Severity

GROUP_FIELDS = ("service", "alertname", "severity", "namespace")
NO_VALUE = "(none)"


@dataclass(slots=True)
class AlertGroup:
    """One group: its value and counts by state; `worst` is the highest severity in it."""

    by: str
    value: str
    count: int = 0
    by_state: dict[AlertState, int] = field(default_factory=dict)
    worst: Severity = Severity.LOW

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
    # counted in C (Counter over tuples) and folded per distinct combination: the group list is
    # recounted over the whole queue, tens of thousands of alerts in a storm, on the GUI thread
    combinations = Counter((read(alert), alert.state, alert.severity) for alert in alerts)
    groups: dict[str, AlertGroup] = {}
    for (value, state, severity), count in combinations.items():
        group = groups.get(value)
        if group is None:
            group = groups[value] = AlertGroup(by, value)
        group.count += count
        group.by_state[state] = group.by_state.get(state, 0) + count
        if severity.rank > group.worst.rank:
            group.worst = severity
    return sorted(groups.values(), key=lambda g: (-g.worst.rank, -g.unhandled, -g.count, g.value))

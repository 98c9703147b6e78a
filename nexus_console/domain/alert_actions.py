"""The triage actions on alerts, which alerts can take each, and what an action's outcome looks like.

The workflow that runs them is `services.alert_triage.AlertTriage`; the Alerts pane names the action and
shows `TriageResult.text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from nexus_console.domain.alerts import Alert, AlertState


class ActionNotSupported(Exception):
    """The alert's source has no such action (resolving an Alertmanager alert, say)."""


class TriageAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    SILENCE = "silence"


NOTHING_TO = {
    TriageAction.ACKNOWLEDGE: "Nothing to acknowledge: select or mark firing alerts",
    TriageAction.RESOLVE: "Nothing to resolve",
    TriageAction.SILENCE: "Nothing to silence",
}
_ACKNOWLEDGEABLE = frozenset({AlertState.FIRING, AlertState.PENDING})


def eligible(action: TriageAction, alerts: Iterable[Alert]) -> list[Alert]:
    """The alerts that can take `action`: firing or pending ones are acknowledged; any alert not yet
    resolved can be resolved or silenced."""
    if action is TriageAction.ACKNOWLEDGE:
        return [alert for alert in alerts if alert.state in _ACKNOWLEDGEABLE]
    return [alert for alert in alerts if alert.state is not AlertState.RESOLVED]


@dataclass(frozen=True, slots=True)
class TriageResult:
    """What one triage action did: `text` is the sentence the pane shows."""

    action: TriageAction
    text: str
    done: int = 0  # alerts the action succeeded on
    skipped: int = 0  # targets in a state that cannot take the action
    problems: tuple[str, ...] = ()  # one line per failure (deduplicated for "resolves at its source")


def resolved_at_the_server(alert: Alert) -> bool:
    """Only Nexus alerts are resolved by a person; the other sources resolve when their condition clears."""
    return alert.source == "nexus"

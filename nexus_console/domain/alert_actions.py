"""The triage actions on alerts, which alerts can take each, and what an action's outcome looks like.

The workflow that runs them is `services.alert_triage.AlertTriage`; the Alerts pane names the action and
shows `TriageResult.text`.
"""

from __future__ import annotations

import time
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


def silence_text(alert: Alert, now: float) -> str | None:
    """What a silence reads as: "Silenced until 14:32 by olive@nexus.test — maintenance" (local time; the
    day too when the silence ends a day or more from `now`); None for an alert that is not silenced or
    whose source does not say until when (an Alertmanager inhibition)."""
    if alert.state is not AlertState.SILENCED or alert.silenced_until is None:
        return None
    clock = "%H:%M" if alert.silenced_until - now < 86400 else "%a %d %b %H:%M"
    text = f"Silenced until {time.strftime(clock, time.localtime(alert.silenced_until))}"
    if alert.silence_owner:
        text += f" by {alert.silence_owner}"
    if alert.silence_comment:
        text += f" — {alert.silence_comment}"
    return text

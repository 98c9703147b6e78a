"""The triage workflow: acknowledge, resolve or silence a set of alerts and say what came of it. Qt-free.

The Alerts pane collects the targets (the marked alerts, else the selected one), runs the duration picker
for a silence, calls one method here and shows `TriageResult.text`. The call per alert through the alert
runtime and the sentence ("Acknowledged 2 alerts as olive@…; 1 already handled; failed: …") are made
here; the actions, which alerts can take each (the others are skipped) and the result are
`domain.alert_actions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nexus_console.domain.alert_actions import (
    NOTHING_TO,
    ActionNotSupported,
    TriageAction,
    TriageResult,
    eligible,
)
from nexus_console.domain.alerts import Alert


class TriageRuntime(Protocol):
    """What the triage needs of the alert runtime (`services.alert_runtime.AlertRuntime`)."""

    owner: str

    async def acknowledge(self, alert: Alert) -> None: ...

    async def resolve(self, alert: Alert) -> None: ...

    async def silence(self, alert: Alert, *, duration_s: float, comment: str = "") -> None: ...

    def refresh_after_action(self, alert: Alert) -> None: ...


def _plural(count: int) -> str:
    return f"{count} alert{'s' if count != 1 else ''}"


class AlertTriage:
    """The triage actions of one session, over its alert runtime (`session.alerts.triage`)."""

    def __init__(self, runtime: TriageRuntime) -> None:
        self.runtime = runtime

    def nothing_to(self, action: TriageAction, targets: Sequence[Alert]) -> TriageResult | None:
        """The answer at once when none of `targets` can take `action`, else None (there is work)."""
        if eligible(action, targets):
            return None
        return TriageResult(action, NOTHING_TO[action], skipped=len(targets))

    async def acknowledge(self, targets: Sequence[Alert]) -> TriageResult:
        """Acknowledge every firing or pending target as the signed-in user; the others are counted as
        already handled."""
        action = TriageAction.ACKNOWLEDGE
        if (nothing := self.nothing_to(action, targets)) is not None:
            return nothing
        alerts = eligible(action, targets)
        skipped = len(targets) - len(alerts)
        failures = []
        for alert in alerts:
            try:
                await self.runtime.acknowledge(alert)
                self.runtime.refresh_after_action(alert)
            except Exception as exc:
                failures.append(f"{alert.name}: {exc}")
        done = len(alerts) - len(failures)
        text = f"Acknowledged {_plural(done)} as {self.runtime.owner}"
        if skipped:
            text += f"; {skipped} already handled"
        if failures:
            text += "; failed: " + "; ".join(failures)
        return TriageResult(action, text, done, skipped, tuple(failures))

    async def resolve(self, targets: Sequence[Alert]) -> TriageResult:
        """Resolve every target not yet resolved; a source that resolves by itself says so once."""
        action = TriageAction.RESOLVE
        if (nothing := self.nothing_to(action, targets)) is not None:
            return nothing
        alerts = eligible(action, targets)
        done, problems = 0, []
        for alert in alerts:
            try:
                await self.runtime.resolve(alert)
                done += 1
            except ActionNotSupported as exc:
                problems.append(str(exc))
            except Exception as exc:
                problems.append(f"{alert.name}: {exc}")
        unique = tuple(dict.fromkeys(problems))
        text = f"Resolved {_plural(done)}" + ("; " + "; ".join(unique) if unique else "")
        return TriageResult(action, text, done, len(targets) - len(alerts), unique)

    async def silence(
        self, targets: Sequence[Alert], *, duration_s: float, comment: str = "", duration_text: str
    ) -> TriageResult:
        """Silence every target not yet resolved for `duration_s` (`duration_text` as the user wrote it)."""
        action = TriageAction.SILENCE
        if (nothing := self.nothing_to(action, targets)) is not None:
            return nothing
        alerts = eligible(action, targets)
        failures = []
        for alert in alerts:
            try:
                await self.runtime.silence(alert, duration_s=duration_s, comment=comment)
            except Exception as exc:
                failures.append(f"{alert.name}: {exc}")
        done = len(alerts) - len(failures)
        text = f"Silenced {_plural(done)} for {duration_text}"
        if failures:
            text += "; failed: " + "; ".join(failures)
        return TriageResult(action, text, done, len(targets) - len(alerts), tuple(failures))

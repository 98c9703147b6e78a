"""The triage keys of the Alerts pane (a, r, s): which targets can take the action, the question asked first
(a silence's duration; whether to resolve a critical alert), the workflow call (`runtime.triage`), and the
sentence that reports it in the pane."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from nexus_console.domain.alert_actions import TriageAction, TriageResult, eligible, resolved_at_the_server
from nexus_console.domain.alerts import Alert, Severity
from nexus_console.views.alerts.side_views import SilenceDialog, confirm_resolve
from nexus_console.views.async_dialog import execute_dialog

SILENCE_CANCELLED = "Silence cancelled"
RESOLVE_CANCELLED = "Resolve cancelled"


class TriageKeys:
    def __init__(self, pane: Any) -> None:  # the AlertsPane: its triage workflow, queue view, flash, _run
        self.pane = pane

    def acknowledge(self, targets: list[Alert]) -> None:
        if self._can(TriageAction.ACKNOWLEDGE, targets):
            self._triage(TriageAction.ACKNOWLEDGE, self.pane.triage.acknowledge(targets))

    def resolve(self, targets: list[Alert]) -> None:
        """Resolve; a critical Nexus alert asks first: one keystroke must not close what pages the on-call."""
        if not self._can(TriageAction.RESOLVE, targets):
            return
        chosen = eligible(TriageAction.RESOLVE, targets)
        critical = sum(1 for a in chosen if a.severity is Severity.CRITICAL and resolved_at_the_server(a))

        async def confirm_and_resolve() -> TriageResult | str:
            if critical and not await confirm_resolve(self.pane, len(chosen), critical):
                return RESOLVE_CANCELLED
            return await self.pane.triage.resolve(targets)

        self._triage(TriageAction.RESOLVE, confirm_and_resolve())

    def silence(self, targets: list[Alert]) -> None:
        if not self._can(TriageAction.SILENCE, targets):
            return

        async def ask_and_silence() -> TriageResult | str:
            dialog = SilenceDialog(len(eligible(TriageAction.SILENCE, targets)), self.pane)
            try:
                if await execute_dialog(dialog) != SilenceDialog.DialogCode.Accepted:
                    return SILENCE_CANCELLED
                duration_s, comment = dialog.duration_s(), dialog.comment.text().strip()
                duration_text = dialog.duration.currentText().strip()
            finally:
                dialog.deleteLater()
            return await self.pane.triage.silence(
                targets, duration_s=duration_s, comment=comment, duration_text=duration_text
            )

        self._triage(TriageAction.SILENCE, ask_and_silence())

    def _can(self, action: TriageAction, targets: list[Alert]) -> bool:
        """Whether any target can take the action; if none can, the pane says so."""
        nothing = self.pane.triage.nothing_to(action, targets)
        if nothing is not None:
            self.pane.flash(nothing.text)
        return nothing is None

    def _triage(self, action: TriageAction, work: Coroutine[Any, Any, TriageResult | str]) -> None:
        self.pane.queue_view.clear_marks()
        self.pane._run(
            work,
            action.value,
            on_done=lambda result: self.pane.flash(result if isinstance(result, str) else result.text),
        )

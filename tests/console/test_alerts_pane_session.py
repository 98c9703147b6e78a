"""The Alerts pane on a session that polls nothing (its queue fed in-process): notifications and the badge
follow the queue while the pane is hidden, the clock-driven views catch up at once when it is shown again,
and the settings are the ones the runtime read (a broken alerts.toml is said in the pane)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.services.alert_runtime import AlertSourceSettings
from nexus_console.views.alerts import AlertsPane
from nexus_console.workers.session import SessionSettings
from tests.console.conftest import QLoop
from tests.support.session import offline_session


@dataclass
class FakePlayer:
    played: list[Severity] = field(default_factory=list)

    def play(self, severity: Severity) -> None:
        self.played.append(severity)

    def close(self) -> None:
        pass


def firing(i: int, service: str, severity: Severity = Severity.CRITICAL) -> Alert:
    return Alert(f"fp{i}", "prometheus", f"Rule{i}", severity, AlertState.FIRING, service, starts_at=1.0)


def test_hidden_the_pane_still_notifies_and_counts_and_shown_again_it_catches_up_at_once(
    qloop: QLoop, tmp_path: Path
) -> None:
    broken = tmp_path / "alerts.toml"
    broken.write_text('[notifications]\nquiet_hours = "soon"\n')
    settings = SessionSettings(
        alerts=AlertSourceSettings(history_path=tmp_path / "history.db", pane_settings_path=broken)
    )

    async def scenario() -> None:
        async with offline_session(settings=settings) as session:
            player = FakePlayer()
            pane = AlertsPane(session, player=player)
            view, queue = pane.queue_view, session.alerts.queue
            badges: list[int] = []
            pane.badge_changed.connect(badges.append)
            try:
                # The runtime read alerts.toml: its problem is in the pane, the defaults apply.
                assert pane.message.text().startswith("alerts.toml: notifications.quiet_hours")
                assert pane.notifier.settings == session.alerts.pane_settings.notifications
                pane.resize(1200, 700)
                pane.show()
                assert pane.tick_timer.isActive()
                assert view.groups.item(0).text().split()[:2] == ["0", "all"]  # the tick ran at the show
                pane.hide()
                assert not pane.tick_timer.isActive()

                queue.submit_snapshot("prometheus", [firing(1, "orders"), firing(2, "billing", Severity.LOW)])
                queue.drain()
                # Hidden: the notifier, the sound and the badge heard it at once, the table too ...
                assert [n.title for n in pane.notifier.shown] == ["CRITICAL: Rule1"]
                assert player.played == [Severity.CRITICAL]
                assert badges == [2] and pane.badge_text() == "2"
                assert pane.proxy.rowCount() == 2 and pane.counts.text() == "2 shown"
                # ... while the group list, which follows the clock, waits for the pane to be shown.
                assert view.groups.item(0).text().split()[:2] == ["0", "all"]
                pane.show()
                assert view.groups.item(0).text().split()[:2] == ["2", "all"]  # at once, not at the next tick
                assert view.group_counts() == {"orders": 1, "billing": 1}
            finally:
                pane.shutdown()
                pane.hide()
                pane.deleteLater()
            # Shut down, the pane no longer follows the queue.
            queue.submit_snapshot("prometheus", [firing(3, "catalog")])
            queue.drain()
            assert len(pane.notifier.shown) == 1 and badges == [2]

    qloop.run(scenario(), timeout_s=30)

"""The rotation of one wall screen: which item shows now, when the next one comes, and what stops it.

Three things stop the rotation, in this order of precedence:
  held     something needs the room (a critical alert nobody acknowledged, an incident nobody acknowledged):
           the screen shows it until it is acknowledged or resolved, then the rotation goes on where it was;
  paused   someone at the wall pressed a key or moved the mouse: the screen stays until no input has come for
           `idle_resume_s`;
  running  each item shows for its own `seconds`.

Pure: the caller passes the time and the current alerts and incidents; the Qt adapter shows the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.domain.incidents import Incident
from nexus_console.domain.wall_playlist import PaneView, Playlist, PlaylistItem

IDLE_RESUME_S = 120.0


@dataclass(frozen=True, slots=True)
class Attention:
    """What the wall holds on, and the sentence that says why."""

    view: PaneView
    reason: str


def attention_needed(alerts: Iterable[Alert], incidents: Iterable[Incident]) -> Attention | None:
    """The newest critical alert firing without an acknowledgement, else the newest open incident nobody has
    acknowledged, else None. Silenced, acknowledged and resolved alerts never hold a wall."""
    critical = [
        alert
        for alert in alerts
        if alert.severity is Severity.CRITICAL and alert.state is AlertState.FIRING and not alert.ack_by
    ]
    if critical:
        alert = max(critical, key=lambda a: (a.starts_at or 0.0, a.key))
        where = f" on {alert.service}" if alert.service else ""
        return Attention(
            PaneView("Alerts", alert=alert.key),
            f"Critical alert {alert.name}{where} — shown until it is acknowledged or resolved",
        )
    waiting = [i for i in incidents if i.is_active and i.acknowledged_at is None]
    if waiting:
        incident = max(waiting, key=lambda i: (i.created_at, i.id))
        return Attention(
            PaneView("Incidents", incident=incident.id),
            f"Incident #{incident.id} {incident.title} — shown until it is acknowledged or resolved",
        )
    return None


class WallRotation:
    def __init__(
        self,
        playlist: Playlist,
        now: float,
        *,
        idle_resume_s: float = IDLE_RESUME_S,
        start_index: int = 0,
    ) -> None:
        self.playlist = playlist
        self.idle_resume_s = idle_resume_s
        self.index = start_index % len(playlist.items)
        self.shown_since = now
        self.paused_until: float | None = None
        self.held: Attention | None = None

    @property
    def item(self) -> PlaylistItem:
        return self.playlist.items[self.index]

    def current(self) -> PaneView:
        return self.held.view if self.held is not None else self.item.view

    def is_paused(self, now: float) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def note_input(self, now: float) -> None:
        """Someone is at the wall: stay on this screen until they have left it alone for a while."""
        self.paused_until = now + self.idle_resume_s

    def set_playlist(self, playlist: Playlist, now: float) -> bool:
        """Switch to another playlist (the schedule, a reloaded file); True when it is another one."""
        if playlist == self.playlist:
            return False
        same_name = playlist.name == self.playlist.name
        self.playlist = playlist
        self.index = self.index % len(playlist.items) if same_name else 0
        self.shown_since = now
        return True

    def set_attention(self, attention: Attention | None, now: float) -> None:
        """Hold on `attention` (None releases it: the rotation resumes with a full turn of the item)."""
        if attention == self.held:
            return
        if attention is None:
            self.shown_since = now
        self.held = attention

    def advance(self, now: float) -> bool:
        """Move to the next item when the current one has had its time; True when it moved."""
        if self.held is not None or self.is_paused(now):
            return False
        if now - self.shown_since < self.item.seconds:
            return False
        self.index = (self.index + 1) % len(self.playlist.items)
        self.shown_since = now
        return True

    def skip(self, now: float) -> bool:
        """The next item now (→ on the wall, or an item this account has no pane for); False while held."""
        if self.held is not None:
            return False
        self.index = (self.index + 1) % len(self.playlist.items)
        self.shown_since = now
        return True

    def upcoming(self) -> PaneView:
        """The item after this one, to prepare before it is shown."""
        return self.playlist.items[(self.index + 1) % len(self.playlist.items)].view

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.item.seconds - (now - self.shown_since))

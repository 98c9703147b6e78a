"""Building the wall for a session: its playlists (the file, else every monitoring pane), the playlist the
command line forces, and the controller that puts a window on every screen."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nexus_console.domain.wall_playlist import PlaylistError
from nexus_console.launch_options import settings_for_console
from nexus_console.services.wall_config import load_wall_config
from nexus_console.views.pane import Pane
from nexus_console.views.wall.controller import WallController
from nexus_console.workers.session import ConsoleSession


def build_wall(
    session: ConsoleSession, pane_types: Sequence[type[Pane]], config_path: Path | None, playlist: str | None
) -> WallController:
    """The wall, not started. PlaylistError (a sentence naming the file and the problem) for a bad file or
    a playlist the file does not define."""
    titles = [t.title for t in pane_types if session.me.may_access(t.required_roles)]
    config = load_wall_config(titles, config_path)
    if playlist and playlist not in config.playlists:
        raise PlaylistError(f"no playlist {playlist!r}; the wall file defines {', '.join(config.playlists)}")
    return WallController(session, pane_types, config, settings_for_console(), forced_playlist=playlist)

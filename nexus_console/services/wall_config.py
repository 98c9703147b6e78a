"""Where the wall's playlists come from: `wall.toml` in the config dir (or a path given), else every pane."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nexus_console.domain.wall_playlist import PlaylistError, WallConfig, default_config, parse_config
from nexus_console.services.profiles import config_dir

WALL_FILE = "wall.toml"


def load_wall_config(pane_titles: Sequence[str], path: Path | None = None) -> WallConfig:
    """The playlists of `path` (default: wall.toml in the config dir); without that file, every pane of
    `pane_titles` for 30 s each. Raises PlaylistError with a sentence naming the file and the problem."""
    path = path or config_dir() / WALL_FILE
    if not path.exists():
        return default_config(list(pane_titles))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaylistError(f"cannot read the wall playlist file {path}: {exc.strerror or exc}") from None
    return parse_config(text, source=str(path))

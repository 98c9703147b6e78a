"""Wall playlists: what each screen of a wall display shows, for how long, and when.

A playlist is a list of items; an item is a pane plus its view (tab, filter, selected service, time range)
and its own interval. A schedule picks the playlist by time of day and weekday; a screen can be given a
playlist of its own by its name (`QScreen.name()`, e.g. "HDMI-1"). The file is TOML:

    default = "operations"

    [[playlist.operations.item]]
    pane = "Status"
    seconds = 30

    [[playlist.operations.item]]
    pane = "Health"
    tab = "API"
    seconds = 20

    [[schedule]]            # first match wins; outside every entry: `default`
    from = "20:00"
    to = "07:00"            # past midnight is fine
    days = ["mon", "tue", "wed", "thu", "fri"]   # optional: every day
    playlist = "night"

    [screens]
    "HDMI-2" = "night"      # this screen ignores the schedule

Parsing says what is wrong in a sentence that names the place (`PlaylistError`), so a wall that cannot
start tells the person at it which line to fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

DEFAULT_SECONDS = 30.0
MIN_SECONDS = 2.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VIEW_KEYS = ("tab", "filter", "service", "range")


class PlaylistError(ValueError):
    """str() says what is wrong with the playlist file and where."""


@dataclass(frozen=True, slots=True)
class PaneView:
    """A pane and how it is shown: the keys each pane understands are listed in docs/wall.md."""

    pane: str
    tab: str = ""
    filter: str = ""
    service: str = ""
    range: str = ""
    incident: int | None = None  # an incident the wall holds on
    alert: str = ""  # an alert key the wall holds on

    def describe(self) -> str:
        details = [value for value in (self.tab, self.service, self.filter, self.range) if value]
        return f"{self.pane} — {', '.join(details)}" if details else self.pane


@dataclass(frozen=True, slots=True)
class PlaylistItem:
    view: PaneView
    seconds: float = DEFAULT_SECONDS


@dataclass(frozen=True, slots=True)
class Playlist:
    name: str
    items: tuple[PlaylistItem, ...]


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    start: time
    end: time
    playlist: str
    days: frozenset[int] = frozenset(range(7))  # datetime.weekday() numbers

    def covers(self, moment: datetime) -> bool:
        now = moment.time()
        if self.start <= self.end:
            return moment.weekday() in self.days and self.start <= now < self.end
        # Past midnight: the evening part belongs to the day it starts, the morning part to the day before.
        if now >= self.start:
            return moment.weekday() in self.days
        return now < self.end and (moment.weekday() - 1) % 7 in self.days


@dataclass(frozen=True, slots=True)
class WallConfig:
    playlists: Mapping[str, Playlist]
    default: str
    schedule: tuple[ScheduleEntry, ...] = ()
    screens: Mapping[str, str] = field(default_factory=dict)

    def playlist_for(self, screen: str, moment: datetime, *, forced: str | None = None) -> Playlist:
        """The playlist a screen shows at `moment`: `forced` (--playlist), else the screen's own, else the
        first schedule entry covering the moment, else the default."""
        if forced:
            return self.playlists[forced]
        if screen in self.screens:
            return self.playlists[self.screens[screen]]
        for entry in self.schedule:
            if entry.covers(moment):
                return self.playlists[entry.playlist]
        return self.playlists[self.default]


# What a room watches, not the admin panes: the monitoring panes, then the business at a glance (the
# Analytics pane's executive page) for accounts that have it.
WALL_VIEWS = (
    PaneView("Status"),
    PaneView("Health"),
    PaneView("Alerts"),
    PaneView("Incidents"),
    PaneView("Uptime"),
    PaneView("Analytics", tab="Executive"),
)


def default_config(pane_titles: list[str]) -> WallConfig:
    """Without a playlist file: the views of WALL_VIEWS whose pane the account has, in that order, 30 s
    each; an account with none of them gets every pane it has."""
    views = [view for view in WALL_VIEWS if view.pane in pane_titles] or [PaneView(t) for t in pane_titles]
    items = tuple(PlaylistItem(view) for view in views)
    return WallConfig({"default": Playlist("default", items)}, "default")


def parse_config(text: str, *, source: str = "the playlist file") -> WallConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlaylistError(f"{source} is not valid TOML: {exc}") from None
    raw_playlists = data.get("playlist")
    if not isinstance(raw_playlists, dict) or not raw_playlists:
        raise PlaylistError(f"{source} defines no playlist: add a [[playlist.NAME.item]] table")
    playlists = {name: _playlist(name, body, source) for name, body in raw_playlists.items()}
    default = data.get("default", next(iter(playlists)))
    _known(default, playlists, f"{source}: default")
    schedule = tuple(
        _schedule_entry(entry, playlists, f"{source}: schedule entry {number}")
        for number, entry in enumerate(_list(data.get("schedule", []), f"{source}: schedule"), start=1)
    )
    screens = data.get("screens", {})
    if not isinstance(screens, dict):
        raise PlaylistError(f"{source}: [screens] must map screen names to playlist names")
    for screen, name in screens.items():
        _known(name, playlists, f"{source}: screen {screen!r}")
    return WallConfig(playlists, default, schedule, dict(screens))


def _playlist(name: str, body: Any, source: str) -> Playlist:
    where = f"{source}: playlist {name!r}"
    if not isinstance(body, dict):
        raise PlaylistError(f"{where} must be a table with items")
    items = tuple(
        _item(raw, f"{where}, item {number}")
        for number, raw in enumerate(_list(body.get("item", []), where), start=1)
    )
    if not items:
        raise PlaylistError(f"{where} has no items: add [[playlist.{name}.item]] with a pane")
    return Playlist(name, items)


def _item(raw: Any, where: str) -> PlaylistItem:
    if not isinstance(raw, dict) or not isinstance(raw.get("pane"), str) or not raw["pane"]:
        raise PlaylistError(f'{where} needs a pane name (pane = "Health")')
    unknown = set(raw) - {"pane", "seconds", *VIEW_KEYS}
    if unknown:
        known = ", ".join(("pane", "seconds", *VIEW_KEYS))
        raise PlaylistError(f"{where}: unknown key {sorted(unknown)[0]!r}; known: {known}")
    seconds = raw.get("seconds", DEFAULT_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < MIN_SECONDS:
        raise PlaylistError(f"{where}: seconds must be a number of at least {MIN_SECONDS:g}")
    view = PaneView(raw["pane"], **{key: str(raw.get(key, "")) for key in VIEW_KEYS})
    return PlaylistItem(view, float(seconds))


def _schedule_entry(raw: Any, playlists: Mapping[str, Playlist], where: str) -> ScheduleEntry:
    if not isinstance(raw, dict):
        raise PlaylistError(f"{where} must be a table with from, to and playlist")
    name = raw.get("playlist")
    _known(name, playlists, where)
    days = raw.get("days")
    if days is None:
        weekdays = frozenset(range(7))
    else:
        bad = [day for day in _list(days, where) if str(day).lower()[:3] not in WEEKDAYS]
        if bad:
            raise PlaylistError(f"{where}: {bad[0]!r} is not a weekday (mon … sun)")
        weekdays = frozenset(WEEKDAYS.index(str(day).lower()[:3]) for day in days)
    return ScheduleEntry(_clock(raw.get("from"), where), _clock(raw.get("to"), where), str(name), weekdays)


def _clock(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise PlaylistError(f'{where}: {value!r} is not a time of day like "07:30"') from None


def _known(name: Any, playlists: Mapping[str, Playlist], where: str) -> None:
    if name not in playlists:
        raise PlaylistError(f"{where} names playlist {name!r}, which is not defined ({', '.join(playlists)})")


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlaylistError(f"{where} must be a list")
    return value

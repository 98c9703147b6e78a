"""Wall playlists, their schedule, and the rotation: what each screen shows and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from nexus_console.domain.alerts import AlertState, Severity
from nexus_console.domain.incidents import IncidentStatus
from nexus_console.domain.wall_playlist import (
    PaneView,
    PlaylistError,
    default_config,
    parse_config,
)
from nexus_console.domain.wall_rotation import WallRotation, attention_needed
from tests.domain.incident_factories import make_incident
from tests.domain.test_incident_timeline import make_alert

WALL_TOML = """
default = "day"

[[playlist.day.item]]
pane = "Status"
seconds = 30

[[playlist.day.item]]
pane = "Health"
tab = "API"
seconds = 10

[[playlist.day.item]]
pane = "Alerts"
filter = "severity=critical"
seconds = 20

[[playlist.night.item]]
pane = "Status"
seconds = 60

[[schedule]]
from = "20:00"
to = "07:00"
days = ["mon", "tue", "wed", "thu", "fri"]
playlist = "night"

[screens]
"HDMI-2" = "night"
"""

MONDAY = datetime(2026, 12, 7)  # a Monday


def test_a_playlist_file_gives_each_item_its_own_view_and_interval() -> None:
    config = parse_config(WALL_TOML)
    day = config.playlists["day"]
    assert [item.seconds for item in day.items] == [30, 10, 20]
    assert day.items[1].view == PaneView("Health", tab="API")
    assert day.items[2].view.filter == "severity=critical"


def test_the_schedule_picks_the_night_playlist_past_midnight_on_the_right_days() -> None:
    config = parse_config(WALL_TOML)
    assert config.playlist_for("HDMI-1", MONDAY.replace(hour=12)).name == "day"
    assert config.playlist_for("HDMI-1", MONDAY.replace(hour=21)).name == "night"
    # Tuesday 03:00 belongs to Monday night's entry; Sunday 03:00 to Saturday, which has none.
    assert config.playlist_for("HDMI-1", MONDAY.replace(day=8, hour=3)).name == "night"
    assert config.playlist_for("HDMI-1", MONDAY.replace(day=6, hour=3)).name == "day"
    assert config.playlist_for("HDMI-1", MONDAY.replace(hour=7)).name == "day"


def test_a_screen_with_its_own_playlist_ignores_the_schedule_and_the_command_line_overrides_both() -> None:
    config = parse_config(WALL_TOML)
    assert config.playlist_for("HDMI-2", MONDAY.replace(hour=12)).name == "night"
    assert config.playlist_for("HDMI-2", MONDAY.replace(hour=12), forced="day").name == "day"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("default = ", "is not valid TOML"),
        ("x = 1", "defines no playlist"),
        ("[[playlist.a.item]]\nseconds = 5", "needs a pane name"),
        ('[[playlist.a.item]]\npane = "Health"\nseconds = 0.5', "at least 2"),
        ('[[playlist.a.item]]\npane = "Health"\ncolour = "red"', "unknown key 'colour'"),
        ('default = "b"\n[[playlist.a.item]]\npane = "Health"', "names playlist 'b', which is not defined"),
        (
            '[[playlist.a.item]]\npane = "H"\n[[schedule]]\nfrom = "7"\nto = "8:00"\nplaylist = "a"',
            "is not a time of day",
        ),
        (
            '[[playlist.a.item]]\npane = "H"\n[[schedule]]\nfrom = "7:00"\nto = "8:00"\nplaylist = "a"\n'
            'days = ["someday"]',
            "is not a weekday",
        ),
    ],
)
def test_a_bad_playlist_file_is_refused_with_a_sentence_naming_the_problem(text: str, words: str) -> None:
    with pytest.raises(PlaylistError, match=words):
        parse_config(text, source="wall.toml")


def test_without_a_file_the_wall_rotates_the_monitoring_panes_not_the_admin_ones() -> None:
    config = default_config(["Health", "Status", "Alerts", "Admin", "Action queue"])
    views = [item.view.pane for item in config.playlists[config.default].items]
    assert views == ["Status", "Health", "Alerts"]


def test_without_a_file_an_account_with_analytics_ends_the_round_on_the_executive_page() -> None:
    config = default_config(["Health", "Alerts", "Analytics", "Admin"])
    views = [item.view for item in config.playlists[config.default].items]
    assert [(v.pane, v.tab) for v in views] == [("Health", ""), ("Alerts", ""), ("Analytics", "Executive")]
    assert views[-1].describe() == "Analytics — Executive"


def test_each_item_shows_for_its_own_seconds_then_the_next_and_round_again() -> None:
    day = parse_config(WALL_TOML).playlists["day"]
    rotation = WallRotation(day, now=0.0)
    assert rotation.current().pane == "Status"
    assert not rotation.advance(29.9)
    assert rotation.advance(30.0) and rotation.current().pane == "Health"
    assert not rotation.advance(39.0)
    assert rotation.advance(40.0) and rotation.current().pane == "Alerts"
    assert rotation.upcoming().pane == "Status"
    assert rotation.advance(60.0) and rotation.current().pane == "Status"


def test_input_pauses_the_rotation_until_the_screen_is_left_alone() -> None:
    day = parse_config(WALL_TOML).playlists["day"]
    rotation = WallRotation(day, now=0.0, idle_resume_s=120)
    rotation.note_input(25.0)
    assert not rotation.advance(100.0) and rotation.is_paused(100.0)
    rotation.note_input(100.0)  # still someone there
    assert not rotation.advance(219.0)
    assert rotation.advance(220.0) and rotation.current().pane == "Health"


def test_a_critical_alert_holds_the_screen_until_it_is_acknowledged_then_rotation_resumes() -> None:
    day = parse_config(WALL_TOML).playlists["day"]
    rotation = WallRotation(day, now=0.0)
    alert = make_alert("9", service="orders")
    rotation.set_attention(attention_needed([alert], []), 5.0)
    assert rotation.current() == PaneView("Alerts", alert=alert.key)
    assert rotation.held is not None and "until it is acknowledged" in rotation.held.reason
    assert not rotation.advance(500.0)
    acked = replace(alert, state=AlertState.ACKNOWLEDGED, ack_by="ana@example.com")
    rotation.set_attention(attention_needed([acked], []), 600.0)
    assert rotation.current().pane == "Status"  # where it was, with a full turn
    assert not rotation.advance(629.0) and rotation.advance(630.0)


def test_only_an_unacknowledged_critical_alert_or_incident_needs_the_room() -> None:
    quiet = [
        make_alert("1", severity=Severity.HIGH),
        make_alert("2", state=AlertState.SILENCED),
        make_alert("3", state=AlertState.RESOLVED),
    ]
    assert attention_needed(quiet, [make_incident()]) is None  # #42 is acknowledged
    fresh = make_incident(id=43, title="Login failures", acknowledged_at=None)
    attention = attention_needed(quiet, [fresh])
    assert attention is not None and attention.view == PaneView("Incidents", incident=43)
    resolved = replace(fresh, status=IncidentStatus.RESOLVED)
    assert attention_needed(quiet, [resolved]) is None
    critical = attention_needed([*quiet, make_alert("4")], [fresh])
    assert critical is not None and critical.view.pane == "Alerts", "a critical alert comes first"


def test_a_schedule_switch_starts_the_new_playlist_from_its_first_item() -> None:
    config = parse_config(WALL_TOML)
    rotation = WallRotation(config.playlists["day"], now=0.0, start_index=2)
    assert rotation.current().pane == "Alerts"
    assert rotation.set_playlist(config.playlists["night"], 10.0)
    assert rotation.current().pane == "Status" and rotation.index == 0
    assert not rotation.set_playlist(config.playlists["night"], 11.0)


def test_skipping_moves_on_at_once_with_a_full_turn_for_the_next_item_but_never_while_held() -> None:
    day = parse_config(WALL_TOML).playlists["day"]
    rotation = WallRotation(day, now=0.0)
    assert rotation.skip(5.0) and rotation.current().pane == "Health"
    assert not rotation.advance(14.9) and rotation.advance(15.0)  # Health's own 10 s from the skip
    rotation.set_attention(attention_needed([make_alert("9")], []), 16.0)
    assert not rotation.skip(17.0) and rotation.current().pane == "Alerts"

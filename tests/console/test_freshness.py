"""Every figure carries its age: staleness rules and the text a pane shows."""

from __future__ import annotations

import time

from nexus_console.domain.freshness import SourceState, SourceStatus, Stamped, format_age, stale_text


def test_value_is_stale_only_after_twice_its_interval() -> None:
    stamped = Stamped({"x": 1}, source_time=1000.0, received_at=1000.5, interval_s=5.0)
    assert stamped.age_s(1004.0) == 4.0
    assert not stamped.is_stale(1010.0)
    assert stamped.is_stale(1010.01)


def test_age_counts_from_the_source_time_not_the_receive_time() -> None:
    stamped = Stamped(1, source_time=989.0, received_at=1000.0, interval_s=5.0)
    assert stamped.age_s(1000.0) == 11.0
    assert stamped.is_stale(1000.0)


def test_status_is_stale_without_data_in_error_and_while_showing_cached_data() -> None:
    fresh = Stamped(1, source_time=100.0, received_at=100.0, interval_s=10.0)
    assert SourceStatus("s", SourceState.CONNECTING).is_stale(100.0)
    assert not SourceStatus("s", SourceState.OK, fresh).is_stale(101.0)
    assert SourceStatus("s", SourceState.ERROR, fresh, "timeout after 5.0 s", 100.5).is_stale(101.0)
    # CONNECTING with a value means the value came from the local cache: stale until fresh data arrives
    assert SourceStatus("s", SourceState.CONNECTING, fresh).is_stale(101.0)


def test_stale_text_names_the_first_failure_time_and_the_reason() -> None:
    since = time.mktime((2026, 11, 23, 14, 5, 9, 0, 0, -1))
    status = SourceStatus(
        "probes",
        SourceState.ERROR,
        Stamped(1, since - 30, since - 30, 5.0),
        "HTTP 500 from /monitoring/api/health",
        since,
    )
    assert stale_text(status, since + 60) == "stale since 14:05:09 — HTTP 500 from /monitoring/api/health"


def test_stale_text_for_data_that_simply_aged_out() -> None:
    produced = time.mktime((2026, 11, 23, 9, 0, 0, 0, 0, -1))
    status = SourceStatus("metrics", SourceState.OK, Stamped(1, produced, produced, 1.0))
    assert stale_text(status, produced + 1.5) is None
    assert stale_text(status, produced + 125) == "stale since 09:00:02 — no update for 2 min"


def test_format_age_picks_a_readable_unit() -> None:
    assert [format_age(s) for s in (0.4, 59, 61, 3599, 7300)] == ["0 s", "59 s", "1 min", "59 min", "2 h"]

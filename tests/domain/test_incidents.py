"""Incidents: reading the server's JSON, statuses and the milestones they imply, milestone order, and the
durations and statistics derived from the milestones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incident_stats import IncidentDurations, IncidentStats, format_duration
from nexus_console.domain.incidents import (
    ACTIVE_STATUSES,
    MILESTONES,
    STATUS_ORDER,
    Incident,
    IncidentFormatError,
    IncidentStatus,
    Responder,
    implied_milestones,
    order_problems,
)


def at(hour: int, minute: int, second: int = 0, day: int = 6) -> float:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=UTC).timestamp()


def incident_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 42,
        "title": "Checkout errors",
        "severity": "high",
        "status": "investigating",
        "commander": "ana@example.com",
        "responders": [{"email": "bo@example.com", "role": "ops"}],
        "services": ["orders", "payments"],
        "alert_ids": [7, 9],
        "summary": "5xx on checkout",
        "impact_started_at": "2026-12-06T14:00:00Z",
        "detected_at": "2026-12-06T14:04:00+00:00",
        "acknowledged_at": "2026-12-06T14:06:30.250000Z",
        "mitigated_at": None,
        "resolved_at": None,
        "closed_at": None,
        "created_by": "ana@example.com",
        "created_at": "2026-12-06T14:05:00Z",
        "updated_at": "2026-12-06T14:06:30Z",
        "version": 3,
    }
    body.update(overrides)
    return body


def make_incident(**overrides: Any) -> Incident:
    return Incident.from_json(incident_json(**overrides))


# --- reading JSON --------------------------------------------------------------------------------------


def test_from_json_reads_every_field_with_times_as_epoch_seconds() -> None:
    incident = make_incident()
    assert incident.id == 42
    assert incident.severity is Severity.HIGH
    assert incident.status is IncidentStatus.INVESTIGATING
    assert incident.responders == (Responder("bo@example.com", "ops"),)
    assert incident.services == ("orders", "payments")
    assert incident.alert_ids == (7, 9)
    assert incident.impact_started_at == at(14, 0)
    assert incident.detected_at == at(14, 4)
    assert incident.acknowledged_at == at(14, 6, 30) + 0.25
    assert incident.mitigated_at is None
    assert incident.created_at == at(14, 5)
    assert incident.version == 3


def test_to_json_round_trips_through_from_json() -> None:
    incident = make_incident(resolved_at="2026-12-06T15:00:00.123456Z", status="resolved")
    assert Incident.from_json(incident.to_json()) == incident
    assert incident.to_json()["resolved_at"] == "2026-12-06T15:00:00.123456Z"
    assert incident.to_json()["status"] == "resolved"


def test_fields_an_older_server_does_not_send_read_as_empty() -> None:
    body = incident_json()
    for name in (
        "responders",
        "services",
        "impact_started_at",
        "detected_at",
        "acknowledged_at",
        "closed_at",
    ):
        del body[name]
    incident = Incident.from_json(body)
    assert incident.responders == ()
    assert incident.services == ()
    assert incident.detected_at is None


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"status": "paused"}, "status 'paused'"),
        ({"severity": "sev1"}, "severity 'sev1'"),
        ({"id": "42"}, "id"),
        ({"id": True}, "id"),
        ({"title": None}, "has no title"),
        ({"detected_at": "yesterday"}, "detected_at is not an RFC 3339 time"),
        ({"services": "orders"}, "services must be a list"),
        ({"alert_ids": [1, "2"]}, "alert_ids must be a list"),
        ({"responders": [{"email": "x@example.com"}]}, "responders must each have an email and a role"),
        ({"created_at": None}, "has no created_at"),
    ],
)
def test_a_wrong_shape_is_refused_with_a_sentence_naming_the_field(overrides: dict, named: str) -> None:
    with pytest.raises(IncidentFormatError) as raised:
        Incident.from_json(incident_json(**overrides))
    message = str(raised.value)
    assert named in message
    assert message.startswith("The incident") and message.endswith(".")


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(IncidentFormatError, match="not a JSON object"):
        Incident.from_json([1, 2])  # type: ignore[arg-type]


def test_milestone_reads_a_field_by_name_and_refuses_other_names() -> None:
    incident = make_incident()
    assert incident.milestone("detected_at") == at(14, 4)
    assert incident.milestone_times()["mitigated_at"] is None
    with pytest.raises(ValueError, match="not a milestone"):
        incident.milestone("title")


# --- statuses ------------------------------------------------------------------------------------------


def test_statuses_have_labels_and_an_order_with_the_first_four_active() -> None:
    assert [status.label for status in STATUS_ORDER] == [
        "Triage",
        "Investigating",
        "Fixing",
        "Monitoring",
        "Resolved",
        "Closed",
    ]
    assert frozenset(STATUS_ORDER[:4]) == ACTIVE_STATUSES
    assert make_incident(status="monitoring").is_active
    assert not make_incident(status="resolved").is_active


@pytest.mark.parametrize(
    ("status", "implied"),
    [
        (IncidentStatus.TRIAGE, ()),
        (IncidentStatus.INVESTIGATING, ("acknowledged_at",)),
        (IncidentStatus.FIXING, ()),
        (IncidentStatus.MONITORING, ("mitigated_at",)),
        (IncidentStatus.RESOLVED, ("acknowledged_at", "mitigated_at", "resolved_at")),
        (IncidentStatus.CLOSED, ("resolved_at", "closed_at")),
    ],
)
def test_status_change_sets_the_timestamp_it_implies(status: IncidentStatus, implied: tuple) -> None:
    assert implied_milestones(status) == implied


def test_milestones_are_listed_in_the_order_an_incident_passes_them() -> None:
    assert [label for _field, label in MILESTONES] == [
        "Impact started",
        "Detected",
        "Acknowledged",
        "Mitigated",
        "Resolved",
        "Closed",
    ]


# --- milestone order -----------------------------------------------------------------------------------


def test_milestones_in_order_have_no_problems() -> None:
    assert order_problems(make_incident().milestone_times()) == []


def test_an_acknowledgement_before_detection_is_one_sentence_with_both_times() -> None:
    times = {"detected_at": at(14, 40), "acknowledged_at": at(14, 32)}
    assert order_problems(times) == ["Acknowledged (14:32 on 6 Dec) is before Detected (14:40 on 6 Dec)."]


def test_every_pair_out_of_order_is_reported() -> None:
    times = {"impact_started_at": at(15, 0), "detected_at": at(14, 0), "resolved_at": at(14, 30)}
    assert order_problems(times) == [
        "Detected (14:00 on 6 Dec) is before Impact started (15:00 on 6 Dec).",
        "Resolved (14:30 on 6 Dec) is before Impact started (15:00 on 6 Dec).",
    ]


def test_times_within_one_minute_show_their_seconds() -> None:
    times = {"detected_at": at(14, 32, 40), "acknowledged_at": at(14, 32, 10)}
    assert order_problems(times) == [
        "Acknowledged (14:32:10 on 6 Dec) is before Detected (14:32:40 on 6 Dec)."
    ]


def test_order_problems_show_times_in_the_given_zone() -> None:
    times = {"detected_at": at(23, 40), "acknowledged_at": at(23, 30)}
    problems = order_problems(times, tz=ZoneInfo("Europe/Berlin"))
    assert problems == ["Acknowledged (00:30 on 7 Dec) is before Detected (00:40 on 7 Dec)."]


def test_a_milestone_more_than_five_minutes_after_now_is_a_problem() -> None:
    now = at(14, 0)
    times = {"detected_at": at(14, 4), "resolved_at": at(14, 10)}
    assert order_problems(times, now=now) == ["Resolved (14:10 on 6 Dec) is in the future."]


# --- durations -----------------------------------------------------------------------------------------


def test_durations_are_derived_from_the_milestones() -> None:
    durations = IncidentDurations.of(make_incident(resolved_at="2026-12-06T14:50:00Z"))
    assert durations.time_to_detect_s == 240
    assert durations.time_to_acknowledge_s == 150.25
    assert durations.time_to_resolve_s == 3000
    assert durations.problems == ()


def test_time_to_resolve_counts_from_detection_when_the_impact_start_is_unknown() -> None:
    incident = make_incident(impact_started_at=None, resolved_at="2026-12-06T14:24:00Z")
    durations = IncidentDurations.of(incident)
    assert durations.time_to_resolve_s == 1200
    assert durations.time_to_detect_s is None


def test_a_negative_duration_is_refused_and_says_why() -> None:
    incident = make_incident(acknowledged_at="2026-12-06T14:01:00Z")
    durations = IncidentDurations.of(incident)
    assert durations.time_to_acknowledge_s is None
    assert durations.problems == ("Time to acknowledge is not shown: Acknowledged is 3 min before Detected.",)


def test_duration_runs_from_the_impact_start_to_resolution_or_now() -> None:
    assert make_incident().duration_s(now=at(14, 30)) == 1800
    assert make_incident(resolved_at="2026-12-06T14:20:00Z").duration_s(now=at(18, 0)) == 1200
    undetected = make_incident(impact_started_at=None, detected_at=None)
    assert undetected.duration_s(now=at(14, 15)) == 600  # from its declaration at 14:05


# --- statistics ----------------------------------------------------------------------------------------


def resolved_incident(*, acknowledged: str, resolved: str) -> Incident:
    return make_incident(
        status="resolved",
        acknowledged_at=f"2026-12-06T{acknowledged}:00Z",
        resolved_at=f"2026-12-06T{resolved}:00Z",
    )


def test_stats_average_the_durations_of_incidents_detected_in_the_last_thirty_days() -> None:
    now = at(12, 0, day=20)
    recent_fast = resolved_incident(acknowledged="14:06", resolved="14:10")
    recent_slow = resolved_incident(acknowledged="14:14", resolved="14:30")
    old = make_incident(detected_at="2026-10-01T10:00:00Z", acknowledged_at="2026-10-01T12:00:00Z")
    open_now = make_incident(acknowledged_at=None)
    stats = IncidentStats.over([recent_fast, recent_slow, old, open_now], now=now)
    assert stats.count == 3
    assert stats.open_count == 2  # the old incident is still open too
    assert stats.mtta_s == (120 + 600) / 2
    assert stats.mttr_s == (600 + 1800) / 2
    assert stats.mtta_met is False
    assert stats.mttr_met is False


def test_stats_meet_their_targets_only_under_them_and_say_nothing_without_values() -> None:
    fast = make_incident(status="resolved", resolved_at="2026-12-06T14:10:00Z")
    stats = IncidentStats.over([fast], now=at(15, 0), mttr_target_s=601.0)
    assert stats.mttr_s == 600 and stats.mttr_met is True
    assert stats.mtta_target_s == 300.0
    empty = IncidentStats.over([], now=at(15, 0))
    assert (empty.count, empty.mtta_s, empty.mttr_s, empty.mtta_met, empty.mttr_met) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert empty.mttr_target_s == 900.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (45.9, "45 s"),
        (60, "1 min"),
        (12 * 60 + 59, "12 min"),
        (3600 + 5 * 60, "1 h 05 min"),
        (23 * 3600 + 59 * 60, "23 h 59 min"),
        (2 * 86400 + 3 * 3600 + 59, "2 d 3 h"),
        (-5, "0 s"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text

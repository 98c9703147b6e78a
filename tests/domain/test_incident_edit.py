"""Editing an incident: the form is filled from it, only what differs is sent, and a time that does not read
or milestones out of order are said before anything is queued."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from nexus_console.domain.alerts import Severity
from nexus_console.domain.incident_edit import IncidentEditError, form_of, incident_changes
from nexus_console.domain.incidents import Responder
from nexus_console.domain.quick_entry import QuickEntryError, parse_moment
from tests.domain.incident_factories import at, make_incident

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def test_an_untouched_form_changes_nothing() -> None:
    incident = make_incident()
    form = form_of(incident, now=NOW)
    assert form.milestones["impact_started_at"] == "2026-12-06 14:00:00"
    assert form.milestones["mitigated_at"] == ""
    assert form.responders == "bo@example.com ops" and form.services == "orders"
    assert incident_changes(incident, form, now=NOW) == {}


def test_severity_roles_services_and_a_milestone_are_sent_as_changed() -> None:
    incident = make_incident()
    form = form_of(incident, now=NOW)
    times = {**form.milestones, "impact_started_at": "13:55", "mitigated_at": "2026-12-06 14:30"}
    edited = replace(
        form,
        severity=Severity.CRITICAL,
        responders="bo@example.com ops\ncy@example.com comms",
        services="orders, payments",
        milestones=times,
    )
    changes = incident_changes(incident, edited, now=NOW)
    assert changes == {
        "severity": "critical",
        "responders": [
            {"email": "bo@example.com", "role": "ops"},
            {"email": "cy@example.com", "role": "comms"},
        ],
        "services": ["orders", "payments"],
        "impact_started_at": at(13, 55),
        "mitigated_at": at(14, 30),
    }
    assert make_incident(responders=(Responder("bo@example.com", "ops"),)).responders == incident.responders


def test_out_of_order_unreadable_and_cleared_times_are_refused_in_words() -> None:
    incident = make_incident()
    form = form_of(incident, now=NOW)
    late_impact = replace(form, milestones={**form.milestones, "impact_started_at": "14:10"})
    out_of_order = r"Detected \(14:04 on 6 Dec\) is before Impact started \(14:10 on 6 Dec\)"
    with pytest.raises(IncidentEditError, match=out_of_order):
        incident_changes(incident, late_impact, now=NOW)
    garbled = replace(form, milestones={**form.milestones, "mitigated_at": "half past"})
    with pytest.raises(IncidentEditError, match="Mitigated: half past is not a time"):
        incident_changes(incident, garbled, now=NOW)
    cleared = replace(form, milestones={**form.milestones, "detected_at": ""})
    with pytest.raises(IncidentEditError, match="Detected cannot be cleared"):
        incident_changes(incident, cleared, now=NOW)
    untitled = replace(form, title="  ", responders="just a name")
    with pytest.raises(IncidentEditError, match=r"Give the incident a title\..*an email and a role"):
        incident_changes(incident, untitled, now=NOW)


def test_a_moment_reads_like_the_quick_entry_line_and_nothing_else() -> None:
    assert parse_moment("14:32", now=NOW) == at(14, 32)
    assert parse_moment("yesterday 23:50", now=NOW) == at(23, 50) - 86400
    assert parse_moment("-5m", now=NOW) == NOW.timestamp() - 300
    for bad in ("", "soon", "14:32 and more"):
        with pytest.raises(QuickEntryError):
            parse_moment(bad, now=NOW)

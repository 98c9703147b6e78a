"""The post-mortem document: its JSON, what must be fixed before saving, and the report as Markdown and
as HTML for Qt's PDF printing."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nexus_console.domain.incident_timeline import EventType, TimelineEvent
from nexus_console.domain.incidents import Incident, IncidentFormatError, IncidentStatus
from nexus_console.domain.postmortem import ActionItem, PostMortem, problems, render_html, render_markdown
from tests.domain.incident_factories import at
from tests.domain.incident_factories import make_incident as shared_incident

LONDON = ZoneInfo("Europe/London")


def postmortem_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_id": 42,
        "owner": "bo@example.com",
        "summary": "Checkout failed for 50 minutes.",
        "impact": "",
        "root_cause": "A bad config push.",
        "went_well": "",
        "went_badly": "",
        "action_items": [
            {"text": "Alert on checkout 5xx", "owner": "bo@example.com", "due": "2026-12-20", "done": False},
            {"text": "Review config pushes", "owner": None, "due": None, "done": True},
        ],
        "timeline_entry_ids": [1, 5],
        "version": 2,
        "updated_by": "bo@example.com",
        "updated_at": "2026-12-06T16:00:00Z",
    }
    body.update(overrides)
    return body


def make_incident(**changes: Any) -> Incident:
    """The shared incident, resolved: mitigated at 14:20, resolved at 14:50."""
    resolved = {
        "title": "Checkout | errors",
        "status": IncidentStatus.RESOLVED,
        "mitigated_at": at(14, 20),
        "resolved_at": at(14, 50),
        "updated_at": at(14, 50),
        "version": 5,
    }
    return shared_incident(**{**resolved, **changes})


EVENTS = [
    TimelineEvent(
        "milestone:impact_started_at",
        at(14, 0),
        EventType.MILESTONE,
        "Impact started — start of the incident",
        "incident",
        None,
        None,
        None,
    ),
    TimelineEvent(
        "entry:1",
        at(14, 10),
        EventType.NOTE,
        "restarted | the\nprocessor",
        "incident",
        "bo@example.com",
        None,
        1,
    ),
]


# --- the document --------------------------------------------------------------------------------------


def test_from_json_reads_the_document_and_to_json_gives_the_put_body() -> None:
    pm = PostMortem.from_json(postmortem_json())
    assert pm.action_items == (
        ActionItem("Alert on checkout 5xx", "bo@example.com", date(2026, 12, 20), False),
        ActionItem("Review config pushes", None, None, True),
    )
    assert (pm.version, pm.updated_at, pm.timeline_entry_ids) == (2, at(16, 0), (1, 5))
    body = postmortem_json()
    for server_field in ("incident_id", "version", "updated_by", "updated_at"):
        del body[server_field]
    assert pm.to_json() == body


def test_a_blank_post_mortem_is_empty_and_never_saved() -> None:
    blank = PostMortem.blank(42)
    assert (blank.incident_id, blank.version, blank.owner, blank.action_items) == (42, 0, None, ())
    assert blank.to_json()["summary"] == ""


def test_a_due_date_that_is_not_a_calendar_day_is_refused_naming_the_item() -> None:
    body = postmortem_json()
    body["action_items"][1]["due"] = "next week"
    with pytest.raises(IncidentFormatError, match="action item 2 has a due date that is not YYYY-MM-DD"):
        PostMortem.from_json(body)


def test_problems_name_items_without_text_and_due_dates_that_are_not_dates() -> None:
    pm = replace(
        PostMortem.blank(42),
        action_items=(
            ActionItem("fine", None, date(2026, 12, 20), False),
            ActionItem("  ", None, None, False),
            ActionItem("when?", None, datetime(2026, 12, 20, 9, 0), False),  # a time, not a day
        ),
    )
    assert problems(pm) == [
        "Action item 2 has no text: say what is to be done.",
        "Action item 3's due date is not a date: write it as YYYY-MM-DD.",
    ]
    assert problems(PostMortem.from_json(postmortem_json())) == []


# --- the report ----------------------------------------------------------------------------------------


def test_the_markdown_report_is_the_whole_document_line_for_line() -> None:
    pm = PostMortem.from_json(postmortem_json())
    text = render_markdown(make_incident(), pm, EVENTS, tz=LONDON, now=at(16, 0))
    assert text.splitlines() == [
        "# Post-mortem: Checkout | errors",
        "",
        "Incident #42. Post-mortem owner: bo@example.com. Written 2026-12-06 16:00:00 GMT.",
        "",
        "## Key figures",
        "",
        "- Severity: high",
        "- Status: Resolved",
        "- Commander: ana@example.com",
        "- Responders: bo@example.com (ops)",
        "- Services: orders",
        "- Impact started: 2026-12-06 14:00:00 GMT",
        "- Detected: 2026-12-06 14:04:00 GMT",
        "- Acknowledged: 2026-12-06 14:06:00 GMT",
        "- Mitigated: 2026-12-06 14:20:00 GMT",
        "- Resolved: 2026-12-06 14:50:00 GMT",
        "- Time to detect: 4 min",
        "- Time to acknowledge: 2 min (target under 5 min: met)",
        "- Time to resolve: 50 min (target under 15 min: missed)",
        "",
        "## Summary",
        "",
        "Checkout failed for 50 minutes.",
        "",
        "## Impact",
        "",
        "_Not written yet._",
        "",
        "## Root cause",
        "",
        "A bad config push.",
        "",
        "## Timeline",
        "",
        "| Date and time | Type | What happened | Source |",
        "| --- | --- | --- | --- |",
        "| 2026-12-06 14:00:00 GMT | Milestone | Impact started — start of the incident | incident |",
        "| 2026-12-06 14:10:00 GMT | Note | restarted \\| the processor | incident (bo@example.com) |",
        "",
        "## What went well",
        "",
        "_Not written yet._",
        "",
        "## What went badly",
        "",
        "_Not written yet._",
        "",
        "## Action items",
        "",
        "| Done | Action | Owner | Due |",
        "| --- | --- | --- | --- |",
        "| no | Alert on checkout 5xx | bo@example.com | 2026-12-20 |",
        "| yes | Review config pushes | — | — |",
    ]


def test_the_report_of_an_open_incident_says_how_long_it_has_run_and_why_a_figure_is_missing() -> None:
    incident = make_incident(
        status=IncidentStatus.FIXING, acknowledged_at=at(14, 1), mitigated_at=None, resolved_at=None
    )
    text = render_markdown(incident, PostMortem.blank(42), [], tz=UTC, now=at(16, 0))
    assert "- Resolved: not recorded" in text
    assert "- Time to resolve: — (unresolved, open for 2 h 00 min)" in text
    assert "- Note: Time to acknowledge is not shown: Acknowledged is 3 min before Detected." in text
    assert "Post-mortem owner: no owner named." in text
    assert "## Timeline\n\n_No events chosen for the timeline._\n" in text
    assert "## Action items\n\n_Not written yet._\n" in text


def test_the_report_is_deterministic() -> None:
    pm = PostMortem.from_json(postmortem_json())
    first = render_html(make_incident(), pm, EVENTS, tz=LONDON, now=at(16, 0))
    assert render_html(make_incident(), pm, EVENTS, tz=LONDON, now=at(16, 0)) == first


def test_the_html_report_has_the_same_sections_with_every_text_escaped() -> None:
    pm = replace(
        PostMortem.from_json(postmortem_json()), root_cause="A <script> in the config & more.\n\nLine 2"
    )
    page = render_html(make_incident(title="<b>Checkout</b>"), pm, EVENTS, tz=LONDON, now=at(16, 0))
    assert "<h1>Post-mortem: &lt;b&gt;Checkout&lt;/b&gt;</h1>" in page
    assert re.findall(r"<h2>(.*?)</h2>", page) == [
        "Key figures",
        "Summary",
        "Impact",
        "Root cause",
        "Timeline",
        "What went well",
        "What went badly",
        "Action items",
    ]
    assert "<p>A &lt;script&gt; in the config &amp; more.</p>\n<p>Line 2</p>" in page
    assert "<td>restarted | the<br>processor</td>" in page
    assert page.count("<table") == 2
    assert "<li>Time to resolve: 50 min (target under 15 min: missed)</li>" in page
    assert '<p class="empty"><i>Not written yet.</i></p>' in page


def test_the_html_report_is_self_contained_for_qt_rich_text() -> None:
    page = render_html(make_incident(), PostMortem.blank(42), EVENTS, tz=LONDON, now=at(16, 0))
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page and "border" in page
    for outside in ("http://", "https://", "<link", "<script", "<img", "display: flex", "display: grid"):
        assert outside not in page

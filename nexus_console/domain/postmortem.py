"""An incident's post-mortem: the document the responders write, what is wrong with it before it is saved,
and the complete report as Markdown or as HTML (which the console prints to PDF with Qt)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from nexus_console.domain.incident_stats import (
    MTTA_TARGET_S,
    MTTR_TARGET_S,
    IncidentDurations,
    format_duration,
)
from nexus_console.domain.incident_timeline import TimelineEvent
from nexus_console.domain.incidents import (
    MILESTONE_LABELS,
    Incident,
    IncidentFormatError,
    read_field,
    read_list,
    read_optional_time,
)

# The written sections, in the order the report shows them.
TEXT_SECTIONS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_cause", "Root cause"),
    ("went_well", "What went well"),
    ("went_badly", "What went badly"),
)
NOT_WRITTEN = "Not written yet."
NO_EVENTS = "No events chosen for the timeline."
# The milestones the key figures list (closing is paperwork, not part of the incident).
KEY_MILESTONES = ("impact_started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")


@dataclass(frozen=True, slots=True)
class ActionItem:
    text: str
    owner: str | None
    due: date | None
    done: bool


@dataclass(frozen=True, slots=True)
class PostMortem:
    incident_id: int
    owner: str | None
    summary: str
    impact: str
    root_cause: str
    went_well: str
    went_badly: str
    action_items: tuple[ActionItem, ...]
    timeline_entry_ids: tuple[int, ...]
    version: int  # 0 until first saved
    updated_by: str | None
    updated_at: float | None

    @classmethod
    def blank(cls, incident_id: int) -> PostMortem:
        """An empty post-mortem, never saved."""
        return cls(incident_id, None, "", "", "", "", "", (), (), 0, None, None)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> PostMortem:
        """The post-mortem from the API's JSON; raises IncidentFormatError naming the first bad field."""
        what = "post-mortem"
        if not isinstance(body, Mapping):
            raise IncidentFormatError("The post-mortem is not a JSON object.")
        items = []
        for number, item in enumerate(read_list(body, "action_items", dict, what=what), start=1):
            item_what = f"post-mortem's action item {number}"
            due_text = read_field(item, "due", (str, type(None)), what=item_what)
            try:
                due = None if due_text is None else date.fromisoformat(due_text)
            except ValueError:
                raise IncidentFormatError(
                    f"The {item_what} has a due date that is not YYYY-MM-DD: {due_text!r}."
                ) from None
            items.append(
                ActionItem(
                    text=read_field(item, "text", str, what=item_what),
                    owner=read_field(item, "owner", (str, type(None)), what=item_what),
                    due=due,
                    done=bool(read_field(item, "done", (bool, type(None)), what=item_what)),
                )
            )
        texts = {
            name: read_field(body, name, (str, type(None)), what=what) or "" for name, _ in TEXT_SECTIONS
        }
        return cls(
            incident_id=read_field(body, "incident_id", int, what=what),
            owner=read_field(body, "owner", (str, type(None)), what=what),
            action_items=tuple(items),
            timeline_entry_ids=read_list(body, "timeline_entry_ids", int, what=what),
            version=read_field(body, "version", int, what=what),
            updated_by=read_field(body, "updated_by", (str, type(None)), what=what),
            updated_at=read_optional_time(body, "updated_at", what=what),
            **texts,
        )

    def to_json(self) -> dict[str, Any]:
        """The PUT body: every field but incident_id, version, updated_by and updated_at (the server's)."""
        body: dict[str, Any] = {"owner": self.owner}
        body.update((name, getattr(self, name)) for name, _ in TEXT_SECTIONS)
        body["action_items"] = [
            {
                "text": item.text,
                "owner": item.owner,
                "due": None if item.due is None else item.due.isoformat(),
                "done": item.done,
            }
            for item in self.action_items
        ]
        body["timeline_entry_ids"] = list(self.timeline_entry_ids)
        return body


def problems(pm: PostMortem) -> list[str]:
    """What must be fixed before saving, one sentence each; empty when the document can be saved."""
    found = []
    for number, item in enumerate(pm.action_items, start=1):
        if not item.text.strip():
            found.append(f"Action item {number} has no text: say what is to be done.")
        # A datetime is a date to isinstance, but the API takes a calendar day.
        if item.due is not None and (not isinstance(item.due, date) or isinstance(item.due, datetime)):
            found.append(f"Action item {number}'s due date is not a date: write it as YYYY-MM-DD.")
    return found


# --- the report ----------------------------------------------------------------------------------------

# A report is built once as blocks, then written as Markdown or HTML, so both say the same thing:
# ("h1" | "h2" | "p", text), ("list", [text]), ("table", [header], [[cell]]), ("written", text) for the
# responders' own text, ("empty", text) for a section with nothing in it.
Block = tuple[Any, ...]


def _full_time(epoch_s: float, tz: tzinfo) -> str:
    # Numeric fields only: month names would follow the locale Qt sets at start-up.
    moment = datetime.fromtimestamp(epoch_s, tz)
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname() or ''}".rstrip()


def _against(value: float | None, target_s: float) -> str:
    if value is None:
        return format_duration(None)
    verdict = "met" if value < target_s else "missed"
    return f"{format_duration(value)} (target under {format_duration(target_s)}: {verdict})"


def _report_blocks(
    incident: Incident, pm: PostMortem, events: Sequence[TimelineEvent], tz: tzinfo, now: float
) -> list[Block]:
    durations = IncidentDurations.of(incident)
    responders = ", ".join(f"{r.email} ({r.role})" for r in incident.responders) or "none named"
    figures = [
        f"Severity: {incident.severity.value}",
        f"Status: {incident.status.label}",
        f"Commander: {incident.commander or 'none named'}",
        f"Responders: {responders}",
        f"Services: {', '.join(incident.services) or 'none named'}",
    ]
    for field in KEY_MILESTONES:
        at = incident.milestone(field)
        figures.append(f"{MILESTONE_LABELS[field]}: {'not recorded' if at is None else _full_time(at, tz)}")
    resolve = _against(durations.time_to_resolve_s, MTTR_TARGET_S)
    if incident.resolved_at is None:
        resolve += f" (unresolved, open for {format_duration(incident.duration_s(now))})"
    figures += [
        f"Time to detect: {format_duration(durations.time_to_detect_s)}",
        f"Time to acknowledge: {_against(durations.time_to_acknowledge_s, MTTA_TARGET_S)}",
        f"Time to resolve: {resolve}",
    ]
    figures += [f"Note: {problem}" for problem in durations.problems]
    owner = pm.owner or "no owner named"
    blocks: list[Block] = [
        ("h1", f"Post-mortem: {incident.title}"),
        ("p", f"Incident #{incident.id}. Post-mortem owner: {owner}. Written {_full_time(now, tz)}."),
        ("h2", "Key figures"),
        ("list", figures),
    ]
    for name, heading in TEXT_SECTIONS[:3]:
        blocks += _text_section(heading, getattr(pm, name))
    blocks.append(("h2", "Timeline"))
    if events:
        rows = [
            [
                _full_time(event.at, tz),
                event.type.label,
                event.text,
                f"{event.source} ({event.author})" if event.author else event.source,
            ]
            for event in events
        ]
        blocks.append(("table", ["Date and time", "Type", "What happened", "Source"], rows))
    else:
        blocks.append(("empty", NO_EVENTS))
    for name, heading in TEXT_SECTIONS[3:]:
        blocks += _text_section(heading, getattr(pm, name))
    blocks.append(("h2", "Action items"))
    if pm.action_items:
        rows = [
            [
                "yes" if item.done else "no",
                item.text,
                item.owner or "—",
                item.due.isoformat() if item.due is not None else "—",
            ]
            for item in pm.action_items
        ]
        blocks.append(("table", ["Done", "Action", "Owner", "Due"], rows))
    else:
        blocks.append(("empty", NOT_WRITTEN))
    return blocks


def _text_section(heading: str, text: str) -> list[Block]:
    text = text.strip()
    return [("h2", heading), ("written", text) if text else ("empty", NOT_WRITTEN)]


def render_markdown(
    incident: Incident, pm: PostMortem, events: Sequence[TimelineEvent], *, tz: tzinfo, now: float
) -> str:
    """The complete post-mortem as Markdown; `events` become the timeline table, one row each, in order.

    The written sections are the responders' own Markdown and go in as written."""
    lines: list[str] = []
    for block in _report_blocks(incident, pm, events, tz, now):
        kind = block[0]
        if kind == "h1":
            lines += [f"# {block[1]}", ""]
        elif kind == "h2":
            lines += [f"## {block[1]}", ""]
        elif kind in ("p", "written"):
            lines += [block[1], ""]
        elif kind == "empty":
            lines += [f"_{block[1]}_", ""]
        elif kind == "list":
            lines += [f"- {item}" for item in block[1]] + [""]
        elif kind == "table":
            header, rows = block[1], block[2]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join(" --- " for _ in header) + "|")
            lines += ["| " + " | ".join(_markdown_cell(cell) for cell in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_cell(text: str) -> str:
    # A pipe ends the cell and a line break ends the table.
    return " ".join(text.replace("|", "\\|").split())


_STYLE = """
body { font-family: sans-serif; font-size: 10pt; }
h1 { font-size: 18pt; }
h2 { font-size: 13pt; margin-top: 12px; }
table { border-collapse: collapse; margin-top: 4px; }
th, td { border: 1px solid #888888; padding: 3px 6px; vertical-align: top; }
th { background-color: #eeeeee; text-align: left; }
p.empty { color: #666666; font-style: italic; }
"""


def render_html(
    incident: Incident, pm: PostMortem, events: Sequence[TimelineEvent], *, tz: tzinfo, now: float
) -> str:
    """The same document as `render_markdown`, as one self-contained HTML page inside the rich-text subset
    Qt's QTextDocument lays out (plain tables with borders, no external resources); all text escaped."""
    esc = html.escape
    title = esc(f"Post-mortem: {incident.title}")
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
    ]
    for block in _report_blocks(incident, pm, events, tz, now):
        kind = block[0]
        if kind in ("h1", "h2", "p"):
            parts.append(f"<{kind}>{esc(block[1])}</{kind}>")
        elif kind == "empty":
            parts.append(f'<p class="empty"><i>{esc(block[1])}</i></p>')
        elif kind == "written":
            for paragraph in block[1].split("\n\n"):
                if paragraph.strip():
                    parts.append(f"<p>{_html_lines(paragraph.strip())}</p>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in block[1]) + "</ul>")
        elif kind == "table":
            header, rows = block[1], block[2]
            # The attributes repeat the style for renderers that ignore table CSS.
            parts.append('<table border="1" cellspacing="0" cellpadding="4" width="100%">')
            parts.append("<tr>" + "".join(f"<th>{esc(cell)}</th>" for cell in header) + "</tr>")
            parts += [
                "<tr>" + "".join(f"<td>{_html_lines(cell)}</td>" for cell in row) + "</tr>" for row in rows
            ]
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_lines(text: str) -> str:
    """Escaped text whose line breaks stay line breaks."""
    return "<br>".join(html.escape(line) for line in text.splitlines())

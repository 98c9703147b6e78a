"""The incident part of the contract: incidents, their timelines and post-mortems (pydantic)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field

from nexus_refserver.api.models import Page, Severity, Strict

IncidentStatus = Literal["triage", "investigating", "fixing", "monitoring", "resolved", "closed"]
TimelineKind = Literal["status", "severity", "role", "field", "alert", "action", "note", "custom"]
WrittenKind = Literal["note", "custom", "action"]

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _rfc3339_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string with an offset, like 2026-12-06T14:32:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def _date_text(value: object) -> object:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _distinct(values: list) -> list:  # type: ignore[type-arg]
    return list(dict.fromkeys(values))


# an RFC 3339 string (never a number), with an offset, held in UTC
Timestamp = Annotated[
    AwareDatetime, Field(strict=False), BeforeValidator(_rfc3339_text), AfterValidator(_in_utc)
]
Day = Annotated[date, Field(strict=False), BeforeValidator(_date_text)]
Email = Annotated[str, Field(min_length=1, max_length=200)]
ServiceId = Annotated[str, Field(min_length=1, max_length=100)]
AlertId = Annotated[int, Field(ge=1, le=2**31 - 1)]
EntryId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Services = Annotated[
    list[ServiceId],
    Field(max_length=50, description="Affected service ids (the catalogue's); repeats are dropped."),
    AfterValidator(_distinct),
]
LongText = Annotated[str, Field(max_length=20000)]


class Responder(Strict):
    email: Email
    role: str = Field(min_length=1, max_length=60, description='Free text, e.g. "communications", "ops".')


Responders = Annotated[
    list[Responder], Field(max_length=50, description="The full list; one entry per person.")
]


class Incident(BaseModel):
    id: int
    title: str
    severity: Severity
    status: IncidentStatus
    commander: str | None
    responders: list[Responder]
    services: list[str]
    alert_ids: list[int]
    summary: str
    impact_started_at: str | None
    detected_at: str | None
    acknowledged_at: str | None
    mitigated_at: str | None
    resolved_at: str | None
    closed_at: str | None
    created_by: str
    created_at: str
    updated_at: str
    version: int


class IncidentCreate(Strict):
    title: str = Field(min_length=1, max_length=300)
    severity: Severity
    summary: str = Field("", max_length=5000)
    commander: Email | None = None
    responders: Responders = Field(default_factory=list)
    services: Services = Field(default_factory=list)
    alert_ids: Annotated[list[AlertId], Field(max_length=100), AfterValidator(_distinct)] = Field(
        default_factory=list
    )
    impact_started_at: Timestamp | None = Field(
        None, description="Default: when the earliest linked alert started, else detected_at."
    )
    detected_at: Timestamp | None = Field(None, description="Default: now.")


class IncidentPatch(Strict):
    """Only the fields sent change; none of them may be null."""

    title: str = Field(None, min_length=1, max_length=300)  # type: ignore[assignment]
    severity: Severity = Field(None)  # type: ignore[assignment]
    status: IncidentStatus = Field(None)  # type: ignore[assignment]
    commander: Email = Field(None)  # type: ignore[assignment]
    summary: str = Field(None, max_length=5000)  # type: ignore[assignment]
    responders: Responders = Field(None)  # type: ignore[assignment]
    services: Services = Field(None)  # type: ignore[assignment]
    impact_started_at: Timestamp = Field(None)  # type: ignore[assignment]
    detected_at: Timestamp = Field(None)  # type: ignore[assignment]
    acknowledged_at: Timestamp = Field(None)  # type: ignore[assignment]
    mitigated_at: Timestamp = Field(None)  # type: ignore[assignment]
    resolved_at: Timestamp = Field(None)  # type: ignore[assignment]
    closed_at: Timestamp = Field(None)  # type: ignore[assignment]


class AlertLink(Strict):
    alert_id: AlertId


class TimelineEntry(BaseModel):
    id: int
    at: str = Field(description="When it happened.")
    kind: TimelineKind
    author: str
    text: str
    ref: str | None
    hidden: bool
    pinned: bool
    created_at: str = Field(description="When it was written.")
    edited_at: str | None = Field(description="When its text or time last changed.")


class TimelineEntryCreate(Strict):
    kind: WrittenKind
    text: str = Field(min_length=1, max_length=5000)
    ref: str | None = Field(None, max_length=200)
    at: Timestamp | None = Field(
        None, description="When it happened; default now. May be before the incident, not in the future."
    )


class TimelineEntryPatch(Strict):
    """Only the fields sent change. `text` and `at` only on note, custom and action entries."""

    text: str = Field(None, min_length=1, max_length=5000)  # type: ignore[assignment]
    at: Timestamp = Field(None)  # type: ignore[assignment]
    hidden: bool = Field(None)  # type: ignore[assignment]
    pinned: bool = Field(None)  # type: ignore[assignment]


class TimelineList(BaseModel):
    items: list[TimelineEntry]


class ActionItem(Strict):
    text: LongText
    owner: Email | None = None
    due: Day | None = Field(None, description="YYYY-MM-DD")
    done: bool = False


class PostMortemUpdate(Strict):
    """The whole document; fields left out are saved empty."""

    owner: Email | None = None
    summary: LongText = ""
    impact: LongText = ""
    root_cause: LongText = ""
    went_well: LongText = ""
    went_badly: LongText = ""
    action_items: list[ActionItem] = Field(default_factory=list, max_length=200)
    timeline_entry_ids: Annotated[list[EntryId], Field(max_length=2000), AfterValidator(_distinct)] = Field(
        default_factory=list, description="Entries of this incident's timeline the post-mortem cites."
    )


class PostMortemActionItem(BaseModel):
    text: str
    owner: str | None
    due: str | None
    done: bool


class PostMortem(BaseModel):
    incident_id: int
    owner: str | None
    summary: str
    impact: str
    root_cause: str
    went_well: str
    went_badly: str
    action_items: list[PostMortemActionItem]
    timeline_entry_ids: list[int]
    version: int = Field(description="0 before the first save.")
    updated_by: str | None
    updated_at: str | None


class IncidentPage(Page[Incident]):
    pass

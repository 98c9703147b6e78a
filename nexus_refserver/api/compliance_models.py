"""Request and response bodies of the compliance endpoints (pydantic), the source of their schemas in
nexus-api.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DsarKind = Literal["access", "deletion", "rectification", "portability"]
DsarStatus = Literal["open", "extended", "completed", "rejected"]
DsarAction = Literal["extend", "complete", "reject"]
ConsentPurpose = Literal["marketing", "analytics", "personalisation"]

_TIME = "RFC 3339 UTC."


class DataSubjectRequest(BaseModel):
    """A GDPR data-subject request: answer within 30 days of receipt, or 90 when extended."""

    id: int
    user_id: int
    user: str = Field(description="The requester's e-mail.")
    kind: DsarKind
    received_at: str = Field(description=_TIME)
    status: DsarStatus
    extended_at: str | None = Field(description="When the deadline was extended by 60 days; " + _TIME)
    completed_at: str | None = Field(description="When it was completed or rejected; " + _TIME)
    note: str | None = Field(description="The reason given with the latest action on it.")
    version: int = Field(description='Send `"v<version>"` as If-Match to act on it.')


class DsarList(BaseModel):
    requests: list[DataSubjectRequest] = Field(description="Every request, newest first.")


class DsarActionRequest(BaseModel):
    action: DsarAction = Field(
        description="`extend`: once, while open and within 30 days of receipt; `complete` and `reject`: "
        "while open or extended."
    )
    reason: str = Field(min_length=1, max_length=2000, description="Why; stored as the request's note.")


class PurposeConsent(BaseModel):
    purpose: ConsentPurpose
    granted: int = Field(description="Users whose latest choice for the purpose grants consent.")
    withdrawn: int = Field(description="Users whose latest choice withholds it (declined or withdrawn).")
    rate: float | None = Field(description="granted / (granted + withdrawn), 4 decimals; null without users.")


class ConsentDay(BaseModel):
    day: str = Field(description="A UTC day, YYYY-MM-DD.")
    granted: int = Field(description="Choices that day granting a consent.")
    withdrawn: int = Field(description="Choices that day withholding one.")


class ConsentSummary(BaseModel):
    purposes: list[PurposeConsent] = Field(description="marketing, analytics, personalisation.")
    changes_30d: list[ConsentDay] = Field(description="The last 30 UTC days, today included, oldest first.")


class RetentionCheck(BaseModel):
    database: Literal["users", "workstation", "marketplace", "nexus"]
    table: str
    column: str = Field(description="The time column the rule applies to.")
    keep_days: int = Field(description="Rows older than this many days must be deleted.")
    older_rows: int = Field(description="Rows older than `keep_days` now: what the policy says must go.")
    oldest: str | None = Field(description="The oldest time in the column, " + _TIME + " Null when empty.")


class RetentionReport(BaseModel):
    checks: list[RetentionCheck]


class FlagReason(BaseModel):
    reason: str
    count: int


class ModeratedKind(BaseModel):
    kind: Literal["product", "content"]
    flagged_waiting: int = Field(description="Flagged items still waiting for a moderator's decision.")
    oldest_flagged_created_at: str | None = Field(
        description="When the oldest of them was created, " + _TIME + " Null when none waits."
    )
    reasons: list[FlagReason] = Field(description="The five commonest flag reasons of flagged items.")
    by_status: dict[str, int] = Field(description="Every item of the kind by status.")


class ModerationDecisions(BaseModel):
    kind: str
    action: str = Field(description="The audited action, e.g. `product.reject`.")
    count: int


class ModerationSummary(BaseModel):
    generated_at: str
    kinds: list[ModeratedKind]
    decisions_30d: list[ModerationDecisions] = Field(
        description="The moderators' decisions of the last 30 days from the audit log, by kind and action."
    )

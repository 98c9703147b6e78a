"""The admin workflow's pure parts: who may change what, when an action needs the password again, and what
the workflow (services/admin_workflow.py) and the admin runtime hand back to the panes.

RBAC: admins act on everything; moderators read users and vendors and act on products, content and
product-subject links (the API's products:write and content:write). Only admins
read the audit trail (the API's audit:read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nexus_console.domain.admin import ActionSpec, EntityRef, EntityType
from nexus_console.domain.lookups import Row
from nexus_console.domain.outbox_model import OutboxEntry, OutboxState
from nexus_console.domain.replica_reads import EstimatedCount, Page, ReplicaResult

ADMIN_ROLES = frozenset({"admin", "moderator"})  # the lookups and the action queue
AUDIT_ROLES = frozenset({"admin"})  # the audit trail
STEP_UP_TRIES = 3  # password attempts before a step-up fails
WRONG_PASSWORD = "Wrong password."
STEP_UP_FAILED = "step-up re-authentication failed"


MODERATED = frozenset({EntityType.PRODUCT, EntityType.CONTENT, EntityType.SUBJECT_LINK})


def may_write(roles: Iterable[str], entity_type: EntityType) -> bool:
    """Admins act on every entity; moderators on products, content and subject links."""
    roles = frozenset(roles)
    return "admin" in roles or ("moderator" in roles and entity_type in MODERATED)


def write_refusal(entity_type: EntityType) -> str:
    return f"your role may not change {entity_type.value.replace('_', ' ')}s"


def needs_step_up(spec: ActionSpec) -> bool:
    """A ban or a merge asks for the password again (and so does every bulk action)."""
    return spec.name in ("ban", "merge")


def subject_of(entity: EntityRef, row: Mapping[str, Any] | None) -> str:
    """`user 42 (ann@example.com)`: what an action is about, for its dialogs."""
    row = row or {}
    label = row.get("email") or row.get("name") or row.get("title")
    return f"{entity.type.value} {entity.id}" + (f" ({label})" if label else "")


class ActionStatus(StrEnum):
    QUEUED = "queued"
    DECLINED = "declined"  # the admin cancelled a dialog (dry run, password)
    STEP_UP_FAILED = "step_up_failed"  # the password was wrong every time
    REFUSED = "refused"  # the entity's current state says no (gone, or the action no longer applies)


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What became of an action (or a bulk action) the admin asked for."""

    status: ActionStatus
    entries: tuple[OutboxEntry, ...] = ()  # what was queued
    rows: Mapping[str, Row] = field(default_factory=dict)  # current rows re-read on the way (show them)
    message: str | None = None  # why it was refused or failed

    @property
    def queued(self) -> bool:
        return self.status is ActionStatus.QUEUED


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The first page of a search, its estimated count, and the search itself (to ask for more pages)."""

    entity_type: EntityType
    search: Any  # UserSearch | VendorSearch | ProductSearch
    page: ReplicaResult[Page[Row]]
    count: ReplicaResult[EstimatedCount]


@dataclass(frozen=True, slots=True)
class LoadedDetail:
    """One entity's detail (UserDetail, VendorDetail or ProductDetail) and its main row's replica stamp."""

    entity_type: EntityType
    entity_id: str
    detail: Any
    stamp: ReplicaResult[Row | None]


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Rows the replica now shows at (or past) the version the API applied for them."""

    rows: Mapping[EntityRef, Row]


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """Every outbox entry in queue order, the count per state, and whether the API is unreachable."""

    entries: list[OutboxEntry]
    counts: Mapping[OutboxState, int]
    offline: bool

    def describe(self) -> str:
        shown = [f"{n} {state.value}" for state, n in self.counts.items() if n]
        text = " · ".join(shown) or "No queued actions."
        if self.offline:
            text = "API unreachable: actions wait here (editable until sent) · " + text
        return text


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of GET /audit."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    estimated_total: int | None

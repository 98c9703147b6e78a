"""The offline action queue as pure data: entry states, the allowed transitions, and how a server answer
changes an entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nexus_console.domain.admin import INCIDENT_ENTRY, ActionRequest, EntityRef, EntityType


class OutboxState(StrEnum):
    QUEUED = "queued"  # waiting to be sent (also: sent once, answer unknown, to be sent again with its key)
    SENDING = "sending"  # handed to the sender; after a crash it is sent again with the same key
    APPLIED = "applied"
    CONFLICT = "conflict"  # 409/412: the admin decides: apply again on the new version, or discard
    FAILED = "failed"  # the server refused it for good (400, 403, 404, 422, 428)
    CANCELLED = "cancelled"  # cancelled before it was sent, or discarded after a conflict or failure


TERMINAL_STATES = frozenset({OutboxState.APPLIED, OutboxState.CANCELLED})
# A head entry in one of these states holds back the later entries of its entity, and only of its entity.
BLOCKING_STATES = frozenset({OutboxState.SENDING, OutboxState.CONFLICT, OutboxState.FAILED})
# Reason edits and cancellation are allowed only while nothing has been sent under the entry's key.
EDITABLE_STATES = frozenset({OutboxState.QUEUED})


class OutboxError(ValueError):
    """An operation the entry's state does not allow (editing a sent action, resolving a non-conflict)."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int  # also the order: per entity, entries are sent in id order
    entity: EntityRef
    action: str
    reason: str | None
    params: Mapping[str, Any]
    idempotency_key: str
    # the If-Match version; None: the version the previous entry of the same entity produces
    expected_version: int | None
    state: OutboxState
    attempts: int
    created_at: float
    updated_at: float
    next_attempt_at: float | None = None
    last_error: str | None = None
    http_status: int | None = None
    applied_version: int | None = None
    # the entity as the server has it now (after a conflict), for the admin to compare
    server_state: Mapping[str, Any] | None = None
    ever_sent: bool = False

    @property
    def request(self) -> ActionRequest:
        return ActionRequest(self.entity, self.action, self.reason, self.params, self.expected_version)

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES and not self.ever_sent

    def describe(self) -> str:
        text = f"{self.action} {self.entity}"
        if self.state is OutboxState.CONFLICT and self.server_state is not None:
            return f"{text}: conflict, the server has version {self.server_state.get('version')}"
        if self.state is OutboxState.FAILED:
            return f"{text}: failed ({self.http_status}): {self.last_error}"
        return f"{text}: {self.state.value}"


class SendOutcome(StrEnum):
    APPLIED = "applied"
    CONFLICT = "conflict"
    FAILED = "failed"
    RETRY = "retry"  # try again later with the same key: network error, 5xx, 429, timeout
    UNAUTHORIZED = "unauthorized"  # the token was refused even after a refresh: stop sending


@dataclass(frozen=True, slots=True)
class SendResult:
    entry_id: int
    outcome: SendOutcome
    http_status: int | None = None
    error: str | None = None
    applied_version: int | None = None
    server_state: Mapping[str, Any] | None = None
    replayed: bool = False  # the server answered from its idempotency record
    entity: EntityRef | None = None


PERMANENT_FAILURE_STATUSES = frozenset({400, 403, 404, 405, 410, 413, 415, 422, 428})
CONFLICT_STATUSES = frozenset({409, 412})


def classify_status(status: int) -> SendOutcome:
    """How the sender treats an HTTP status answered to a PATCH."""
    if 200 <= status < 300:
        return SendOutcome.APPLIED
    if status in CONFLICT_STATUSES:
        return SendOutcome.CONFLICT
    if status == 401:
        return SendOutcome.UNAUTHORIZED
    if status in PERMANENT_FAILURE_STATUSES:
        return SendOutcome.FAILED
    return SendOutcome.RETRY


def entity_ref(entity_type: str, entity_id: str) -> EntityRef:
    return EntityRef(EntityType(entity_type), str(entity_id))


@dataclass(frozen=True, slots=True)
class HttpCall:
    """The request that applies an outbox entry, and where the entity's current state is read."""

    method: str
    path: str
    body: Mapping[str, Any]
    state_path: str


def http_call(entry: OutboxEntry) -> HttpCall:
    """An admin action is a PATCH of the entity; an incident change a PATCH of the incident; a timeline
    entry a POST to the incident's timeline."""
    request = entry.request
    if entry.entity.type is EntityType.INCIDENT:
        incident = f"/incidents/{entry.entity.id}"
        if entry.action == INCIDENT_ENTRY:
            return HttpCall("POST", f"{incident}/timeline", request.body(), incident)
        return HttpCall("PATCH", incident, request.body(), incident)
    path = f"/admin/{entry.entity.type.collection}/{entry.entity.id}"
    return HttpCall("PATCH", path, request.body(), path)

"""Admin actions as pure data: entities, the action catalogue, validation and dry runs (what lookups read
and the replica stamp they carry are in `replica_reads`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from nexus_console.domain.admin_params import ParamError, checked_params

T = TypeVar("T")


class EntityType(StrEnum):
    USER = "user"
    VENDOR = "vendor"
    PRODUCT = "product"
    CONTENT = "content"  # workstation content: hide, restore, remove, clear a flag
    SUBJECT_LINK = "subject_link"  # a product linked to a subject detected in content
    # Not an admin lookup: the changes and timeline entries a responder queues for an incident (they wait
    # in the same kind of durable outbox, sent in order per incident).
    INCIDENT = "incident"

    @property
    def collection(self) -> str:
        """The path segment of the API: /admin/users, /admin/subject-links, /incidents, ..."""
        return f"{self.value.replace('_', '-')}s"


@dataclass(frozen=True, slots=True)
class EntityRef:
    type: EntityType
    id: str

    def __str__(self) -> str:
        return f"{self.type.value}:{self.id}"


class ActionError(ValueError):
    """An action request that must not be queued (unknown action, missing reason, bad parameter)."""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    entity_type: EntityType
    name: str
    label: str
    destructive: bool
    # statuses from which the action changes something; None means every status
    applies_from: frozenset[str] | None
    requires_reason: bool
    # the field of the entity this action changes when it is not `status`
    changes_field: str = "status"
    # an addition (a timeline note) that changes nothing anyone else wrote: sent with the entity's version
    # read just before, so it never conflicts; every other action sends the version the user saw
    sends_current_version: bool = False
    # asks for more than a reason (a platform and role, the account to merge into, a commission): one
    # entity at a time, never in a bulk action
    takes_params: bool = False

    @property
    def bulk(self) -> bool:
        return not self.takes_params and self.entity_type is not EntityType.INCIDENT

    def applies_to(self, row: Mapping[str, Any]) -> bool:
        """Whether the server would apply this to the row as the replica shows it (else it answers 409)."""
        if self.entity_type is EntityType.USER and self.name == "verify_email" and row.get("email_verified"):
            return False
        if (
            self.entity_type is EntityType.USER
            and self.name == "revoke_access"
            and not row.get("platform_access")
        ):
            return False
        if self.name == "clear_flag" and not row.get("flagged"):
            return False
        if (
            self.entity_type is EntityType.PRODUCT
            and self.name == "approve"
            and row.get("status") == "approved"
        ):
            return bool(row.get("flagged"))  # approving an approved product only clears its flag
        if self.applies_from is None:
            return True
        return str(row.get("status")) in self.applies_from


def _spec(
    entity_type: EntityType,
    name: str,
    label: str,
    applies_from: Iterable[str] | None,
    *,
    destructive: bool = False,
    requires_reason: bool | None = None,
    changes_field: str = "status",
    sends_current_version: bool = False,
    takes_params: bool = False,
) -> ActionSpec:
    return ActionSpec(
        entity_type=entity_type,
        name=name,
        label=label,
        destructive=destructive,
        applies_from=None if applies_from is None else frozenset(applies_from),
        # The admin API audits every action with its reason and refuses an empty one (422), so every
        # action needs one; `destructive` marks those that also need a confirmation step.
        requires_reason=True if requires_reason is None else requires_reason,
        changes_field=changes_field,
        sends_current_version=sends_current_version,
        takes_params=takes_params,
    )


_U, _V, _P, _I = EntityType.USER, EntityType.VENDOR, EntityType.PRODUCT, EntityType.INCIDENT
_C, _L = EntityType.CONTENT, EntityType.SUBJECT_LINK

INCIDENT_CHANGE = "change"  # PATCH /incidents/{id}: status, severity, commander, responders, ...
INCIDENT_ENTRY = "entry"  # POST /incidents/{id}/timeline: a note, an action taken or a custom event

# Statuses follow the reference schema: users active|suspended|banned|merged; vendors
# pending|approved|rejected|suspended|banned; products pending|approved|rejected|removed; content
# published|hidden|removed; subject links verified|pending|rejected|removed.
ACTIONS: dict[tuple[EntityType, str], ActionSpec] = {
    (s.entity_type, s.name): s
    for s in (
        _spec(_U, "suspend", "Suspend", {"active"}, destructive=True),
        _spec(_U, "unsuspend", "Unsuspend", {"suspended"}),
        _spec(_U, "ban", "Ban", {"active", "suspended"}, destructive=True),
        _spec(_U, "reset_password", "Reset password", {"active", "suspended"}, changes_field="password"),
        _spec(_U, "verify_email", "Verify email", {"active", "suspended"}, changes_field="email_verified"),
        _spec(
            _U,
            "grant_access",
            "Grant access",
            {"active", "suspended"},
            changes_field="platform_access",
            takes_params=True,
        ),
        _spec(
            _U,
            "revoke_access",
            "Revoke access",
            {"active", "suspended", "banned"},
            changes_field="platform_access",
            takes_params=True,
        ),
        _spec(_U, "merge", "Merge into…", {"active", "suspended"}, destructive=True, takes_params=True),
        _spec(_V, "approve", "Approve", {"pending"}),
        _spec(_V, "reject", "Reject", {"pending"}, destructive=True, takes_params=True),
        _spec(_V, "suspend", "Suspend", {"approved"}, destructive=True),
        _spec(_V, "unsuspend", "Unsuspend", {"suspended"}),
        _spec(_V, "ban", "Ban", {"pending", "approved", "suspended", "rejected"}, destructive=True),
        _spec(
            _V,
            "set_commission",
            "Adjust commission",
            {"pending", "approved", "suspended"},
            changes_field="commission_pct",
            takes_params=True,
        ),
        _spec(_P, "approve", "Approve", {"pending", "approved"}),
        _spec(_P, "reject", "Reject", {"pending"}, destructive=True),
        _spec(_P, "remove", "Remove", {"pending", "approved"}, destructive=True),
        _spec(_C, "hide", "Hide", {"published"}),
        _spec(_C, "unhide", "Restore", {"hidden"}),
        _spec(_C, "remove", "Remove", {"published", "hidden"}, destructive=True),
        _spec(_C, "clear_flag", "Clear flag", {"published", "hidden"}, changes_field="flagged"),
        _spec(_L, "approve", "Approve link", {"pending"}),
        _spec(_L, "reject", "Reject link", {"pending"}, destructive=True),
        _spec(_L, "remove", "Remove link", {"verified", "pending"}, destructive=True),
        # incidents: `params` is the request body (see domain.outbox_model.http_call)
        _spec(_I, INCIDENT_CHANGE, "Change", None, requires_reason=False),
        _spec(
            _I, INCIDENT_ENTRY, "Add to the timeline", None, requires_reason=False, sends_current_version=True
        ),
    )
}

MAX_REASON_LENGTH = 1000


def actions_for(entity_type: EntityType) -> list[ActionSpec]:
    return [spec for (kind, _), spec in ACTIONS.items() if kind == entity_type]


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One admin action on one entity, as the admin asked for it, before it is queued."""

    entity: EntityRef
    action: str
    reason: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    # the entity version the admin saw (sent as If-Match); None: whatever the previous queued action produces
    expected_version: int | None = None

    @property
    def spec(self) -> ActionSpec:
        return spec_for(self.entity.type, self.action)

    def body(self) -> dict[str, Any]:
        """The request body: the admin API's PATCH {action, reason, ...}; for an incident, `params`."""
        if self.entity.type is EntityType.INCIDENT:
            return dict(self.params)
        body: dict[str, Any] = {"action": self.action, "reason": self.reason or ""}
        body.update(self.params)
        return body


def spec_for(entity_type: EntityType, action: str) -> ActionSpec:
    try:
        return ACTIONS[(entity_type, action)]
    except KeyError:
        raise ActionError(f"{entity_type.value} has no action {action!r}") from None


def normalise_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = " ".join(reason.split())
    return reason or None


def validate_action(request: ActionRequest) -> ActionRequest:
    """Return the request with its reason normalised, or raise ActionError saying what is wrong."""
    spec = spec_for(request.entity.type, request.action)
    reason = normalise_reason(request.reason)
    if spec.requires_reason and not reason:
        raise ActionError(f"{spec.label} of {request.entity} needs a reason")
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise ActionError(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    params = dict(request.params)
    if spec.entity_type is EntityType.INCIDENT:
        if not params:
            raise ActionError(f"{spec.label} of {request.entity} has nothing to send")
    else:
        try:
            params = checked_params(spec.entity_type.value, spec.name, request.entity.id, params)
        except ParamError as exc:
            raise ActionError(str(exc)) from None
    if request.expected_version is not None and request.expected_version < 1:
        raise ActionError("expected_version must be a positive entity version")
    return ActionRequest(request.entity, request.action, reason, params, request.expected_version)


# --- bulk actions: a dry run first ---------------------------------------------------------------------


class DryRunOutcome(StrEnum):
    WILL_APPLY = "will_apply"
    NO_CHANGE = "no_change"  # the transition does not apply to the current state (the server would 409)
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class DryRunItem:
    entity: EntityRef
    outcome: DryRunOutcome
    current_status: str | None
    version: int | None


@dataclass(frozen=True, slots=True)
class DryRunSummary:
    """What a bulk action would do, computed from the replica before anything is queued."""

    entity_type: EntityType
    action: str
    reason: str | None
    params: Mapping[str, Any]
    items: tuple[DryRunItem, ...]

    def count(self, outcome: DryRunOutcome) -> int:
        return sum(1 for item in self.items if item.outcome is outcome)

    def requests(self) -> list[ActionRequest]:
        """The actions to queue: one per entity that will change, each pinned to the version seen."""
        return [
            ActionRequest(item.entity, self.action, self.reason, self.params, item.version)
            for item in self.items
            if item.outcome is DryRunOutcome.WILL_APPLY
        ]

    def describe(self) -> str:
        spec = spec_for(self.entity_type, self.action)
        parts = [f"{spec.label}: {self.count(DryRunOutcome.WILL_APPLY)} will change"]
        if no_change := self.count(DryRunOutcome.NO_CHANGE):
            parts.append(f"{no_change} already in a state where it does not apply")
        if missing := self.count(DryRunOutcome.NOT_FOUND):
            parts.append(f"{missing} not found")
        return ", ".join(parts)


def dry_run(
    entity_type: EntityType,
    action: str,
    reason: str | None,
    ids: Iterable[str],
    rows_by_id: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any] | None = None,
) -> DryRunSummary:
    """Classify each id against the rows the replica returned; validates the action once for all."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    template = validate_action(
        ActionRequest(EntityRef(entity_type, ids[0] if ids else "0"), action, reason, params or {})
    )
    spec = template.spec
    items = []
    for entity_id in ids:
        row = rows_by_id.get(entity_id)
        ref = EntityRef(entity_type, entity_id)
        if row is None:
            items.append(DryRunItem(ref, DryRunOutcome.NOT_FOUND, None, None))
            continue
        outcome = DryRunOutcome.WILL_APPLY if spec.applies_to(row) else DryRunOutcome.NO_CHANGE
        items.append(DryRunItem(ref, outcome, str(row.get("status")), int(row["version"])))
    return DryRunSummary(entity_type, action, template.reason, template.params, tuple(items))

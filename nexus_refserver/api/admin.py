"""Cross-platform administration: users, vendors and products; keyset lists, versioned audited PATCHes.

Content and product-subject-link moderation (same machinery, other tables) is in admin_moderation.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine, Table, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from nexus_refserver.api.http import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    Limit,
    context,
    decode_cursor,
    encode_cursor,
    json_response,
    like_escape,
    problems,
    read_route,
    require,
    version_etag,
)
from nexus_refserver.api.models import (
    AdminProduct,
    AdminUser,
    AdminVendor,
    ProductActionRequest,
    ProductPage,
    ProductStatus,
    UserActionRequest,
    UserPage,
    UserStatus,
    VendorActionRequest,
    VendorPage,
    VendorStatus,
)
from nexus_refserver.auth import Principal
from nexus_refserver.databases import rfc3339
from nexus_refserver.entity_writes import ChangeRequest, EntityTable, FollowUp
from nexus_refserver.idempotency import request_fingerprint
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission, access_note
from nexus_refserver.schema import products, users, vendors
from nexus_refserver.user_accounts import (
    PLATFORM_ROLES,
    check_merge_target,
    merge_follow_up,
    platform_access,
    with_access,
)

router = APIRouter(prefix="/admin", tags=["admin"])

# Counting past this many matches costs more than an estimate is worth.
COUNT_CAP = 100_000


@dataclass(frozen=True)
class Transition:
    allowed_from: tuple[str, ...]
    # the column changes, computed from the current row and the request
    changes: Callable[[Any, Any], dict[str, Any]]
    # whether it changes anything for this row and request (beyond the status check)
    applies: Callable[[Any, Any], bool] | None = None


def to_status(status: str) -> Callable[[Any, Any], dict[str, Any]]:
    return lambda _row, _body: {"status": status}


USER_TRANSITIONS: dict[str, Transition] = {
    "suspend": Transition(("active",), to_status("suspended")),
    "unsuspend": Transition(("suspended",), to_status("active")),
    "ban": Transition(("active", "suspended"), to_status("banned")),
    "reset_password": Transition(
        ("active", "suspended"), lambda _row, _body: {"password_reset_at": datetime.now(UTC)}
    ),
    "verify_email": Transition(
        ("active", "suspended"),
        lambda _row, _body: {"email_verified": True},
        applies=lambda row, _body: not row.email_verified,
    ),
    "grant_access": Transition(
        ("active", "suspended"),
        lambda row, body: with_access(row, body.platform, body.role),
        applies=lambda row, body: platform_access(row).get(body.platform) != body.role,
    ),
    "revoke_access": Transition(
        ("active", "suspended", "banned"),
        lambda row, body: with_access(row, body.platform, None),
        applies=lambda row, body: body.platform in platform_access(row),
    ),
    # the duplicate's sync sessions and searches move to the target in the same transaction (merge_follow_up)
    "merge": Transition(
        ("active", "suspended"), lambda _row, body: {"status": "merged", "merged_into": body.into_user_id}
    ),
}
VENDOR_TRANSITIONS: dict[str, Transition] = {
    "approve": Transition(
        ("pending",), lambda _row, body: {"status": "approved", "review_feedback": body.feedback}
    ),
    "reject": Transition(
        ("pending",), lambda _row, body: {"status": "rejected", "review_feedback": body.feedback}
    ),
    "suspend": Transition(("approved",), to_status("suspended")),
    "unsuspend": Transition(("suspended",), to_status("approved")),
    "ban": Transition(("pending", "approved", "rejected", "suspended"), to_status("banned")),
    "set_commission": Transition(
        ("pending", "approved", "suspended"), lambda _row, body: {"commission_pct": body.commission_pct}
    ),
}
PRODUCT_TRANSITIONS: dict[str, Transition] = {
    # approving a flagged product clears the flag
    "approve": Transition(
        ("pending", "approved"),
        lambda _row, _body: {"status": "approved", "flagged": False, "flag_reason": None},
        applies=lambda row, _body: row.status == "pending" or row.flagged,
    ),
    "reject": Transition(("pending",), to_status("rejected")),
    "remove": Transition(("pending", "approved"), to_status("removed")),
}


@dataclass(frozen=True)
class EntityKind:
    name: str
    table: Table
    database: str
    transitions: dict[str, Transition]

    def engine(self, request: Request) -> Engine:
        return context(request).dbs.engine(self.database)


USER = EntityKind("user", users, "users", USER_TRANSITIONS)
VENDOR = EntityKind("vendor", vendors, "marketplace", VENDOR_TRANSITIONS)
PRODUCT = EntityKind("product", products, "marketplace", PRODUCT_TRANSITIONS)
# admin_moderation adds content and subject links
ENTITY_KINDS: list[EntityKind] = [USER, VENDOR, PRODUCT]


def entity_tables(dbs: Any) -> dict[str, EntityTable]:
    """What the entity writer may change: each kind's table and the engine of its database."""
    return {kind.name: EntityTable(dbs.engine(kind.database), kind.table) for kind in ENTITY_KINDS}


def _entity_json(row: Any) -> dict[str, Any]:
    return {
        key: (rfc3339(value) if isinstance(value, datetime) else value) for key, value in row._mapping.items()
    }


def list_page(
    request: Request,
    kind: EntityKind,
    conditions: list[ColumnElement[bool]],
    cursor: str | None,
    limit: int,
) -> Response:
    table = kind.table
    after = decode_cursor(cursor)
    where = and_(True, *conditions)
    query = select(table).where(where)
    if after is not None:
        query = query.where(table.c.id > after)
    with kind.engine(request).connect() as conn:
        rows = conn.execute(query.order_by(table.c.id).limit(limit + 1)).all()
        capped = select(table.c.id).where(where).limit(COUNT_CAP).subquery()
        total = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return json_response(
        request,
        {"items": [_entity_json(row) for row in page], "next_cursor": next_cursor, "estimated_total": total},
    )


def get_entity(request: Request, kind: EntityKind, entity_id: int) -> Response:
    with kind.engine(request).connect() as conn:
        row = conn.execute(select(kind.table).where(kind.table.c.id == entity_id)).first()
    if row is None:
        raise ProblemError(404, f"no {kind.name} {entity_id}")
    return json_response(request, _entity_json(row), etag=version_etag(row.version))


async def patch_entity(
    request: Request,
    kind: EntityKind,
    entity_id: int,
    body: Any,
    principal: Principal,
    if_match: str | None,
    idempotency_key: str,
    follow_up: FollowUp | None = None,
) -> Response:
    transition = kind.transitions[body.action]

    def plan(row: Any) -> dict[str, Any]:
        status = row.status
        applies = transition.applies is None or transition.applies(row, body)
        if status not in transition.allowed_from or not applies:
            raise ProblemError(
                409,
                f"{body.action} does not apply to {kind.name} {entity_id} (status {status})",
                title="Transition no longer applies",
            )
        return transition.changes(row, body)

    change = ChangeRequest(
        actor=principal.email,
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        entity_type=kind.name,
        entity_id=entity_id,
        action=f"{kind.name}.{body.action}",
        reason=body.reason,
        if_match=if_match,
    )
    outcome = await request.app.state.entity_writer.apply(change, plan, follow_up)
    stored = outcome.response
    headers = {**stored.headers, **({"Idempotent-Replayed": "true"} if outcome.replayed else {})}
    return Response(stored.body, status_code=stored.status_code, headers=headers)


def write_route(permission: Permission, summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": access_note(permission)
        + " Needs If-Match and Idempotency-Key. The change and its reason are written to the audit trail.",
        "responses": problems(400, 401, 403, 404, 409, 412, 422, 428),
    }


EntityId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SearchText = Annotated[
    str | None, Query(max_length=200, description="Matches id, email prefix, name substring.")
]


# --- users --------------------------------------------------------------------------------------------------


@router.get("/users", response_model=UserPage, **read_route(Permission.USERS_READ, "List users"))
def list_users(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.USERS_READ))],
    if_none_match: IfNoneMatch = None,
    q: SearchText = None,
    status: UserStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(users.c.status == status)
    if q and q.strip():
        text = q.strip()
        matches = [
            users.c.email.ilike(like_escape(text.lower()) + "%", escape="\\"),
            users.c.name.ilike("%" + like_escape(text) + "%", escape="\\"),
        ]
        if text.isdigit() and len(text) < 10:
            matches.append(users.c.id == int(text))
        conditions.append(or_(*matches))
    return list_page(request, USER, conditions, cursor, limit)


@router.get(
    "/users/{user_id}",
    response_model=AdminUser,
    **read_route(Permission.USERS_READ, "Get a user", not_found=True),
)
def get_user(
    request: Request,
    user_id: EntityId,
    _: Annotated[Principal, Depends(require(Permission.USERS_READ))],
    if_none_match: IfNoneMatch = None,
) -> Response:
    return get_entity(request, USER, user_id)


@router.patch(
    "/users/{user_id}", response_model=AdminUser, **write_route(Permission.USERS_WRITE, "Act on a user")
)
async def patch_user(
    request: Request,
    user_id: EntityId,
    body: UserActionRequest,
    principal: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    follow_up = None
    if body.action in ("grant_access", "revoke_access") and body.platform is None:
        raise ProblemError(422, f"{body.action} needs platform", title="Unprocessable Content")
    if body.action == "grant_access" and body.role not in PLATFORM_ROLES[str(body.platform)]:
        roles = ", ".join(PLATFORM_ROLES[str(body.platform)])
        raise ProblemError(
            422, f"role on {body.platform} must be one of {roles}", title="Unprocessable Content"
        )
    if body.action == "merge":
        check_merge_target(USER.engine(request), user_id, body.into_user_id)
        follow_up = merge_follow_up(user_id, int(body.into_user_id))
    return await patch_entity(request, USER, user_id, body, principal, if_match, idempotency_key, follow_up)


# --- vendors ------------------------------------------------------------------------------------------------


@router.get("/vendors", response_model=VendorPage, **read_route(Permission.VENDORS_READ, "List vendors"))
def list_vendors(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.VENDORS_READ))],
    if_none_match: IfNoneMatch = None,
    q: Annotated[str | None, Query(max_length=200, description="Matches id or name substring.")] = None,
    status: VendorStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(vendors.c.status == status)
    if q and q.strip():
        text = q.strip()
        matches = [vendors.c.name.ilike("%" + like_escape(text) + "%", escape="\\")]
        if text.isdigit() and len(text) < 10:
            matches.append(vendors.c.id == int(text))
        conditions.append(or_(*matches))
    return list_page(request, VENDOR, conditions, cursor, limit)


@router.get(
    "/vendors/{vendor_id}",
    response_model=AdminVendor,
    **read_route(Permission.VENDORS_READ, "Get a vendor", not_found=True),
)
def get_vendor(
    request: Request,
    vendor_id: EntityId,
    _: Annotated[Principal, Depends(require(Permission.VENDORS_READ))],
    if_none_match: IfNoneMatch = None,
) -> Response:
    return get_entity(request, VENDOR, vendor_id)


@router.patch(
    "/vendors/{vendor_id}",
    response_model=AdminVendor,
    **write_route(Permission.VENDORS_WRITE, "Act on a vendor"),
)
async def patch_vendor(
    request: Request,
    vendor_id: EntityId,
    body: VendorActionRequest,
    principal: Annotated[Principal, Depends(require(Permission.VENDORS_WRITE))],
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    if body.action == "set_commission" and body.commission_pct is None:
        raise ProblemError(422, "set_commission needs commission_pct", title="Unprocessable Content")
    if body.action == "reject" and not (body.feedback or "").strip():
        raise ProblemError(422, "reject needs feedback for the vendor", title="Unprocessable Content")
    return await patch_entity(request, VENDOR, vendor_id, body, principal, if_match, idempotency_key)


# --- products -----------------------------------------------------------------------------------------------


@router.get("/products", response_model=ProductPage, **read_route(Permission.PRODUCTS_READ, "List products"))
def list_products(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.PRODUCTS_READ))],
    if_none_match: IfNoneMatch = None,
    queue: Annotated[
        Literal["flagged", "pending"] | None,
        Query(description="flagged: products flagged for review; pending: awaiting approval."),
    ] = None,
    status: ProductStatus | None = None,
    vendor_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    conditions: list[ColumnElement[bool]] = []
    if queue == "flagged":
        conditions.append(and_(products.c.flagged.is_(True), products.c.status != "removed"))
    elif queue == "pending":
        conditions.append(products.c.status == "pending")
    if status:
        conditions.append(products.c.status == status)
    if vendor_id is not None:
        conditions.append(products.c.vendor_id == vendor_id)
    return list_page(request, PRODUCT, conditions, cursor, limit)


@router.get(
    "/products/{product_id}",
    response_model=AdminProduct,
    **read_route(Permission.PRODUCTS_READ, "Get a product", not_found=True),
)
def get_product(
    request: Request,
    product_id: EntityId,
    _: Annotated[Principal, Depends(require(Permission.PRODUCTS_READ))],
    if_none_match: IfNoneMatch = None,
) -> Response:
    return get_entity(request, PRODUCT, product_id)


@router.patch(
    "/products/{product_id}",
    response_model=AdminProduct,
    **write_route(Permission.PRODUCTS_WRITE, "Act on a product"),
)
async def patch_product(
    request: Request,
    product_id: EntityId,
    body: ProductActionRequest,
    principal: Annotated[Principal, Depends(require(Permission.PRODUCTS_WRITE))],
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    return await patch_entity(request, PRODUCT, product_id, body, principal, if_match, idempotency_key)

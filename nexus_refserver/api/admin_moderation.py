"""Content and product-subject-link moderation (seed 000's Content Management): flagged content hidden,
restored or removed; subject links a vendor or the detector made approved, rejected or removed. Same
keyset lists and versioned, audited PATCHes as the other admin entities (admin.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from nexus_refserver.api.admin import (
    ENTITY_KINDS,
    EntityId,
    EntityKind,
    Transition,
    get_entity,
    list_page,
    patch_entity,
    to_status,
    write_route,
)
from nexus_refserver.api.http import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    Limit,
    like_escape,
    read_route,
    require,
)
from nexus_refserver.api.models import (
    AdminContent,
    AdminSubjectLink,
    ContentActionRequest,
    ContentPage,
    ContentStatus,
    SubjectLinkActionRequest,
    SubjectLinkPage,
    SubjectLinkStatus,
)
from nexus_refserver.auth import Principal
from nexus_refserver.roles import Permission
from nexus_refserver.schema import contents, product_subject_links

router = APIRouter(prefix="/admin", tags=["admin"])

CONTENT_TRANSITIONS: dict[str, Transition] = {
    "hide": Transition(("published",), to_status("hidden")),
    "unhide": Transition(("hidden",), to_status("published")),
    "remove": Transition(("published", "hidden"), to_status("removed")),
    # reviewed and fine: the flag goes, the content stays as it is
    "clear_flag": Transition(
        ("published", "hidden"),
        lambda _row, _body: {"flagged": False, "flag_reason": None},
        applies=lambda row, _body: row.flagged,
    ),
}
SUBJECT_LINK_TRANSITIONS: dict[str, Transition] = {
    "approve": Transition(("pending",), to_status("verified")),
    "reject": Transition(("pending",), to_status("rejected")),
    "remove": Transition(("verified", "pending"), to_status("removed")),
}

CONTENT = EntityKind("content", contents, "workstation", CONTENT_TRANSITIONS)
SUBJECT_LINK = EntityKind("subject_link", product_subject_links, "marketplace", SUBJECT_LINK_TRANSITIONS)
ENTITY_KINDS.extend((CONTENT, SUBJECT_LINK))

SearchText = Annotated[str | None, Query(max_length=200, description="Matches id or a title substring.")]


# --- content ------------------------------------------------------------------------------------------------


@router.get("/contents", response_model=ContentPage, **read_route(Permission.CONTENT_READ, "List content"))
def list_contents(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.CONTENT_READ))],
    if_none_match: IfNoneMatch = None,
    q: SearchText = None,
    queue: Annotated[
        Literal["flagged"] | None, Query(description="flagged: flagged for review and not removed.")
    ] = None,
    status: ContentStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    conditions: list[ColumnElement[bool]] = []
    if queue == "flagged":
        conditions.append(and_(contents.c.flagged.is_(True), contents.c.status != "removed"))
    if status:
        conditions.append(contents.c.status == status)
    if q and q.strip():
        text = q.strip()
        matches = [contents.c.title.ilike("%" + like_escape(text) + "%", escape="\\")]
        if text.isdigit() and len(text) < 10:
            matches.append(contents.c.id == int(text))
        conditions.append(or_(*matches))
    return list_page(request, CONTENT, conditions, cursor, limit)


@router.get(
    "/contents/{content_id}",
    response_model=AdminContent,
    **read_route(Permission.CONTENT_READ, "Get a content item", not_found=True),
)
def get_content(
    request: Request,
    content_id: EntityId,
    _: Annotated[Principal, Depends(require(Permission.CONTENT_READ))],
    if_none_match: IfNoneMatch = None,
) -> Response:
    return get_entity(request, CONTENT, content_id)


@router.patch(
    "/contents/{content_id}",
    response_model=AdminContent,
    **write_route(Permission.CONTENT_WRITE, "Moderate a content item"),
)
async def patch_content(
    request: Request,
    content_id: EntityId,
    body: ContentActionRequest,
    principal: Annotated[Principal, Depends(require(Permission.CONTENT_WRITE))],
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    return await patch_entity(request, CONTENT, content_id, body, principal, if_match, idempotency_key)


# --- product-subject links ----------------------------------------------------------------------------------


@router.get(
    "/subject-links",
    response_model=SubjectLinkPage,
    **read_route(Permission.PRODUCTS_READ, "List product-subject links"),
)
def list_subject_links(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.PRODUCTS_READ))],
    if_none_match: IfNoneMatch = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Matches a link id or a subject substring.")
    ] = None,
    status: SubjectLinkStatus | None = None,
    product_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    links = product_subject_links
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(links.c.status == status)
    if product_id is not None:
        conditions.append(links.c.product_id == product_id)
    if q and q.strip():
        text = q.strip()
        matches = [links.c.subject.ilike("%" + like_escape(text) + "%", escape="\\")]
        if text.isdigit() and len(text) < 10:
            matches.append(links.c.id == int(text))
        conditions.append(or_(*matches))
    return list_page(request, SUBJECT_LINK, conditions, cursor, limit)


@router.get(
    "/subject-links/{link_id}",
    response_model=AdminSubjectLink,
    **read_route(Permission.PRODUCTS_READ, "Get a product-subject link", not_found=True),
)
def get_subject_link(
    request: Request,
    link_id: EntityId,
    _: Annotated[Principal, Depends(require(Permission.PRODUCTS_READ))],
    if_none_match: IfNoneMatch = None,
) -> Response:
    return get_entity(request, SUBJECT_LINK, link_id)


@router.patch(
    "/subject-links/{link_id}",
    response_model=AdminSubjectLink,
    **write_route(Permission.PRODUCTS_WRITE, "Moderate a product-subject link"),
)
async def patch_subject_link(
    request: Request,
    link_id: EntityId,
    body: SubjectLinkActionRequest,
    principal: Annotated[Principal, Depends(require(Permission.PRODUCTS_WRITE))],
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    return await patch_entity(request, SUBJECT_LINK, link_id, body, principal, if_match, idempotency_key)

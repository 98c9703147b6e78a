"""GET /audit: the audit trail, newest first, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from nexus_refserver.api.http import (
    Cursor,
    IfNoneMatch,
    Limit,
    context,
    decode_cursor,
    encode_cursor,
    json_response,
    read_route,
    require,
)
from nexus_refserver.api.models import AuditPage
from nexus_refserver.audit import AuditFilter
from nexus_refserver.auth import Principal
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission

router = APIRouter(tags=["audit"])

Text = Annotated[str | None, Query(max_length=200)]
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"


def _instant(text: str | None) -> datetime | None:
    """An RFC 3339 time as aware UTC; the pattern has already vouched for the shape."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ProblemError(
            422, f"{text!r} is not a valid RFC 3339 time", title="Unprocessable Content"
        ) from None
    return value.astimezone(UTC)


@router.get(
    "/audit",
    response_model=AuditPage,
    **read_route(
        Permission.AUDIT_READ, "The audit trail of admin, alert and incident actions", extension=True
    ),
)
def list_audit(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    if_none_match: IfNoneMatch = None,
    actor: Text = None,
    entity_type: Text = None,
    entity_id: Text = None,
    action: Text = None,
    since: Annotated[
        str | None, Query(pattern=RFC3339, description="Entries at or after this RFC 3339 time.")
    ] = None,
    until: Annotated[
        str | None, Query(pattern=RFC3339, description="Entries before this RFC 3339 time.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    filters = AuditFilter(actor, entity_type, entity_id, action, _instant(since), _instant(until))
    entries, total = context(request).audit.list(filters, decode_cursor(cursor), limit + 1)
    page = entries[:limit]
    next_cursor = encode_cursor(page[-1]["id"]) if len(entries) > limit else None
    return json_response(request, {"items": page, "next_cursor": next_cursor, "estimated_total": total})

"""Security events: pages of the login, API access, WAF and privileged-access streams, and the pivots on
one address and one account."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nexus_refserver.api.audit_routes import RFC3339, _instant
from nexus_refserver.api.http import (
    CURSOR_PATTERN,
    IfNoneMatch,
    context,
    decode_cursor,
    encode_cursor,
    json_response,
    read_route,
    require,
)
from nexus_refserver.api.security_models import IpSummary, SecurityEventPage, Stream, UserSecuritySummary
from nexus_refserver.auth import Principal
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission
from nexus_refserver.security_query import ip_summary, page, user_summary
from nexus_refserver.security_traffic import utc_now

router = APIRouter(prefix="/security", tags=["security"])

Reader = Annotated[Principal, Depends(require(Permission.SECURITY_READ))]
DEFAULT_WINDOW = timedelta(hours=24)


def _route(summary: str, detail: str, *, not_found: bool = False) -> dict:
    kwargs = read_route(Permission.SECURITY_READ, summary, extension=True, not_found=not_found)
    kwargs["description"] += " " + detail
    return kwargs


@router.get(
    "/events/{stream}",
    response_model=SecurityEventPage,
    **_route(
        "One security event stream, oldest first",
        "Streams: `login` (sign-in attempts), `api_access` (requests by API client), `waf_block` (requests "
        "the WAF refused), `privileged_access` (staff actions). Page with `after` = the previous page's "
        "`next`: no event is skipped or repeated while new ones arrive. Without `after` the page starts at "
        "`since`.",
    ),
)
async def security_events(
    request: Request,
    _: Reader,
    stream: Annotated[Stream, Path(description="Which stream.")],
    if_none_match: IfNoneMatch = None,
    after: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="`next` from the previous page (opaque).")
    ] = None,
    since: Annotated[
        str | None,
        Query(
            pattern=RFC3339,
            description="Start at the first event at or after this RFC 3339 time "
            "when `after` is absent; default 24 hours ago.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Most events in the page.")] = 1000,
) -> Response:
    start = _instant(since) or utc_now() - DEFAULT_WINDOW
    after_id = decode_cursor(after)
    engine = context(request).dbs.nexus
    result = await run_in_threadpool(page, engine, stream, after_id, start, limit)
    return json_response(request, {**result, "next": encode_cursor(result["next"])})


@router.get(
    "/ip/{ip}",
    response_model=IpSummary,
    **_route(
        "What one address did",
        "Its country, first and last time seen in any stream, its logins by result, the accounts it tried "
        "with their failures and successes, its WAF blocks by rule and its API requests.",
        not_found=True,
    ),
)
async def security_ip(
    request: Request,
    _: Reader,
    ip: Annotated[str, Path(max_length=45, description="An IPv4 or IPv6 address.")],
    if_none_match: IfNoneMatch = None,
) -> Response:
    try:
        address = str(ipaddress.ip_address(ip))
    except ValueError:
        raise ProblemError(422, f"{ip!r} is not an IP address", title="Unprocessable Content") from None
    summary = await run_in_threadpool(ip_summary, context(request).dbs.nexus, address)
    if summary is None:
        raise ProblemError(404, f"no security event has come from {address}")
    return json_response(request, summary)


@router.get(
    "/user/{user}",
    response_model=UserSecuritySummary,
    **_route(
        "One account's sign-ins and the admin actions on it",
        "`user` is a user id or an e-mail address. Its logins by country and by address over the last 30 "
        "days, its latest login attempts, and the audit log's actions on it.",
        not_found=True,
    ),
)
async def security_user(
    request: Request,
    _: Reader,
    user: Annotated[str, Path(max_length=200, description="A user id or an e-mail address.")],
    if_none_match: IfNoneMatch = None,
) -> Response:
    if not (user.isdigit() or "@" in user):
        raise ProblemError(
            422, f"{user!r} is neither a user id nor an e-mail address", title="Unprocessable Content"
        )
    if user.isdigit() and int(user) > 2**31 - 1:
        raise ProblemError(422, f"{user} is not a user id", title="Unprocessable Content")
    dbs = context(request).dbs
    summary = await run_in_threadpool(user_summary, dbs.users, dbs.nexus, user)
    if summary is None:
        raise ProblemError(404, f"no account or login attempt for {user!r}")
    return json_response(request, summary)

"""Shared route plumbing: the app context, authentication and RBAC, ETags, cursors, documented responses."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from nexus_refserver.api.models import Problem
from nexus_refserver.auth import AuthError, AuthService, Principal
from nexus_refserver.problems import PROBLEM_MEDIA_TYPE, ProblemError
from nexus_refserver.roles import REQUIRED_ROLE, Permission, access_note

if TYPE_CHECKING:
    from nexus_refserver.alert_store import AlertStore
    from nexus_refserver.audit import AuditLog
    from nexus_refserver.config import ServerConfig
    from nexus_refserver.databases import Databases
    from nexus_refserver.idempotency import IdempotencyStore


@dataclass
class AppContext:
    config: ServerConfig
    dbs: Databases
    auth: AuthService
    audit: AuditLog
    idempotency: IdempotencyStore
    alerts: AlertStore
    estate: Any


def context(request: Request) -> AppContext:
    return request.app.state.context


_bearer = HTTPBearer(auto_error=False, description="An access token from POST /auth/login.")


# async on purpose: a sync dependency costs a thread-pool hop per request, and the token lookup is a
# sub-millisecond indexed read, cheaper to do on the loop (2.7x the request rate of the registry poll)
async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    try:
        return context(request).auth.authenticate(credentials.credentials)
    except AuthError as exc:
        raise ProblemError(
            401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


def check_permission(principal: Principal, permission: Permission, *, needed_for: str | None = None) -> None:
    """The 403 every route sends, naming a role that has the permission; for checks inside a route too."""
    if not principal.may(permission):
        reason = f" ({needed_for})" if needed_for else ""
        raise ProblemError(
            403,
            f"{permission.value} is not granted to role {', '.join(principal.roles)}{reason}",
            required_role=REQUIRED_ROLE[permission].value,
        )


def require(permission: Permission) -> Callable[..., Principal]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        check_permission(principal, permission)
        return principal

    return dependency


# --- documented responses -----------------------------------------------------------------------------------

_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_PROBLEM_TEXT = {
    400: "The body is not valid JSON.",
    401: "Missing, unknown, expired or revoked access token.",
    403: "The caller's role lacks the permission; `required_role` names one that has it.",
    404: "No such resource.",
    409: "The requested transition no longer applies, or a request with this Idempotency-Key is running.",
    412: "If-Match does not match the current version.",
    422: "Invalid body, query or header; or an Idempotency-Key reused with a different body.",
    428: "If-Match is required.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        responses[status] = {
            "description": _PROBLEM_TEXT[status],
            "model": Problem,
            "content": _PROBLEM_CONTENT,
        }
    return responses


NOT_MODIFIED = {304: {"description": "Not modified: the If-None-Match ETag is current."}}


def read_route(permission: Permission, summary: str, *, extension: bool = False, not_found: bool = False):
    """Keyword arguments for a GET route: docs, RBAC note, documented statuses."""
    statuses = (401, 403, 422) + ((404,) if not_found else ())
    kwargs: dict[str, Any] = {
        "summary": summary,
        "description": access_note(permission),
        "responses": {**NOT_MODIFIED, **problems(*statuses)},
    }
    if extension:
        kwargs["openapi_extra"] = {"x-nexus-extension": True}
    return kwargs


# --- ETags and JSON -----------------------------------------------------------------------------------------


def etag_for_body(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def version_etag(version: int) -> str:
    return f'"v{version}"'


def _if_none_match_hits(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = [item.strip() for item in header.split(",")]
    weak_free = etag.removeprefix("W/")
    return "*" in candidates or any(item.removeprefix("W/") == weak_free for item in candidates)


def json_body(payload: BaseModel | dict) -> bytes:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return json.dumps(data, separators=(",", ":")).encode()


def json_response(
    request: Request,
    payload: BaseModel | dict,
    *,
    status_code: int = 200,
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON response with an ETag (the given one, else a body hash) that honours If-None-Match on GET."""
    body = json_body(payload)
    tag = etag or etag_for_body(body)
    all_headers = {"ETag": tag, **(headers or {})}
    if request.method == "GET" and _if_none_match_hits(request, tag):
        return Response(status_code=304, headers=all_headers)
    return Response(body, status_code=status_code, media_type="application/json", headers=all_headers)


# --- keyset cursors -----------------------------------------------------------------------------------------


CURSOR_PATTERN = r"^c[0-9]{1,12}$"


def encode_cursor(after_id: int) -> str:
    """Clients treat cursors as opaque; this one is the last id of the page."""
    return f"c{after_id}"


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise ProblemError(422, "cursor is not one this server issued", title="Unprocessable Content")
    return int(cursor[1:])


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- preconditions and idempotency --------------------------------------------------------------------------


def check_if_match(if_match: str | None, version: int) -> None:
    """428 without If-Match, 412 when it names another version."""
    if if_match is None or not if_match.strip():
        raise ProblemError(428, "send If-Match with the ETag from GET", title="Precondition Required")
    candidates = [item.strip().removeprefix("W/").strip('"') for item in if_match.split(",")]
    if "*" in candidates or f"v{version}" in candidates:
        return
    raise ProblemError(
        412,
        f"the resource is at version {version}; reload it and retry",
        headers={"ETag": version_etag(version)},
    )


def run_idempotent(
    request: Request,
    principal: Principal,
    idempotency_key: str,
    body: object,
    work: Callable[[], Response],
) -> Response:
    """Run `work` once per (caller, Idempotency-Key); repeats replay the stored response."""
    from nexus_refserver.idempotency import StoredResponse, request_fingerprint

    store = context(request).idempotency
    fingerprint = request_fingerprint(request.method, request.url.path, body)
    stored = store.reserve(principal.email, idempotency_key, fingerprint)
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            headers={**stored.headers, "Idempotent-Replayed": "true"},
        )
    try:
        response = work()
    except BaseException:
        store.release(principal.email, idempotency_key)
        raise
    if 200 <= response.status_code < 300:
        kept = {
            name: value
            for name, value in response.headers.items()
            if name in ("etag", "content-type", "location")
        }
        store.complete(
            principal.email, idempotency_key, StoredResponse(response.status_code, response.body, kept)
        )
    else:
        store.release(principal.email, idempotency_key)
    return response


# --- header parameters as the contract documents them -------------------------------------------------------

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Unique per intended change; a repeat replays the first response.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag from GET (`"v<version>"`); required, 428 when missing.'),
]
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="An ETag from an earlier response; 304 when still current."),
]
Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="`next_cursor` from the previous page (opaque).")
]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]

"""POST /auth/login, /auth/refresh, /auth/logout and GET /auth/me."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nexus_refserver.api.http import (
    NOT_MODIFIED,
    IfNoneMatch,
    context,
    current_principal,
    json_response,
    problems,
)
from nexus_refserver.api.models import LoginRequest, Me, RefreshRequest, TokenPair
from nexus_refserver.auth import AuthError, IssuedTokens, Principal
from nexus_refserver.problems import ProblemError

router = APIRouter(prefix="/auth", tags=["auth"])


def me_json(principal: Principal) -> dict:
    return {
        "id": principal.id,
        "email": principal.email,
        "name": principal.name,
        "roles": principal.roles,
        "permissions": sorted(permission.value for permission in principal.permissions),
    }


def _token_pair(issued: IssuedTokens) -> dict:
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "refresh_expires_in": issued.refresh_expires_in,
        "user": me_json(issued.principal),
    }


def _unauthorized(exc: AuthError) -> ProblemError:
    return ProblemError(401, str(exc), headers={"WWW-Authenticate": "Bearer"})


@router.post(
    "/login",
    response_model=TokenPair,
    summary="Log in with email and password",
    description="Open to anyone. Demo accounts: admin@, moderator@, finance@, analyst@, viewer@nexus.test.",
    responses=problems(400, 401, 422),
)
async def login(request: Request, body: LoginRequest) -> Response:
    try:
        # scrypt is deliberately slow: keep it off the event loop
        issued = await run_in_threadpool(context(request).auth.login, body.email, body.password)
    except AuthError as exc:
        raise _unauthorized(exc) from None
    return json_response(request, _token_pair(issued), headers={"Cache-Control": "no-store"})


@router.post(
    "/refresh",
    response_model=TokenPair,
    summary="Exchange a refresh token for a new pair",
    description="Open to anyone holding a refresh token. The presented refresh token is revoked (rotation); "
    "presenting it again revokes the whole login.",
    responses=problems(400, 401, 422),
)
def refresh(request: Request, body: RefreshRequest) -> Response:
    try:
        issued = context(request).auth.refresh(body.refresh_token)
    except AuthError as exc:
        raise _unauthorized(exc) from None
    return json_response(request, _token_pair(issued), headers={"Cache-Control": "no-store"})


@router.post(
    "/logout",
    status_code=204,
    summary="Revoke a refresh token and the access token issued with it",
    description="Open to anyone holding a refresh token. Unknown or already revoked tokens also answer 204.",
    responses={204: {"description": "Logged out."}, **problems(400, 422)},
)
def logout(request: Request, body: RefreshRequest) -> Response:
    with contextlib.suppress(AuthError):
        context(request).auth.logout(body.refresh_token)
    return Response(status_code=204)


@router.get(
    "/me",
    response_model=Me,
    summary="The caller's profile, roles and permissions",
    description="Any authenticated role.",
    responses={**NOT_MODIFIED, **problems(401, 422)},
)
def me(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    if_none_match: IfNoneMatch = None,
) -> Response:
    return json_response(request, me_json(principal))

"""Incidents: declare, list, read, change (If-Match), and link or unlink alerts.

Every write needs Idempotency-Key and If-Match with the incident's ETag (`"v<version>"`; POST /incidents
excepted), bumps the version and answers with the new ETag.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from nexus_refserver.api.http import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    Limit,
    check_if_match,
    decode_cursor,
    encode_cursor,
    json_response,
    problems,
    read_route,
    require,
    run_idempotent,
    version_etag,
)
from nexus_refserver.api.incident_models import (
    AlertLink,
    Incident,
    IncidentCreate,
    IncidentPage,
    IncidentPatch,
    IncidentStatus,
)
from nexus_refserver.auth import Principal
from nexus_refserver.incident_rules import (
    IncidentConflictError,
    IncidentInvalidError,
    IncidentNotFoundError,
    IncidentVersionError,
)
from nexus_refserver.incidents import IncidentStore, VersionCheck
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission, access_note

router = APIRouter(prefix="/incidents", tags=["incidents"])
EXTENSION = {"x-nexus-extension": True}
WRITE_NOTE = " Needs Idempotency-Key and If-Match (the incident's ETag); answers with the new ETag."
WRITE_PROBLEMS = problems(400, 401, 403, 404, 409, 412, 422, 428)

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AlertIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def incident_store(request: Request) -> IncidentStore:
    return request.app.state.incidents


def if_match_check(if_match: str | None) -> VersionCheck:
    def check(version: int) -> None:
        check_if_match(if_match, version)

    return check


@contextmanager
def incident_problems() -> Iterator[None]:
    """The store's refusals as problem documents."""
    try:
        yield
    except IncidentNotFoundError as exc:
        raise ProblemError(404, str(exc)) from None
    except IncidentConflictError as exc:
        raise ProblemError(409, str(exc), title="Conflict") from None
    except IncidentVersionError as exc:
        raise ProblemError(412, str(exc)) from None
    except IncidentInvalidError as exc:
        raise ProblemError(422, str(exc), title="Unprocessable Content") from None


def changes_in(body: BaseModel) -> dict[str, Any]:
    """The fields a PATCH sets; none at all is a 422."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ProblemError(422, "nothing to change", title="Unprocessable Content")
    return changes


def incident_response(request: Request, incident: dict[str, Any], status_code: int = 200) -> Response:
    return json_response(request, incident, status_code=status_code, etag=version_etag(incident["version"]))


@router.get(
    "",
    response_model=IncidentPage,
    **read_route(Permission.INCIDENTS_READ, "List incidents, newest first", extension=True),
)
def list_incidents(
    request: Request,
    _: Reader,
    if_none_match: IfNoneMatch = None,
    status: IncidentStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, total = incident_store(request).list(status, decode_cursor(cursor), limit + 1)
    page = items[:limit]
    next_cursor = encode_cursor(page[-1]["id"]) if len(items) > limit else None
    return json_response(request, {"items": page, "next_cursor": next_cursor, "estimated_total": total})


@router.post(
    "",
    response_model=Incident,
    status_code=201,
    summary="Declare an incident",
    description=access_note(Permission.INCIDENTS_WRITE)
    + " Needs Idempotency-Key. The incident starts in triage, detected now unless `detected_at` says"
    " otherwise; its impact started at `impact_started_at`, else when its earliest linked alert started,"
    " else at detection. Times more than 5 minutes in the future are refused (422).",
    responses={201: {"description": "Created."}, **problems(400, 401, 403, 409, 422)},
    openapi_extra=EXTENSION,
)
def create_incident(
    request: Request, body: IncidentCreate, principal: Writer, idempotency_key: IdempotencyKey
) -> Response:
    def work() -> Response:
        with incident_problems():
            created = incident_store(request).create(
                principal.email, body.model_dump(), idempotency_key=idempotency_key
            )
        return json_response(
            request,
            created,
            status_code=201,
            etag=version_etag(created["version"]),
            headers={"Location": f"/incidents/{created['id']}"},
        )

    return run_idempotent(request, principal, idempotency_key, body.model_dump(mode="json"), work)


@router.get(
    "/{incident_id}",
    response_model=Incident,
    **read_route(Permission.INCIDENTS_READ, "Get an incident", extension=True, not_found=True),
)
def get_incident(
    request: Request, incident_id: IncidentId, _: Reader, if_none_match: IfNoneMatch = None
) -> Response:
    with incident_problems():
        incident = incident_store(request).get(incident_id)
    return incident_response(request, incident)


@router.patch(
    "/{incident_id}",
    response_model=Incident,
    summary="Change an incident",
    description=access_note(Permission.INCIDENTS_WRITE)
    + WRITE_NOTE
    + " A status sets the milestone it implies when still null: investigating acknowledged_at,"
    " monitoring mitigated_at, resolved resolved_at (and mitigated_at, acknowledged_at), closed closed_at"
    " (and resolved_at). Closed is final (409). Afterwards the milestones must be in the order"
    " impact_started_at, detected_at, acknowledged_at, mitigated_at, resolved_at, closed_at, and none more"
    " than 5 minutes in the future (422). Each change is written on the timeline.",
    responses=WRITE_PROBLEMS,
    openapi_extra=EXTENSION,
)
def patch_incident(
    request: Request,
    incident_id: IncidentId,
    body: IncidentPatch,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    changes = changes_in(body)

    def work() -> Response:
        with incident_problems():
            after = incident_store(request).update(
                incident_id, principal.email, changes, if_match_check(if_match), idempotency_key
            )
        return incident_response(request, after)

    return run_idempotent(
        request, principal, idempotency_key, body.model_dump(mode="json", exclude_unset=True), work
    )


@router.post(
    "/{incident_id}/alerts",
    response_model=Incident,
    summary="Link an alert to an incident",
    description=access_note(Permission.INCIDENTS_WRITE)
    + WRITE_NOTE
    + " An alert already linked is a 409. The timeline records the link.",
    responses=WRITE_PROBLEMS,
    openapi_extra=EXTENSION,
)
def link_alert(
    request: Request,
    incident_id: IncidentId,
    body: AlertLink,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    def work() -> Response:
        with incident_problems():
            after = incident_store(request).link_alert(
                incident_id, body.alert_id, principal.email, if_match_check(if_match), idempotency_key
            )
        return incident_response(request, after)

    return run_idempotent(request, principal, idempotency_key, body.model_dump(mode="json"), work)


@router.delete(
    "/{incident_id}/alerts/{alert_id}",
    response_model=Incident,
    summary="Unlink an alert from an incident",
    description=access_note(Permission.INCIDENTS_WRITE)
    + WRITE_NOTE
    + " An alert that is not linked is a 404. The timeline records the unlink.",
    responses=problems(401, 403, 404, 409, 412, 422, 428),
    openapi_extra=EXTENSION,
)
def unlink_alert(
    request: Request,
    incident_id: IncidentId,
    alert_id: AlertIdPath,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    def work() -> Response:
        with incident_problems():
            after = incident_store(request).unlink_alert(
                incident_id, alert_id, principal.email, if_match_check(if_match), idempotency_key
            )
        return incident_response(request, after)

    return run_idempotent(request, principal, idempotency_key, None, work)

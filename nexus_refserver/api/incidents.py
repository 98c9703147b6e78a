"""Incidents: create, list, read, update (If-Match) and the timeline of alerts, actions, notes, statuses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from nexus_refserver.api.http import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    Limit,
    check_if_match,
    context,
    decode_cursor,
    encode_cursor,
    json_response,
    problems,
    read_route,
    require,
    run_idempotent,
    version_etag,
)
from nexus_refserver.api.models import (
    Incident,
    IncidentCreate,
    IncidentPage,
    IncidentPatch,
    IncidentStatus,
    TimelineEntry,
    TimelineEntryCreate,
    TimelineList,
)
from nexus_refserver.auth import Principal
from nexus_refserver.incidents import (
    IncidentConflictError,
    IncidentNotFoundError,
    IncidentStore,
    IncidentVersionError,
)
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission, access_note

router = APIRouter(prefix="/incidents", tags=["incidents"])
EXTENSION = {"x-nexus-extension": True}

Reader = Annotated[Principal, Depends(require(Permission.INCIDENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.INCIDENTS_WRITE))]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _store(request: Request) -> IncidentStore:
    return request.app.state.incidents


def _not_found(exc: Exception) -> ProblemError:
    return ProblemError(404, str(exc))


@router.get(
    "",
    response_model=IncidentPage,
    **read_route(Permission.INCIDENTS_READ, "List incidents", extension=True),
)
def list_incidents(
    request: Request,
    _: Reader,
    if_none_match: IfNoneMatch = None,
    status: IncidentStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    items, total = _store(request).list(status, decode_cursor(cursor), limit + 1)
    page = items[:limit]
    next_cursor = encode_cursor(page[-1]["id"]) if len(items) > limit else None
    return json_response(request, {"items": page, "next_cursor": next_cursor, "estimated_total": total})


@router.post(
    "",
    response_model=Incident,
    status_code=201,
    summary="Open an incident",
    description=access_note(Permission.INCIDENTS_WRITE) + " Needs Idempotency-Key.",
    responses={201: {"description": "Created."}, **problems(400, 401, 403, 422)},
    openapi_extra=EXTENSION,
)
def create_incident(
    request: Request, body: IncidentCreate, principal: Writer, idempotency_key: IdempotencyKey
) -> Response:
    def work() -> Response:
        created = _store(request).create(principal.email, body.model_dump())
        context(request).audit.record(
            actor=principal.email,
            action="incident.create",
            entity_type="incident",
            entity_id=created["id"],
            before=None,
            after=created,
            reason=None,
            idempotency_key=idempotency_key,
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
    try:
        incident = _store(request).get(incident_id)
    except IncidentNotFoundError as exc:
        raise _not_found(exc) from None
    return json_response(request, incident, etag=version_etag(incident["version"]))


@router.patch(
    "/{incident_id}",
    response_model=Incident,
    summary="Update an incident",
    description=access_note(Permission.INCIDENTS_WRITE)
    + " Needs If-Match and Idempotency-Key. A resolved incident cannot change status again (409).",
    responses=problems(400, 401, 403, 404, 409, 412, 422, 428),
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
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ProblemError(422, "nothing to change", title="Unprocessable Content")

    def work() -> Response:
        try:
            before, after = _store(request).update(
                incident_id, principal.email, changes, lambda version: check_if_match(if_match, version)
            )
        except IncidentNotFoundError as exc:
            raise _not_found(exc) from None
        except IncidentConflictError as exc:
            raise ProblemError(409, str(exc), title="Transition no longer applies") from None
        except IncidentVersionError as exc:
            raise ProblemError(412, str(exc)) from None
        context(request).audit.record(
            actor=principal.email,
            action="incident.update",
            entity_type="incident",
            entity_id=incident_id,
            before=before,
            after=after,
            reason=None,
            idempotency_key=idempotency_key,
        )
        return json_response(request, after, etag=version_etag(after["version"]))

    return run_idempotent(
        request, principal, idempotency_key, body.model_dump(mode="json", exclude_unset=True), work
    )


@router.get(
    "/{incident_id}/timeline",
    response_model=TimelineList,
    **read_route(
        Permission.INCIDENTS_READ, "An incident's timeline, oldest first", extension=True, not_found=True
    ),
)
def get_timeline(
    request: Request, incident_id: IncidentId, _: Reader, if_none_match: IfNoneMatch = None
) -> Response:
    try:
        items = _store(request).timeline(incident_id)
    except IncidentNotFoundError as exc:
        raise _not_found(exc) from None
    return json_response(request, {"items": items})


@router.post(
    "/{incident_id}/timeline",
    response_model=TimelineEntry,
    status_code=201,
    summary="Add a timeline entry",
    description=access_note(Permission.INCIDENTS_WRITE) + " Needs Idempotency-Key.",
    responses={201: {"description": "Created."}, **problems(400, 401, 403, 404, 422)},
    openapi_extra=EXTENSION,
)
def add_timeline_entry(
    request: Request,
    incident_id: IncidentId,
    body: TimelineEntryCreate,
    principal: Writer,
    idempotency_key: IdempotencyKey,
) -> Response:
    def work() -> Response:
        try:
            entry = _store(request).add_entry(incident_id, body.kind, principal.email, body.text, body.ref)
        except IncidentNotFoundError as exc:
            raise _not_found(exc) from None
        context(request).audit.record(
            actor=principal.email,
            action="incident.timeline_add",
            entity_type="incident",
            entity_id=incident_id,
            before=None,
            after=entry,
            reason=None,
            idempotency_key=idempotency_key,
        )
        return json_response(request, entry, status_code=201)

    return run_idempotent(request, principal, idempotency_key, body.model_dump(mode="json"), work)

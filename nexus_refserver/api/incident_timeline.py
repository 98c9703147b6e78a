"""An incident's timeline (read, add, edit, hide, pin) and its post-mortem (read, save whole)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from nexus_refserver.api.http import (
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    json_response,
    problems,
    read_route,
    run_idempotent,
    version_etag,
)
from nexus_refserver.api.incident_models import (
    PostMortem,
    PostMortemUpdate,
    TimelineEntry,
    TimelineEntryCreate,
    TimelineEntryPatch,
    TimelineList,
)
from nexus_refserver.api.incidents import (
    EXTENSION,
    WRITE_NOTE,
    WRITE_PROBLEMS,
    IncidentId,
    Reader,
    Writer,
    changes_in,
    if_match_check,
    incident_problems,
    incident_store,
)
from nexus_refserver.postmortems import PostMortemStore
from nexus_refserver.roles import Permission, access_note

router = APIRouter(prefix="/incidents", tags=["incidents"])
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IncludeHidden = Annotated[bool, Query(description="Also return hidden entries.")]


def _postmortems(request: Request) -> PostMortemStore:
    return request.app.state.postmortems


@router.get(
    "/{incident_id}/timeline",
    response_model=TimelineList,
    **read_route(
        Permission.INCIDENTS_READ,
        "An incident's timeline, oldest first (by `at`, then id)",
        extension=True,
        not_found=True,
    ),
)
def get_timeline(
    request: Request,
    incident_id: IncidentId,
    _: Reader,
    if_none_match: IfNoneMatch = None,
    include_hidden: IncludeHidden = False,
) -> Response:
    with incident_problems():
        items = incident_store(request).timeline(incident_id, include_hidden)
    return json_response(request, {"items": items})


@router.post(
    "/{incident_id}/timeline",
    response_model=TimelineEntry,
    status_code=201,
    summary="Add a note, custom entry or action to the timeline",
    description=access_note(Permission.INCIDENTS_WRITE)
    + WRITE_NOTE
    + " `at` (default now) may be before the incident was declared, not more than 5 minutes in the future.",
    responses={201: {"description": "Created."}, **problems(400, 401, 403, 404, 409, 412, 422, 428)},
    openapi_extra=EXTENSION,
)
def add_timeline_entry(
    request: Request,
    incident_id: IncidentId,
    body: TimelineEntryCreate,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    def work() -> Response:
        with incident_problems():
            entry, version = incident_store(request).add_entry(
                incident_id, principal.email, body.model_dump(), if_match_check(if_match), idempotency_key
            )
        return json_response(request, entry, status_code=201, etag=version_etag(version))

    return run_idempotent(request, principal, idempotency_key, body.model_dump(mode="json"), work)


@router.patch(
    "/{incident_id}/timeline/{entry_id}",
    response_model=TimelineEntry,
    summary="Edit, hide or pin a timeline entry",
    description=access_note(Permission.INCIDENTS_WRITE)
    + WRITE_NOTE
    + " Any entry may be hidden or pinned; only note, custom and action entries may change `text` or"
    " `at` (409 otherwise).",
    responses=WRITE_PROBLEMS,
    openapi_extra=EXTENSION,
)
def patch_timeline_entry(
    request: Request,
    incident_id: IncidentId,
    entry_id: EntryId,
    body: TimelineEntryPatch,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    changes = changes_in(body)

    def work() -> Response:
        with incident_problems():
            entry, version = incident_store(request).edit_entry(
                incident_id, entry_id, principal.email, changes, if_match_check(if_match), idempotency_key
            )
        return json_response(request, entry, etag=version_etag(version))

    return run_idempotent(
        request, principal, idempotency_key, body.model_dump(mode="json", exclude_unset=True), work
    )


@router.get(
    "/{incident_id}/postmortem",
    response_model=PostMortem,
    **read_route(
        Permission.INCIDENTS_READ,
        "An incident's post-mortem (version 0 and empty before the first save)",
        extension=True,
        not_found=True,
    ),
)
def get_postmortem(
    request: Request, incident_id: IncidentId, _: Reader, if_none_match: IfNoneMatch = None
) -> Response:
    with incident_problems():
        document = _postmortems(request).get(incident_id)
    return json_response(request, document, etag=version_etag(document["version"]))


@router.put(
    "/{incident_id}/postmortem",
    response_model=PostMortem,
    summary="Save an incident's post-mortem",
    description=access_note(Permission.INCIDENTS_WRITE)
    + ' Needs Idempotency-Key and If-Match with the post-mortem\'s ETag (`"v0"` for the first save);'
    " answers with its new ETag. Saving does not change the incident's version. Every string is at most"
    " 20000 characters; at most 200 action items; `timeline_entry_ids` must be entries of this incident.",
    responses=WRITE_PROBLEMS,
    openapi_extra=EXTENSION,
)
def put_postmortem(
    request: Request,
    incident_id: IncidentId,
    body: PostMortemUpdate,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    def work() -> Response:
        with incident_problems():
            saved = _postmortems(request).save(
                incident_id,
                principal.email,
                body.model_dump(mode="json"),
                if_match_check(if_match),
                idempotency_key,
            )
        return json_response(request, saved, etag=version_etag(saved["version"]))

    return run_idempotent(request, principal, idempotency_key, body.model_dump(mode="json"), work)

"""GDPR compliance: the data-subject requests and the actions on them, the consent picture, and the
retention policy checked against the data now.

Acting on a request is a versioned, audited write like the admin ones (If-Match, Idempotency-Key, an audit
row with entity_type `dsar`), through the same entity writer. The rules, with the GDPR's month a calendar
month (`months_after`): `extend` once, while the request is open and within its first month (422 otherwise,
with a sentence saying why); `complete` and `reject` while it is open or extended (409 otherwise)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from nexus_refserver.api.admin import write_route
from nexus_refserver.api.compliance_models import (
    ConsentSummary,
    DataSubjectRequest,
    DsarActionRequest,
    DsarList,
    ModerationSummary,
    RetentionReport,
)
from nexus_refserver.api.http import (
    IdempotencyKey,
    IfMatch,
    IfNoneMatch,
    context,
    json_response,
    read_route,
    require,
)
from nexus_refserver.auth import Principal
from nexus_refserver.compliance_data import months_after
from nexus_refserver.compliance_query import (
    RETENTION_POLICY,
    consent_summary,
    dsar_list,
    moderation_summary,
    retention_checks,
)
from nexus_refserver.databases import Databases, as_utc
from nexus_refserver.entity_writes import ChangeRequest, EntityTable
from nexus_refserver.idempotency import request_fingerprint
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission
from nexus_refserver.schema_compliance import data_subject_requests
from nexus_refserver.security_traffic import utc_now

router = APIRouter(prefix="/compliance", tags=["compliance"])

Reader = Annotated[Principal, Depends(require(Permission.COMPLIANCE_READ))]
Writer = Annotated[Principal, Depends(require(Permission.COMPLIANCE_WRITE))]
DSAR = "dsar"
CLOSED_BY = {"complete": "completed", "reject": "rejected"}


def entity_tables(dbs: Databases) -> dict[str, EntityTable]:
    """What the entity writer may change for this router: the data-subject requests, in nexus."""
    return {DSAR: EntityTable(dbs.nexus, data_subject_requests)}


def _read(summary: str, detail: str) -> dict[str, Any]:
    kwargs = read_route(Permission.COMPLIANCE_READ, summary, extension=True)
    kwargs["description"] += " " + detail
    return kwargs


@router.get(
    "/dsar",
    response_model=DsarList,
    **_read(
        "Data-subject requests, newest first",
        "Every GDPR request (access, deletion, rectification, portability) with its status. A request is "
        "due one calendar month after `received_at` (the same day of the next month, or its last day when "
        "shorter), or three months after when it was extended.",
    ),
)
async def list_dsar(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    result = await run_in_threadpool(dsar_list, context(request).dbs.nexus)
    return json_response(request, result)


def _write_route() -> dict[str, Any]:
    kwargs = write_route(Permission.COMPLIANCE_WRITE, "Extend, complete or reject a data-subject request")
    kwargs["description"] += (
        " `extend` (once, while open, within a calendar month of receipt; otherwise 422 saying why) "
        "moves the deadline two months on; `complete` and `reject` close a request that is "
        "open or extended (409 otherwise). The reason becomes the request's note; "
        "the audit entity_type is `dsar`."
    )
    kwargs["openapi_extra"] = {"x-nexus-extension": True}
    return kwargs


@router.patch("/dsar/{dsar_id}", response_model=DataSubjectRequest, **_write_route())
async def act_on_dsar(
    request: Request,
    dsar_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: DsarActionRequest,
    principal: Writer,
    idempotency_key: IdempotencyKey,
    if_match: IfMatch = None,
) -> Response:
    now = utc_now()

    def plan(row: Any) -> dict[str, Any]:
        if body.action == "extend":
            _check_extendable(row, now)
            return {"status": "extended", "extended_at": now, "note": body.reason}
        if row.status not in ("open", "extended"):
            raise ProblemError(
                409,
                f"{body.action} does not apply to dsar {dsar_id} (status {row.status})",
                title="Transition no longer applies",
            )
        return {"status": CLOSED_BY[body.action], "completed_at": now, "note": body.reason}

    change = ChangeRequest(
        actor=principal.email,
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        entity_type=DSAR,
        entity_id=dsar_id,
        action=f"{DSAR}.{body.action}",
        reason=body.reason,
        if_match=if_match,
    )
    outcome = await request.app.state.entity_writer.apply(change, plan)
    stored = outcome.response
    headers = {**stored.headers, **({"Idempotent-Replayed": "true"} if outcome.replayed else {})}
    return Response(stored.body, status_code=stored.status_code, headers=headers)


def _check_extendable(row: Any, now: Any) -> None:
    """422 unless the request is open, never extended, and still in its first month."""
    if row.extended_at is not None:
        when = as_utc(row.extended_at).date().isoformat()
        raise ProblemError(
            422,
            f"dsar {row.id} was already extended on {when}; a request is extended only once",
            title="Unprocessable Content",
        )
    if row.status != "open":
        raise ProblemError(
            422,
            f"dsar {row.id} is {row.status}; only an open request can be extended",
            title="Unprocessable Content",
        )
    received = as_utc(row.received_at)
    month_end = months_after(received, 1)
    if now > month_end:
        raise ProblemError(
            422,
            f"dsar {row.id} was received on {received.date().isoformat()}, more than a month ago (its "
            f"month ended on {month_end.date().isoformat()}); a request can only be extended within its "
            "first month",
            title="Unprocessable Content",
        )


@router.get(
    "/consents",
    response_model=ConsentSummary,
    **_read(
        "Consent by purpose, and the choices of the last 30 days",
        "Each user's latest choice per purpose (marketing, analytics, personalisation) counted as granted or "
        "withdrawn, with the grant rate; and per UTC day of the last 30 the choices recorded (signup, "
        "settings or banner).",
    ),
)
async def consents(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    result = await run_in_threadpool(consent_summary, context(request).dbs.nexus, utc_now())
    return json_response(request, result)


@router.get(
    "/retention",
    response_model=RetentionReport,
    **_read(
        "The retention policy checked now",
        "For each rule (a time column and how many days its rows may be kept): how many rows are older than "
        "the rule allows now, and the oldest time the column holds. Rules: "
        + ", ".join(f"{r.database}.{r.table.name}.{r.column} {r.keep_days} days" for r in RETENTION_POLICY)
        + ".",
    ),
)
async def retention(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    result = await run_in_threadpool(retention_checks, context(request).dbs, utc_now())
    return json_response(request, result)


@router.get(
    "/moderation",
    response_model=ModerationSummary,
    **_read(
        "Content moderation figures",
        "Per moderated kind (marketplace products, workstation content): flagged items still waiting for a "
        "decision and the oldest of them, the commonest flag reasons, the items by status; and the "
        "moderators' decisions of the last 30 days from the audit log.",
    ),
)
async def moderation(request: Request, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    result = await run_in_threadpool(moderation_summary, context(request).dbs, utc_now())
    return json_response(request, result)

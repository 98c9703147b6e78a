"""Alerts: list, acknowledge, silence, unsilence, resolve, and the SSE stream of alert events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from nexus_refserver.alert_store import AlertConflictError, AlertNotFoundError, AlertStore
from nexus_refserver.api.http import (
    Cursor,
    IdempotencyKey,
    IfNoneMatch,
    Limit,
    context,
    decode_cursor,
    encode_cursor,
    json_response,
    problems,
    read_route,
    require,
    run_idempotent,
)
from nexus_refserver.api.models import (
    MAX_SILENCE_S,
    AcknowledgeRequest,
    Alert,
    AlertPage,
    AlertState,
    ResolveRequest,
    Severity,
    SilenceRequest,
    UnsilenceRequest,
)
from nexus_refserver.auth import Principal
from nexus_refserver.problems import ProblemError
from nexus_refserver.roles import Permission, access_note

router = APIRouter(prefix="/alerts", tags=["alerts"])

Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ALERTS_WRITE))]
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "",
    response_model=AlertPage,
    summary="List alerts, newest first",
    description=access_note(Permission.ALERTS_READ)
    + " The `Last-Event-ID` response header is the newest alert event id: stream from it to miss nothing.",
    responses={
        200: {
            "headers": {"Last-Event-ID": {"description": "Newest event seq.", "schema": {"type": "string"}}}
        },
        **read_route(Permission.ALERTS_READ, "")["responses"],
    },
)
def list_alerts(
    request: Request,
    _: Reader,
    if_none_match: IfNoneMatch = None,
    state: Annotated[list[AlertState] | None, Query(description="Repeat for several states.")] = None,
    severity: Annotated[list[Severity] | None, Query(description="Repeat for several severities.")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    before = decode_cursor(cursor)
    items, total, latest_seq = context(request).alerts.list(state, severity, before, limit + 1)
    page = items[:limit]
    next_cursor = encode_cursor(page[-1]["id"]) if len(items) > limit else None
    return json_response(
        request,
        {"items": page, "next_cursor": next_cursor, "estimated_total": total},
        headers={"Last-Event-ID": str(latest_seq)},
    )


Change = tuple[dict[str, Any], dict[str, Any]]


def _act(
    request: Request,
    principal: Principal,
    alert_id: int,
    action: str,
    body: Any,
    key: str,
    change: Callable[[AlertStore], Change],
) -> Response:
    """One staff action: `change(store)` returns (before, after); audited as `alert.<action>` with the
    body's comment as the reason, under the caller's Idempotency-Key."""
    store: AlertStore = context(request).alerts

    def work() -> Response:
        try:
            before, after = change(store)
        except AlertNotFoundError as exc:
            raise ProblemError(404, str(exc)) from None
        except AlertConflictError as exc:
            raise ProblemError(409, str(exc), title="Transition no longer applies") from None
        context(request).audit.record(
            actor=principal.email,
            action=f"alert.{action}",
            entity_type="alert",
            entity_id=alert_id,
            before=before,
            after=after,
            reason=body.comment,
            idempotency_key=key,
        )
        return json_response(request, after)

    return run_idempotent(request, principal, key, body.model_dump(mode="json"), work)


@router.post(
    "/{alert_id}/acknowledge",
    response_model=Alert,
    summary="Acknowledge a pending or firing alert",
    description=access_note(Permission.ALERTS_WRITE)
    + " With `ack_timeout_s` the acknowledgement expires and the alert fires again. Needs Idempotency-Key.",
    responses=problems(400, 401, 403, 404, 409, 422),
)
def acknowledge(
    request: Request,
    alert_id: AlertId,
    body: AcknowledgeRequest,
    principal: Writer,
    idempotency_key: IdempotencyKey,
) -> Response:
    def change(store: AlertStore) -> Change:
        return store.acknowledge(alert_id, principal.email, body.ack_timeout_s)

    return _act(request, principal, alert_id, "acknowledge", body, idempotency_key, change)


def silence_end(body: SilenceRequest, now: datetime) -> datetime:
    """When the silence asked for ends: `until`, or now + `duration_s`; a 422 problem otherwise."""
    if (body.until is None) == (body.duration_s is None):
        raise ProblemError(422, "give exactly one of until (an RFC 3339 time) and duration_s")
    if body.duration_s is not None:
        return now + timedelta(seconds=body.duration_s)
    try:
        until = datetime.fromisoformat(str(body.until).strip().replace("z", "Z"))
    except ValueError:
        raise ProblemError(422, f"until is not an RFC 3339 time: {body.until!r}") from None
    if until.tzinfo is None:
        raise ProblemError(422, "until needs a UTC offset (Z or +hh:mm)")
    if until <= now:
        raise ProblemError(422, "until is in the past: a silence must end in the future")
    if until > now + timedelta(seconds=MAX_SILENCE_S):
        raise ProblemError(422, "a silence lasts at most 30 days")
    return until.astimezone(UTC)


@router.post(
    "/{alert_id}/silence",
    response_model=Alert,
    summary="Silence an alert until a time or for a duration",
    description=access_note(Permission.ALERTS_WRITE)
    + " The alert becomes `silenced` (with `silenced_until`, `silenced_by`, `silence_comment`) and "
    "returns to its previous state (pending, firing or acknowledged) when the silence ends. Silencing a "
    "silenced alert replaces its silence. Body: exactly one of `until` and `duration_s`. Needs "
    "Idempotency-Key.",
    responses=problems(400, 401, 403, 404, 409, 422),
    openapi_extra={"x-nexus-extension": True},
)
def silence(
    request: Request,
    alert_id: AlertId,
    body: SilenceRequest,
    principal: Writer,
    idempotency_key: IdempotencyKey,
) -> Response:
    def change(store: AlertStore) -> Change:
        until = silence_end(body, datetime.now(UTC))
        return store.silence(alert_id, principal.email, until, body.comment)

    return _act(request, principal, alert_id, "silence", body, idempotency_key, change)


@router.post(
    "/{alert_id}/unsilence",
    response_model=Alert,
    summary="End an alert's silence now",
    description=access_note(Permission.ALERTS_WRITE)
    + " The alert returns to the state it had before the silence. Needs Idempotency-Key.",
    responses=problems(400, 401, 403, 404, 409, 422),
    openapi_extra={"x-nexus-extension": True},
)
def unsilence(
    request: Request,
    alert_id: AlertId,
    body: UnsilenceRequest,
    principal: Writer,
    idempotency_key: IdempotencyKey,
) -> Response:
    return _act(
        request, principal, alert_id, "unsilence", body, idempotency_key, lambda s: s.unsilence(alert_id)
    )


@router.post(
    "/{alert_id}/resolve",
    response_model=Alert,
    summary="Resolve an alert",
    description=access_note(Permission.ALERTS_WRITE) + " Needs Idempotency-Key.",
    responses=problems(400, 401, 403, 404, 409, 422),
)
def resolve(
    request: Request,
    alert_id: AlertId,
    body: ResolveRequest,
    principal: Writer,
    idempotency_key: IdempotencyKey,
) -> Response:
    def change(store: AlertStore) -> Change:
        return store.resolve(alert_id, principal.email)

    return _act(request, principal, alert_id, "resolve", body, idempotency_key, change)


def _sse(seq: int, data: str) -> bytes:
    return f"id: {seq}\nevent: alert\ndata: {data}\n\n".encode()


async def _event_stream(request: Request, store: AlertStore, after_seq: int) -> AsyncIterator[bytes]:
    keepalive_s = context(request).config.sse_keepalive_s
    shutdown = request.app.state.shutdown
    last = after_seq
    yield b"retry: 2000\n: stream open\n\n"
    while not shutdown.is_set():
        token = store.notifier.current()
        events = await run_in_threadpool(store.events_after, last)
        for seq, data in events:
            yield _sse(seq, data)
            last = seq
        if events:
            continue
        woke = await store.notifier.wait(token, keepalive_s)
        if not woke and not shutdown.is_set():
            yield b": keepalive\n\n"


@router.get(
    "/stream",
    summary="Server-sent alert events",
    description=access_note(Permission.ALERTS_READ)
    + " Each event is `id: <seq>`, `event: alert`, `data: <Alert JSON>`. Send `Last-Event-ID` to resume "
    "after that event with no gap and no duplicate; without it the stream starts at the newest event. "
    "A `: keepalive` comment is sent every 15 s of silence.",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless event stream.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problems(401, 403, 422),
    },
    openapi_extra={"x-nexus-extension": True},
)
async def stream(
    request: Request,
    _: Reader,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=20, description="Resume after this event seq.")
    ] = None,
) -> StreamingResponse:
    if context(request).config.without_alert_stream:
        raise ProblemError(404, "this server does not offer the alert stream; poll GET /alerts")
    store = context(request).alerts
    if last_event_id is not None and last_event_id.strip():
        try:
            after = int(last_event_id.strip())
        except ValueError:
            raise ProblemError(422, "Last-Event-ID must be an integer event seq") from None
        if after < 0:
            raise ProblemError(422, "Last-Event-ID must not be negative")
    else:
        after = await run_in_threadpool(store.latest_seq)
    return StreamingResponse(
        _event_stream(request, store, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

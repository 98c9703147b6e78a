"""The reference server's FastAPI app: the Nexus API, the simulated estate, and the alert engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from nexus_refserver import __version__
from nexus_refserver.alert_store import AlertStore
from nexus_refserver.alerting import AlertEngine
from nexus_refserver.alerting.storm import AlertStorm, run_storm
from nexus_refserver.analytics import Analytics
from nexus_refserver.api import (
    admin,
    admin_moderation,
    alerts,
    analytics,
    audit_routes,
    auth_routes,
    compliance,
    incident_timeline,
    incidents,
    monitoring,
    security,
)
from nexus_refserver.api.http import AppContext
from nexus_refserver.api.models import Problem
from nexus_refserver.audit import AuditLog
from nexus_refserver.auth import AuthService
from nexus_refserver.compliance_data import ensure_compliance_data
from nexus_refserver.config import ServerConfig
from nexus_refserver.databases import Databases
from nexus_refserver.entity_writes import EntityWriter
from nexus_refserver.generator import ensure_generated
from nexus_refserver.idempotency import IdempotencyStore
from nexus_refserver.incidents import IncidentStore
from nexus_refserver.postmortems import PostMortemStore
from nexus_refserver.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from nexus_refserver.roles import ROLE_PERMISSIONS
from nexus_refserver.scenario_incidents import ScenarioIncidents
from nexus_refserver.security_control import attack_control_router
from nexus_refserver.security_feed import SecurityFeed
from nexus_refserver.telemetry import build_estate

log = logging.getLogger(__name__)

API_DESCRIPTION = """\
The internal Nexus API (seed 000) as served by the reference server, plus extensions marked
`x-nexus-extension: true`.

Authentication: `POST /auth/login` gives an opaque bearer access token (short-lived) and a rotating refresh
token. Errors are RFC 9457 `application/problem+json`; a 403 names the `required_role`.

Mutations take `Idempotency-Key` (the same key replays the first successful response with
`Idempotent-Replayed: true`; the same key with another body is 422). Versioned entities answer GET with
`ETag: "v<version>"` and need `If-Match` on PATCH (428 missing, 412 stale, 409 when the transition no
longer applies). GETs honour `If-None-Match` with 304.

Roles and permissions:

""" + "\n".join(
    f"- `{role.value}`: {', '.join(sorted(p.value for p in perms))}"
    for role, perms in ROLE_PERMISSIONS.items()
)


def open_storage(config: ServerConfig) -> Databases:
    """Open the four databases, create the schema, and generate platform data on first start."""
    dbs = Databases.open(config)
    dbs.create_schema()
    ensure_generated(dbs, config.seed, config.scale)
    ensure_compliance_data(dbs, config.seed)
    return dbs


def create_app(
    config: ServerConfig,
    *,
    on_ready: Callable[[], None] | None = None,
) -> FastAPI:
    dbs = open_storage(config)
    estate = build_estate(config)
    auth = AuthService(dbs.nexus, config.access_ttl_s, config.refresh_ttl_s)
    auth.ensure_demo_accounts(config.demo_password)
    auth.purge_expired()
    idempotency = IdempotencyStore(dbs.nexus)
    audit = AuditLog(dbs.nexus)
    entity_writer = EntityWriter(
        dbs.nexus,
        {**admin.entity_tables(dbs), **compliance.entity_tables(dbs)},
        idempotency,
        audit,
        crash_after_entity_write=config.crash_after_entity_write,
    )
    # first finish admin changes a crash interrupted, then forget every other unfinished key
    entity_writer.reconcile()
    idempotency.forget_unfinished()
    alert_store = AlertStore(dbs.nexus)
    incident_store = IncidentStore(dbs.nexus, audit)
    scenario_incidents = ScenarioIncidents(estate.scenario, estate.clock, incident_store, dbs.nexus)
    security_feed = SecurityFeed(dbs, config.seed, estate.scenario, estate.clock)
    security_feed.prepare()
    context = AppContext(
        config=config,
        dbs=dbs,
        auth=auth,
        audit=audit,
        idempotency=idempotency,
        alerts=alert_store,
        estate=estate,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.shutdown = asyncio.Event()
        alert_store.notifier.bind(asyncio.get_running_loop())
        await estate.start(f"http://{config.host}:{config.port}")
        engine = AlertEngine(estate, alert_store)
        await engine.start()
        expiry = asyncio.create_task(_expire_acknowledgements(alert_store, config.ack_expiry_check_s))
        declarer = asyncio.create_task(scenario_incidents.run(), name="scenario-incidents")
        security_live = asyncio.create_task(security_feed.run(), name="security-feed")
        attacks = asyncio.create_task(security_feed.run_scenario(), name="security-attacks")
        background = [expiry, declarer, security_live, attacks]
        if config.alert_storm:
            services = [(spec.name, spec.namespace) for spec in estate.catalog]
            storm = run_storm(AlertStorm.parse(config.alert_storm), services, alert_store)
            background.append(asyncio.create_task(storm, name="alert-storm"))
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            app.state.shutdown.set()
            alert_store.notifier.notify()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.stop()
            await estate.stop()
            entity_writer.close()
            dbs.dispose()

    app = create_api(lifespan)
    app.state.context = context
    app.state.entity_writer = entity_writer
    app.state.analytics = Analytics(dbs)
    app.state.incidents = incident_store
    app.state.postmortems = PostMortemStore(dbs.nexus, audit)
    app.state.security = security_feed
    app.include_router(estate.router(), include_in_schema=False)
    if config.enable_fault_control:
        app.include_router(estate.control_router(), include_in_schema=False)
        app.include_router(attack_control_router(security_feed), include_in_schema=False)
    app.add_middleware(estate.api_fault_middleware(), estate=estate)
    return app


def create_api(lifespan=None) -> FastAPI:  # type: ignore[no-untyped-def]
    """The Nexus API routes and error handling alone: what the contract describes."""
    app = FastAPI(
        title="Nexus API",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.shutdown = asyncio.Event()
    install_problem_handlers(app)
    modules = (
        auth_routes,
        monitoring,
        analytics,
        admin,
        admin_moderation,
        alerts,
        audit_routes,
        incidents,
        incident_timeline,
        security,
        compliance,
    )
    for module in modules:
        app.include_router(module.router)
    _register_problem_schema(app)
    return app


async def _expire_acknowledgements(store: AlertStore, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await run_in_threadpool(store.expire_acknowledgements)
        except Exception:  # a failed round must not stop expiry for good
            log.exception("expiring acknowledgements failed")


def _register_problem_schema(app: FastAPI) -> None:
    """Tidy the generated document so it says exactly what the server sends."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _tidy_operation(operation)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_ETAG_HEADER = {
    "description": 'Entity version (`"v<version>"`) or a body hash; send it as If-None-Match or If-Match.',
    "required": True,
    "schema": {"type": "string"},
}
_REPLAYED_HEADER = {
    "description": "Present on a response replayed for a repeated Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}


def _tidy_operation(operation: dict) -> None:
    idempotent = any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        # errors are only ever problem+json; FastAPI also lists application/json for them
        if PROBLEM_MEDIA_TYPE in content:
            response["content"] = {PROBLEM_MEDIA_TYPE: content[PROBLEM_MEDIA_TYPE]}
        elif status.startswith("2") and "application/json" in content:
            headers = response.setdefault("headers", {})
            headers["ETag"] = _ETAG_HEADER
            if idempotent:
                headers["Idempotent-Replayed"] = _REPLAYED_HEADER
    # an optional header is absent, never null
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "header":
            continue
        options = parameter["schema"].get("anyOf")
        if options:
            concrete = [option for option in options if option.get("type") != "null"]
            if len(concrete) == 1:
                merged = {key: value for key, value in parameter["schema"].items() if key != "anyOf"}
                parameter["schema"] = {**concrete[0], **merged}

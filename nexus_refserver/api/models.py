"""The contract's request and response bodies (pydantic), the source of nexus-api.yaml's schemas."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Severity = Literal["critical", "high", "medium", "low"]
AlertState = Literal["pending", "firing", "acknowledged", "silenced", "resolved"]
UserStatus = Literal["active", "suspended", "banned", "merged"]
VendorStatus = Literal["pending", "approved", "rejected", "suspended", "banned"]
ProductStatus = Literal["pending", "approved", "rejected", "removed"]
ContentStatus = Literal["published", "hidden", "removed"]
SubjectLinkStatus = Literal["verified", "pending", "rejected", "removed"]
Platform = Literal["workstation", "marketplace", "nexus"]


class Strict(BaseModel):
    """Request bodies: unknown fields and loose types (`false` for an int) are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    required_role: str | None = Field(None, description="On 403: the role that would be allowed.")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    estimated_total: int | None = Field(description="Matching rows, exact for small sets, else an estimate.")


# --- auth ---------------------------------------------------------------------------------------------------


class LoginRequest(Strict):
    email: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=200)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    permissions: list[str]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")
    user: Me


# --- monitoring ---------------------------------------------------------------------------------------------


class ServiceInfo(BaseModel):
    name: str
    namespace: str
    port: int
    tier: int = Field(description="Criticality tier from seed 002: 1 is the most critical.")
    description: str
    health_url: str
    live_url: str
    ready_url: str
    metrics_url: str


class ServiceRegistry(BaseModel):
    generated_at: str
    items: list[ServiceInfo]


class LatencyPercentiles(BaseModel):
    p50: float
    p95: float
    p99: float


class SlowEndpoint(BaseModel):
    service: str
    endpoint: str
    p95_ms: float
    rps: float


class ErrorEndpoint(BaseModel):
    service: str
    endpoint: str
    error_rate: float
    rps: float


class ApiHealth(BaseModel):
    generated_at: str
    window_s: float
    status: Literal["up", "degraded", "down"]
    uptime_pct: float
    rps: float
    latency_ms: LatencyPercentiles
    error_rate: float
    error_rate_4xx: float
    error_rate_5xx: float
    slowest_endpoints: list[SlowEndpoint]
    error_endpoints: list[ErrorEndpoint]


class PoolUsage(BaseModel):
    size: int
    in_use: int
    waiting: int


class DatabaseStatus(BaseModel):
    name: str
    role: str
    status: Literal["up", "degraded", "down"]
    replication_lag_s: float | None
    cpu_pct: float
    connections: int
    pool: PoolUsage
    query_p95_ms: float
    slow_queries_per_min: float
    disk_used_pct: float


class SlowQuery(BaseModel):
    database: str
    query: str
    mean_ms: float
    calls: int


class DatabaseHealth(BaseModel):
    generated_at: str
    databases: list[DatabaseStatus]
    slow_queries: list[SlowQuery]


class SyncLatency(BaseModel):
    p50: float
    p95: float


class SyncQuality(BaseModel):
    generated_at: str
    detection_rate: float
    detection_failure_rate: float
    sync_latency_ms: SyncLatency
    accuracy: float
    error_rate: float
    sessions_per_min: float


# --- admin --------------------------------------------------------------------------------------------------


class AdminUser(BaseModel):
    id: int
    email: str
    name: str
    country: str
    signup_at: str
    last_active_at: str
    status: UserStatus
    email_verified: bool
    password_reset_at: str | None
    version: int
    platform_access: str | None = Field(
        None,
        description='JSON object platform -> role, e.g. {"workstation": "editor"}; null: consumer app only.',
    )
    merged_into: int | None = Field(None, description="The account a merged duplicate was merged into.")


class AdminVendor(BaseModel):
    id: int
    name: str
    email: str
    country: str
    created_at: str
    status: VendorStatus
    commission_pct: float
    warnings: int
    products_removed: int
    late_shipments: int
    version: int
    review_feedback: str | None = Field(None, description="What the vendor was told at its review.")


class AdminProduct(BaseModel):
    id: int
    vendor_id: int
    title: str
    category: str
    price_cents: int
    created_at: str
    status: ProductStatus
    flagged: bool
    flag_reason: str | None
    version: int


Reason = Field(min_length=1, max_length=1000, description="Why; kept in the audit trail.")


class AdminContent(BaseModel):
    id: int
    title: str
    genre: str
    created_at: str
    subjects: int
    verified_subjects: int
    status: ContentStatus
    flagged: bool
    flag_reason: str | None
    version: int


class AdminSubjectLink(BaseModel):
    id: int
    product_id: int
    content_id: int
    subject: str
    status: SubjectLinkStatus
    created_at: str
    version: int


class UserActionRequest(Strict):
    action: Literal[
        "suspend",
        "unsuspend",
        "ban",
        "reset_password",
        "verify_email",
        "grant_access",
        "revoke_access",
        "merge",
    ]
    reason: str = Reason
    platform: Platform | None = Field(None, description="Required for grant_access and revoke_access.")
    role: str | None = Field(
        None,
        max_length=40,
        description="Required for grant_access: the role on that platform (see PLATFORM_ROLES).",
    )
    into_user_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Required for merge: the account this duplicate merges into."
    )


class VendorActionRequest(Strict):
    action: Literal["approve", "reject", "suspend", "unsuspend", "ban", "set_commission"]
    reason: str = Reason
    commission_pct: float | None = Field(None, ge=0, le=100, description="Required for set_commission.")
    feedback: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="What the vendor is told at approve or reject (required for reject).",
    )


class ProductActionRequest(Strict):
    action: Literal["approve", "reject", "remove"]
    reason: str = Reason


class ContentActionRequest(Strict):
    action: Literal["hide", "unhide", "remove", "clear_flag"]
    reason: str = Reason


class SubjectLinkActionRequest(Strict):
    action: Literal["approve", "reject", "remove"]
    reason: str = Reason


# --- alerts -------------------------------------------------------------------------------------------------


class Alert(BaseModel):
    id: int
    fingerprint: str
    source: Literal["nexus"] = "nexus"
    rule: str
    severity: Severity
    state: AlertState
    service: str
    namespace: str
    labels: dict[str, str]
    summary: str
    description: str
    runbook_url: str
    value: float
    threshold: float
    starts_at: str
    updated_at: str
    ends_at: str | None
    ack_by: str | None
    ack_at: str | None
    ack_expires_at: str | None
    resolved_by: str | None
    silenced_until: str | None = Field(
        description="While `silenced`: when the silence ends and the alert returns to its previous state."
    )
    silenced_by: str | None = Field(description="Who silenced the alert.")
    silence_comment: str | None = Field(description="Why, as the one who silenced it wrote it.")


class AcknowledgeRequest(Strict):
    comment: str | None = Field(None, max_length=2000)
    ack_timeout_s: float | None = Field(
        None, gt=0, le=7 * 86400, description="After this many seconds the alert fires again."
    )


class ResolveRequest(Strict):
    comment: str | None = Field(None, max_length=2000)


MAX_SILENCE_S = 30 * 86400


class SilenceRequest(Strict):
    """Exactly one of `until` and `duration_s`."""

    until: str | None = Field(
        None,
        description="When the silence ends: an RFC 3339 time with an offset, in the future, within 30 days.",
        json_schema_extra={"format": "date-time"},
    )
    duration_s: float | None = Field(None, gt=0, le=MAX_SILENCE_S, description="How long the silence lasts.")
    comment: str | None = Field(None, max_length=2000)


class UnsilenceRequest(Strict):
    comment: str | None = Field(None, max_length=2000)


# --- audit --------------------------------------------------------------------------------------------------


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict | None
    after: dict | None
    reason: str | None
    idempotency_key: str | None


# --- list pages, named for the contract ---------------------------------------------------------------------


class UserPage(Page[AdminUser]):
    pass


class VendorPage(Page[AdminVendor]):
    pass


class ProductPage(Page[AdminProduct]):
    pass


class ContentPage(Page[AdminContent]):
    pass


class SubjectLinkPage(Page[AdminSubjectLink]):
    pass


class AlertPage(Page[Alert]):
    pass


class AuditPage(Page[AuditEntry]):
    pass

"""The contract's analytics bodies (pydantic): KPIs, reports, funnels, retention and activity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_refserver.analytics_groups import MIN_DECIDED_LINKS, MIN_DETECTED_SESSIONS


class CountByKey(BaseModel):
    key: str
    count: int


class UserSegment(BaseModel):
    key: str
    label: str
    users: int
    orders: int


class UserGroup(BaseModel):
    key: str
    label: str
    users: int
    active_users_30d: int = Field(description="Users whose last activity is in the 30 days before `as_of`.")
    buyers: int = Field(description="Users with at least one completed order.")
    orders: int = Field(description="Completed orders of these users.")


class UserAnalytics(BaseModel):
    generated_at: str
    as_of: str = Field(description="The instant the platform data describes.")
    total_users: int
    active_users: int
    suspended_users: int
    banned_users: int
    dau: int
    wau: int
    mau: int
    new_users_7d: int
    new_users_30d: int
    email_verified_rate: float
    by_country: list[CountByKey]
    signups_by_month: list[CountByKey]
    by_acquisition_source: list[UserGroup] = Field(description="Every source, in a fixed order.")
    by_age_band: list[UserGroup] = Field(description="Every age band, youngest first.")
    by_gender: list[UserGroup] = Field(description="Every gender answer, in a fixed order.")
    segments: list[UserSegment] = Field(
        description="Every user in one behaviour segment, the first that fits: heavy users (3+ sync sessions "
        "and 2+ completed orders), repeat buyers (2+), one-time buyers (1), browsers (added to a cart, never "
        "bought), none of these; with their completed orders."
    )


class VendorLinkQuality(BaseModel):
    vendor_id: int
    name: str
    links: int = Field(description="Product-subject links of the vendor's products, any status.")
    verified: int
    pending: int
    rejected: int
    removed: int
    quality: float = Field(description="verified / (verified + rejected + removed), 4 decimals.")


class VendorRevenue(BaseModel):
    vendor_id: int
    name: str
    revenue_cents: int
    orders: int


class ComplianceCounters(BaseModel):
    warnings: int
    products_removed: int
    late_shipments: int


class VendorAnalytics(BaseModel):
    generated_at: str
    as_of: str
    total_vendors: int
    by_status: list[CountByKey]
    pending_approval: int
    avg_commission_pct: float
    total_products: int
    flagged_products: int
    pending_products: int
    top_vendors_by_orders: list[VendorRevenue]
    top_vendors_by_link_quality: list[VendorLinkQuality] = Field(
        description="Up to 10 vendors by link quality, then decided links, then id; only vendors with at "
        f"least {MIN_DECIDED_LINKS} decided (verified, rejected or removed) links."
    )
    compliance: ComplianceCounters


class ContentPopularity(BaseModel):
    content_id: int
    title: str
    genre: str
    sync_sessions: int


class GenreClickThrough(BaseModel):
    genre: str
    detected_sessions: int
    sessions_with_click: int
    click_through: float = Field(description="sessions_with_click / detected_sessions, 4 decimals.")


class ContentClickThrough(BaseModel):
    content_id: int
    title: str
    genre: str
    detected_sessions: int
    sessions_with_click: int
    clicks: int
    click_through: float = Field(description="sessions_with_click / detected_sessions, 4 decimals.")


class ContentAnalytics(BaseModel):
    generated_at: str
    as_of: str
    total_contents: int
    sync_sessions_30d: int
    sync_hours_30d: float
    completion_rate: float
    detection_rate: float
    subject_verification_rate: float
    by_genre: list[CountByKey]
    top_contents: list[ContentPopularity]
    subject_click_through_30d: float = Field(
        description="Of the sync sessions with subjects detected that started in the 30 days before `as_of`, "
        "the fraction with at least one click on a subject, 4 decimals."
    )
    click_through_by_genre: list[GenreClickThrough] = Field(
        description="The same by the content's genre, highest first."
    )
    top_contents_by_click_through: list[ContentClickThrough] = Field(
        description=f"Up to 10 contents by click-through (then detected sessions, then id), from "
        f"{MIN_DETECTED_SESSIONS} detected sessions in the 30 days."
    )


class RevenueByChannel(BaseModel):
    channel: str
    revenue_cents: int
    orders: int


class RevenueByMonth(BaseModel):
    month: str
    revenue_cents: int
    commission_cents: int
    orders: int


class RevenueAnalytics(BaseModel):
    generated_at: str
    as_of: str
    currency: Literal["USD"] = "USD"
    revenue_cents_30d: int
    commission_cents_30d: int
    orders_30d: int
    average_order_value_cents: int
    refund_rate: float
    payment_failure_rate: float
    by_channel: list[RevenueByChannel]
    by_month: list[RevenueByMonth]
    top_vendors_by_revenue: list[VendorRevenue]


ReportColumnType = Literal["string", "integer", "number", "currency", "date", "month"]


class ReportColumn(BaseModel):
    name: str = Field(description="A dimension (`vendor` adds `vendor_id` after it) or a metric.")
    label: str = Field(description="A heading for people, e.g. `Revenue (USD)`.")
    type: ReportColumnType = Field(
        description="date: YYYY-MM-DD; month: YYYY-MM; number: a ratio (4 decimals); "
        "currency: USD with 2 decimals."
    )


class ReportResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    generated_at: str
    as_of: str = Field(description="The instant the platform data describes.")
    date_from: str = Field(alias="from", description="First day of the range (inclusive), YYYY-MM-DD.")
    to: str = Field(description="End of the range (exclusive), YYYY-MM-DD.")
    columns: list[ReportColumn] = Field(description="Dimension columns first, then the metrics, as asked.")
    rows: list[list[str | int | float | None]] = Field(
        description="One value a column, ordered by the dimensions as asked (ascending); null where an "
        "order's vendor or product row is missing."
    )
    truncated: bool = Field(description="True when rows beyond `limit` were cut.")


FunnelName = Literal["registration", "subject_to_purchase", "content_discovery"]


class FunnelStep(BaseModel):
    step: int = Field(description="1 is the entry step.")
    label: str
    users: int = Field(description="Users whose furthest attempt reached this step within the window.")
    conversion_from_previous: float = Field(
        description="users / the previous step's users, 4 decimals; 1 for step 1 (0 without entrants)."
    )
    conversion_overall: float = Field(description="users / step 1's users, 4 decimals.")
    drop_off: int = Field(
        description="Users who reached the previous step, not this one, and whose window has closed (0 for "
        "step 1); users still in their window are not counted here."
    )
    median_seconds_to_convert: float | None = Field(
        description="Median seconds from step 1 to this step among the users who reached it; null for step 1 "
        "and when nobody reached it."
    )


class FunnelBreakdownStep(BaseModel):
    step: int
    users: int


class FunnelBreakdown(BaseModel):
    key: str | None = Field(
        description="The country, acquisition source or age band; null for anonymous visitors, who have no "
        "users row."
    )
    steps: list[FunnelBreakdownStep]


class FunnelResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    generated_at: str
    as_of: str = Field(description="The instant the platform data describes.")
    funnel: FunnelName
    date_from: str = Field(alias="from", description="First day users may enter (inclusive), YYYY-MM-DD.")
    to: str = Field(description="End of the entry range (exclusive), YYYY-MM-DD.")
    window_hours: int = Field(description="How long after their step 1 a user has to reach each step.")
    step_window_hours: list[int] | None = Field(
        description="With `step_window_hours` asked: the hours each step after the first may come after the "
        "step before, one per step after the first; otherwise null."
    )
    steps: list[FunnelStep]
    still_in_window: int = Field(
        description="Users who entered and have not reached the last step, but whose window is still open "
        "at `as_of`. They are in the conversion denominators and in no `drop_off`, so "
        "`steps[0].users = steps[-1].users + sum(drop_off) + still_in_window`."
    )
    breakdown: list[FunnelBreakdown] | None = Field(
        description="With `breakdown`: users per step by its key, the most entrants first; otherwise null."
    )


RetentionGrain = Literal["day", "week", "month", "quarter"]
RetentionMode = Literal["on", "on_or_after"]


class RetentionCohort(BaseModel):
    cohort: str = Field(
        description="The signup period: its first day YYYY-MM-DD (a week's Monday), YYYY-MM for a month, or "
        "YYYY-Qn for a quarter."
    )
    size: int = Field(description="Users who signed up in that period.")
    values: list[float | None] = Field(
        description="For period offsets 0.. (0 is the signup period): the fraction of the cohort active, 4 "
        "decimals; null where the period is not over by `as_of`."
    )


class RetentionResult(BaseModel):
    generated_at: str
    as_of: str = Field(description="The instant the platform data describes.")
    grain: RetentionGrain
    mode: RetentionMode
    cohorts: list[RetentionCohort] = Field(description="Oldest first; the last is the last whole period.")
    d1: float = Field(description="Day-1 retention: active on the day after the signup day.")
    d7: float = Field(description="Day-7 retention: active on the 7th day after the signup day.")
    d30: float = Field(description="Day-30 retention: active on the 30th day after the signup day.")


class ActivityDay(BaseModel):
    day: str = Field(description="A UTC day, YYYY-MM-DD.")
    dau: int = Field(description="Distinct users active that day.")
    wau: int = Field(description="Distinct users active in the 7 days ending that day.")
    mau: int = Field(description="Distinct users active in the 30 days ending that day.")


class ActivityResult(BaseModel):
    generated_at: str
    as_of: str = Field(description="The instant the platform data describes.")
    days: list[ActivityDay] = Field(description="Oldest first; the last is the day before `as_of`.")

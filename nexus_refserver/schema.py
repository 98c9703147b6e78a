"""Table definitions of the four databases in the Nexus connection model.

users, workstation and marketplace hold platform data (read by analytics, changed only by audited admin
actions); nexus holds Nexus's own data: staff accounts and tokens, idempotency keys, alerts and their
event log, incidents, and the audit trail.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

users_metadata = MetaData()
workstation_metadata = MetaData()
marketplace_metadata = MetaData()
nexus_metadata = MetaData()

# --- users database ---------------------------------------------------------------------------------------

users = Table(
    "users",
    users_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("signup_at", DateTime(timezone=True), nullable=False),
    Column("last_active_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # active | suspended | banned | merged
    Column("email_verified", Boolean, nullable=False),
    Column("password_reset_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False),
    # JSON object platform -> role ({"workstation": "editor"}); NULL: the consumer app only
    Column("platform_access", Text, nullable=True),
    # a duplicate account merged into another: that account's id (status `merged`)
    Column("merged_into", Integer, nullable=True),
    # an explicit index rather than a column UNIQUE, so a bulk load can drop it and build it afterwards
    Index("uq_users_email", "email", unique=True),
    Index("ix_users_status_id", "status", "id"),
    Index("ix_users_name", "name"),
)

sync_sessions = Table(
    "sync_sessions",
    users_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("content_id", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("detected", Boolean, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("completed", Boolean, nullable=False),
    Index("ix_sync_sessions_user_started", "user_id", "started_at"),
)

# what users searched the platform for; the admin user pane shows the latest
search_queries = Table(
    "search_queries",
    users_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("query", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_search_queries_user_at", "user_id", "at"),
)

# Step events of the product brief's funnels (funnels.py names them: registration, subject_to_purchase,
# content_discovery; steps 1..6). A `user_id` above VISITOR_ID_BASE (1,000,000,000) is an anonymous visitor
# who never signed up: registration's first two steps only, and no users row.
funnel_events = Table(
    "funnel_events",
    users_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("funnel", String(32), nullable=False),
    Column("step", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # covering: a funnel's events over a time range, read in time order without touching the table
    Index("ix_funnel_events_funnel_at", "funnel", "at", "user_id", "step"),
)

# One row per user per UTC day with any activity (DATE on PostgreSQL, 'YYYY-MM-DD' text on SQLite: both
# compare and sort as dates); from ACTIVITY_START (generator_activity.py) on.
user_activity = Table(
    "user_activity",
    users_metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("day", Date, primary_key=True),
    Index("ix_user_activity_day_user", "day", "user_id"),
    sqlite_with_rowid=False,  # the primary key is the table: one B-tree less to write
)

# --- workstation database ---------------------------------------------------------------------------------

contents = Table(
    "contents",
    workstation_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("title", String(200), nullable=False),
    Column("genre", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("subjects", Integer, nullable=False),
    Column("verified_subjects", Integer, nullable=False),
    Column("status", String(16), nullable=False, server_default="published"),  # published | hidden | removed
    Column("flagged", Boolean, nullable=False, server_default=false()),
    Column("flag_reason", String(100), nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Index("ix_contents_status_id", "status", "id"),
)

# --- marketplace database ---------------------------------------------------------------------------------

vendors = Table(
    "vendors",
    marketplace_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("email", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected | suspended | banned
    Column("commission_pct", Float, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("products_removed", Integer, nullable=False),
    Column("late_shipments", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    # what the vendor was told when its registration was approved or rejected
    Column("review_feedback", Text, nullable=True),
    Index("ix_vendors_status_id", "status", "id"),
)

products = Table(
    "products",
    marketplace_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("vendor_id", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("category", String(40), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected | removed
    Column("flagged", Boolean, nullable=False),
    Column("flag_reason", String(100), nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_products_status_id", "status", "id"),
    Index("ix_products_flagged_id", "flagged", "id"),
)

orders = Table(
    "orders",
    marketplace_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("vendor_id", Integer, nullable=False),
    Column("product_id", Integer, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("commission_cents", Integer, nullable=False),
    Column("channel", String(16), nullable=False),  # webshop | consumer_app
    Column("status", String(16), nullable=False),  # completed | refunded | failed
    Index("ix_orders_user_placed", "user_id", "placed_at"),
    Index("ix_orders_vendor", "vendor_id"),
)

cart_events = Table(
    "cart_events",
    marketplace_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, nullable=False),
    Column("product_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),  # add | remove | checkout
    Index("ix_cart_events_user_at", "user_id", "at"),
)

# a product seen in workstation content: `subject` is the detected subject of that content
product_subject_links = Table(
    "product_subject_links",
    marketplace_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("product_id", Integer, nullable=False),
    Column("content_id", Integer, nullable=False),
    Column("subject", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # verified | pending | rejected | removed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Index("ix_product_subject_links_product", "product_id", "created_at"),
    Index("ix_product_subject_links_status_id", "status", "id"),
    Index("ix_product_subject_links_content", "content_id"),
)

# --- nexus database ---------------------------------------------------------------------------------------

meta = Table(
    "meta",
    nexus_metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

staff = Table(
    "staff",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_salt", String(64), nullable=False),
    Column("password_hash", String(256), nullable=False),
)

tokens = Table(
    "tokens",
    nexus_metadata,
    # sha256 of the opaque token; the token itself is never stored
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # access | refresh
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    # the login session both halves of a pair belong to; logout and reuse revoke the whole family
    Column("family", String(32), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_tokens_family", "family"),
)

idempotency_keys = Table(
    "idempotency_keys",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # NULL while the first request is still running
    Column("status_code", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("response_headers", Text, nullable=True),
    UniqueConstraint("actor", "key", name="uq_idempotency_actor_key"),
)

audit_log = Table(
    "audit_log",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Index("ix_audit_entity", "entity_type", "entity_id"),
    Index("ix_audit_actor", "actor"),
)

# A planned admin change between reserving its Idempotency-Key and writing its audit row: the entity lives
# in another database, so a crash in between is repaired from this row at the next start.
write_intents = Table(
    "write_intents",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(200), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("from_version", Integer, nullable=False),
    Column("to_version", Integer, nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("reason", Text, nullable=True),
    UniqueConstraint("actor", "idempotency_key", name="uq_write_intents_actor_key"),
)

alerts = Table(
    "alerts",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(200), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending | firing | acknowledged | silenced | resolved
    Column("service", String(100), nullable=False),
    Column("namespace", String(100), nullable=False),
    Column("labels", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("runbook_url", Text, nullable=False),
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=True),
    Column("ack_by", String(200), nullable=True),
    Column("ack_at", DateTime(timezone=True), nullable=True),
    Column("ack_expires_at", DateTime(timezone=True), nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("silenced_until", DateTime(timezone=True), nullable=True),
    Column("silenced_by", String(200), nullable=True),
    Column("silence_comment", Text, nullable=True),
    Column("silenced_from", String(16), nullable=True),  # the state to return to when the silence ends
    Column("version", Integer, nullable=False),
    # one active (not resolved) alert per fingerprint
    Index(
        "uq_alerts_active_fingerprint",
        "fingerprint",
        unique=True,
        sqlite_where=text("state != 'resolved'"),
        postgresql_where=text("state != 'resolved'"),
    ),
    Index("ix_alerts_state", "state"),
)

alert_events = Table(
    "alert_events",
    nexus_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("alert_json", Text, nullable=False),
    sqlite_autoincrement=True,
)

incidents = Table(
    "incidents",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(300), nullable=False),
    Column("severity", String(16), nullable=False),
    # triage | investigating | fixing | monitoring | resolved | closed
    Column("status", String(16), nullable=False),
    Column("commander", String(200), nullable=True),
    Column("summary", Text, nullable=False),
    Column("alert_ids", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False),
    # JSON lists: [{"email", "role"}] and service ids
    Column("responders", Text, nullable=False, server_default="[]"),
    Column("services", Text, nullable=False, server_default="[]"),
    # the milestones besides resolved_at, in the order they must keep
    Column("impact_started_at", DateTime(timezone=True), nullable=True),
    Column("detected_at", DateTime(timezone=True), nullable=True),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("mitigated_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
)

incident_timeline = Table(
    "incident_timeline",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    # when it happened (a responder may choose it); created_at is when it was written
    Column("at", DateTime(timezone=True), nullable=False),
    Column(
        "kind", String(16), nullable=False
    ),  # status | severity | role | field | alert | action | note | custom
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("ref", String(200), nullable=True),
    Column("hidden", Boolean, nullable=False, server_default=false()),
    Column("pinned", Boolean, nullable=False, server_default=false()),
    # NULL only on entries written before the column existed: read as `at`
    Column("created_at", DateTime(timezone=True), nullable=True),
    Column("edited_at", DateTime(timezone=True), nullable=True),
    Index("ix_timeline_incident", "incident_id", "id"),
)

# One post-mortem per incident, written whole (PUT) under its own version.
incident_postmortems = Table(
    "incident_postmortems",
    nexus_metadata,
    Column("incident_id", Integer, ForeignKey("incidents.id"), primary_key=True, autoincrement=False),
    Column("owner", String(200), nullable=True),
    Column("summary", Text, nullable=False),
    Column("impact", Text, nullable=False),
    Column("root_cause", Text, nullable=False),
    Column("went_well", Text, nullable=False),
    Column("went_badly", Text, nullable=False),
    Column("action_items", Text, nullable=False),  # JSON [{"text", "owner", "due", "done"}]
    Column("timeline_entry_ids", Text, nullable=False),  # JSON [int]
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

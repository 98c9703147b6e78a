"""The console's own SQLAlchemy Core view of the platform schema: only the columns it reads.

tests/admin/test_schema_matches.py proves these tables match the reference server's real databases.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text

from nexus_console.domain.admin import EntityType

_metadata = MetaData()

users = Table(
    "users",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(200)),
    Column("name", String(200)),
    Column("country", String(2)),
    Column("signup_at", DateTime(timezone=True)),
    Column("last_active_at", DateTime(timezone=True)),
    Column("status", String(16)),
    Column("email_verified", Boolean),
    Column("password_reset_at", DateTime(timezone=True)),
    Column("version", Integer),
    Column("platform_access", Text),
    Column("merged_into", Integer),
)

sync_sessions = Table(
    "sync_sessions",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("content_id", Integer),
    Column("started_at", DateTime(timezone=True)),
    Column("duration_s", Integer),
    Column("detected", Boolean),
    Column("latency_ms", Integer),
    Column("completed", Boolean),
)

vendors = Table(
    "vendors",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200)),
    Column("email", String(200)),
    Column("country", String(2)),
    Column("created_at", DateTime(timezone=True)),
    Column("status", String(16)),
    Column("commission_pct", Float),
    Column("warnings", Integer),
    Column("products_removed", Integer),
    Column("late_shipments", Integer),
    Column("version", Integer),
    Column("review_feedback", Text),
)

products = Table(
    "products",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor_id", Integer),
    Column("title", String(200)),
    Column("category", String(40)),
    Column("price_cents", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("status", String(16)),
    Column("flagged", Boolean),
    Column("flag_reason", String(100)),
    Column("version", Integer),
)

orders = Table(
    "orders",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("vendor_id", Integer),
    Column("product_id", Integer),
    Column("placed_at", DateTime(timezone=True)),
    Column("quantity", Integer),
    Column("amount_cents", Integer),
    Column("commission_cents", Integer),
    Column("channel", String(16)),
    Column("status", String(16)),
)

search_queries = Table(
    "search_queries",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("query", String(200)),
    Column("at", DateTime(timezone=True)),
)

cart_events = Table(
    "cart_events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("product_id", Integer),
    Column("at", DateTime(timezone=True)),
    Column("kind", String(16)),
)

product_subject_links = Table(
    "product_subject_links",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer),
    Column("content_id", Integer),
    Column("subject", String(100)),
    Column("status", String(16)),
    Column("created_at", DateTime(timezone=True)),
    Column("version", Integer),
)

contents = Table(
    "contents",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200)),
    Column("genre", String(40)),
    Column("created_at", DateTime(timezone=True)),
    Column("subjects", Integer),
    Column("verified_subjects", Integer),
    Column("status", String(16)),
    Column("flagged", Boolean),
    Column("flag_reason", String(100)),
    Column("version", Integer),
)

# which replica holds which table
TABLE_REPLICA = {
    "users": "users",
    "sync_sessions": "users",
    "search_queries": "users",
    "vendors": "marketplace",
    "products": "marketplace",
    "orders": "marketplace",
    "cart_events": "marketplace",
    "product_subject_links": "marketplace",
    "contents": "workstation",
}
CONSOLE_TABLES = {
    t.name: t
    for t in (
        users,
        sync_sessions,
        search_queries,
        vendors,
        products,
        orders,
        cart_events,
        product_subject_links,
        contents,
    )
}
ENTITY_TABLES = {
    EntityType.USER: users,
    EntityType.VENDOR: vendors,
    EntityType.PRODUCT: products,
    EntityType.CONTENT: contents,
    EntityType.SUBJECT_LINK: product_subject_links,
}

"""Tables of the users database for the analytics the product brief asks of users and content: each user's
demographics and acquisition source, and the subject clicks during sync sessions. Defined on the users
database's metadata; `databases.py` imports this module so they are created with the others."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from nexus_refserver.schema import users_metadata

ACQUISITION_SOURCES = (
    ("organic_search", "Organic search"),
    ("paid_search", "Paid search"),
    ("social", "Social"),
    ("referral", "Referral"),
    ("app_store", "App store"),
    ("email_campaign", "E-mail campaign"),
    ("direct", "Direct"),
)
AGE_BANDS = (("18-24", "18–24"), ("25-34", "25–34"), ("35-44", "35–44"), ("45-54", "45–54"),
             ("55-64", "55–64"), ("65+", "65+"))  # fmt: skip
GENDERS = (
    ("female", "Female"),
    ("male", "Male"),
    ("non_binary", "Non-binary"),
    ("undisclosed", "Undisclosed"),
)

# One row per user: how they came to the platform and who they are (as given at signup).
user_profiles = Table(
    "user_profiles",
    users_metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("acquisition_source", String(20), nullable=False),
    Column("age_band", String(8), nullable=False),
    Column("gender", String(16), nullable=False),
)

# A click on a detected subject (a product shown in the subject panel) during a sync session.
subject_clicks = Table(
    "subject_clicks",
    users_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("sync_session_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("content_id", Integer, nullable=False),
    Column("subject", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_subject_clicks_session", "sync_session_id"),
)

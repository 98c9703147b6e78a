"""Tables of the Nexus database for GDPR compliance: data-subject requests (DSARs) and consent changes.
Defined on the Nexus metadata; `databases.py` imports this module so they are created with the others.

A data-subject request is versioned like the admin entities: `PATCH /compliance/dsar/{id}` goes through the
entity writer (If-Match on `version`, Idempotency-Key, an audit row per change). Consent changes are an
append-only history: a user's consent for a purpose is their latest row for it."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from nexus_refserver.schema import nexus_metadata

DSAR_KINDS = ("access", "deletion", "rectification", "portability")
DSAR_STATUSES = ("open", "extended", "completed", "rejected")
CONSENT_PURPOSES = ("marketing", "analytics", "personalisation")
CONSENT_SOURCES = ("signup", "settings", "banner")

# A request by a platform user to see, delete, correct or take away their data. `completed_at` is when it
# was closed (completed or rejected); `note` is the latest reason given for an action on it.
data_subject_requests = Table(
    "data_subject_requests",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),
    Column("user", String(200), nullable=False),  # the user's e-mail
    Column("kind", String(16), nullable=False),  # access | deletion | rectification | portability
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status", String(12), nullable=False),  # open | extended | completed | rejected
    Column("extended_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_data_subject_requests_received_at", "received_at"),
)

# One consent choice: at signup (one row per purpose), or a later change in the settings or a banner.
consent_changes = Table(
    "consent_changes",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("purpose", String(16), nullable=False),  # marketing | analytics | personalisation
    Column("granted", Boolean, nullable=False),
    Column("source", String(8), nullable=False),  # signup | settings | banner
    Index("ix_consent_changes_user_purpose_at", "user_id", "purpose", "at"),
    Index("ix_consent_changes_at", "at"),
)

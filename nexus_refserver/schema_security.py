"""Tables of the Nexus database for security events: login attempts, API access by client, requests the
WAF blocked, and privileged (staff) actions. Defined on the Nexus metadata; `databases.py` imports this
module so they are created with the others.

Rows are appended in time order by one writer (`security_feed.SecurityStore`), so id order is time order
and an id is a safe paging cursor: a later id is never committed before an earlier one."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from nexus_refserver.schema import nexus_metadata

LOGIN_RESULTS = ("success", "failure")
LOGIN_FAILURE_REASONS = ("bad_password", "unknown_account", "locked")
WAF_RULES = ("sqli", "xss", "path_traversal")

# One sign-in attempt on the consumer platform; `user` is the e-mail tried, `user_id` null when no
# account has it.
login_attempts = Table(
    "login_attempts",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("user", String(200), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("country", String(2), nullable=False),
    Column("user_agent", String(200), nullable=False),
    Column("result", String(8), nullable=False),  # success | failure
    Column("reason", String(20), nullable=True),  # bad_password | unknown_account | locked
    Index("ix_login_attempts_at", "at"),
    Index("ix_login_attempts_ip", "ip"),
    Index("ix_login_attempts_user", "user"),
)

# One request to the public API by a named client application.
api_access = Table(
    "api_access",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("client", String(64), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(200), nullable=False),
    Column("status", Integer, nullable=False),
    Index("ix_api_access_at", "at"),
    Index("ix_api_access_ip", "ip"),
)

# One request the web application firewall refused, and the rule that matched it.
waf_blocks = Table(
    "waf_blocks",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("country", String(2), nullable=False),
    Column("rule", String(16), nullable=False),  # sqli | xss | path_traversal
    Column("path", String(200), nullable=False),
    Index("ix_waf_blocks_at", "at"),
    Index("ix_waf_blocks_ip", "ip"),
)

# One action a staff member took with elevated rights (an audit-log entry, as a security event).
privileged_access = Table(
    "privileged_access",
    nexus_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(64), nullable=False),
    Index("ix_privileged_access_at", "at"),
)

# the streams of GET /security/events/{stream} and their tables
STREAM_TABLES = {
    "login": login_attempts,
    "api_access": api_access,
    "waf_block": waf_blocks,
    "privileged_access": privileged_access,
}

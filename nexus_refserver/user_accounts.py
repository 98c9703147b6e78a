"""User accounts across platforms: the roles a user holds on Workstation, Marketplace and Nexus
(`users.platform_access`), and merging a duplicate account into another."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from nexus_refserver.entity_writes import FollowUp
from nexus_refserver.problems import ProblemError
from nexus_refserver.schema import search_queries, sync_sessions, users

# the roles a user can hold on each platform (users.platform_access)
PLATFORM_ROLES: dict[str, tuple[str, ...]] = {
    "workstation": ("editor", "reviewer", "admin"),
    "marketplace": ("vendor_staff", "support", "admin"),
    "nexus": ("viewer", "analyst", "moderator", "finance", "admin"),
}


def platform_access(row: Any) -> dict[str, str]:
    return json.loads(row.platform_access) if row.platform_access else {}


def with_access(row: Any, platform: str, role: str | None) -> dict[str, Any]:
    access = platform_access(row)
    if role is None:
        access.pop(platform, None)
    else:
        access[platform] = role
    return {"platform_access": json.dumps(access, sort_keys=True) if access else None}


def check_merge_target(engine: Engine, user_id: int, into_user_id: int | None) -> None:
    """422 unless the merge names another account that is active or suspended."""
    if into_user_id is None:
        raise ProblemError(422, "merge needs into_user_id", title="Unprocessable Content")
    if into_user_id == user_id:
        raise ProblemError(422, "an account cannot be merged into itself", title="Unprocessable Content")
    with engine.connect() as conn:
        target = conn.execute(select(users.c.status).where(users.c.id == into_user_id)).first()
    if target is None or target.status not in ("active", "suspended"):
        state = "does not exist" if target is None else f"is {target.status}"
        raise ProblemError(
            422, f"user {into_user_id} {state}; merge into an active account", title="Unprocessable Content"
        )


def merge_follow_up(user_id: int, into_user_id: int) -> FollowUp:
    """What moves with a merge: the duplicate's sync sessions and searches (the users database, so the same
    transaction as the status change). Orders live in the marketplace database and stay under the old id;
    the merged account's `merged_into` leads to them."""

    def move(conn: Any) -> None:
        for table in (sync_sessions, search_queries):
            conn.execute(table.update().where(table.c.user_id == user_id).values(user_id=into_user_id))

    return move

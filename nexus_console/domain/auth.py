"""The signed-in user, roles, and what each role may see and do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ADMIN = "admin"
MODERATOR = "moderator"
FINANCE = "finance"
ANALYST = "analyst"
VIEWER = "viewer"
ALL_ROLES = frozenset({ADMIN, MODERATOR, FINANCE, ANALYST, VIEWER})
# who may read what (the API's role matrix): a pane is shown only to the roles that can read its source
MONITORING_READERS = frozenset({ADMIN, FINANCE, ANALYST, VIEWER})  # monitoring:read
ALERT_READERS = frozenset({ADMIN, MODERATOR, ANALYST, VIEWER})  # alerts:read
ANALYTICS_READERS = frozenset({ADMIN, FINANCE, ANALYST})  # analytics:read
REVENUE_READERS = frozenset({ADMIN, FINANCE})  # revenue:read
SECURITY_READERS = frozenset({ADMIN, ANALYST})  # security:read
COMPLIANCE_READERS = frozenset({ADMIN, ANALYST})  # compliance:read


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the login dialog collects; the password never shows in a repr."""

    email: str
    password: str
    remember: bool = False

    def __repr__(self) -> str:
        return f"Credentials(email={self.email!r}, password='***', remember={self.remember})"


@dataclass(frozen=True, slots=True)
class Me:
    id: str
    email: str
    name: str
    roles: frozenset[str]
    permissions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Me:
        return cls(
            id=str(body["id"]),
            email=str(body["email"]),
            name=str(body.get("name") or body["email"]),
            roles=frozenset(str(r) for r in body.get("roles", [])),
            permissions=frozenset(str(p) for p in body.get("permissions", [])),
        )

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of the given roles."""
        return bool(self.roles.intersection(roles))

    def may_access(self, required_roles: Iterable[str]) -> bool:
        """An empty requirement means any signed-in user."""
        required = frozenset(required_roles)
        return not required or bool(self.roles & required)


def permission_denied_text(required_role: str | None, action: str | None = None) -> str:
    """The message shown when the server answers 403."""
    what = action or "this action"
    if required_role:
        return f"You need the '{required_role}' role for {what}."
    return f"Your roles do not allow {what}."

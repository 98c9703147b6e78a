"""Who may do what: the role -> permission matrix every route checks.

| permission          | admin | moderator | finance | analyst | viewer |
|---------------------|-------|-----------|---------|---------|--------|
| monitoring:read     |   x   |           |    x    |    x    |   x    |
| analytics:read      |   x   |           |    x    |    x    |        |
| revenue:read        |   x   |           |    x    |         |        |
| users:read          |   x   |     x     |         |         |        |
| users:write         |   x   |           |         |         |        |
| vendors:read        |   x   |     x     |         |         |        |
| vendors:write       |   x   |           |         |         |        |
| products:read       |   x   |     x     |         |         |        |
| products:write      |   x   |     x     |         |         |        |
| content:read        |   x   |     x     |         |         |        |
| content:write       |   x   |     x     |         |         |        |
| alerts:read         |   x   |     x     |         |    x    |   x    |
| alerts:write        |   x   |     x     |         |    x    |        |
| incidents:read      |   x   |           |         |    x    |   x    |
| incidents:write     |   x   |           |         |    x    |        |
| audit:read          |   x   |           |         |         |        |
| security:read       |   x   |           |         |    x    |        |
| compliance:read     |   x   |           |         |    x    |        |
| compliance:write    |   x   |           |         |    x    |        |

Product-subject links are products:read/products:write.
Every authenticated role may read its own profile (`GET /auth/me`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    FINANCE = "finance"
    ANALYST = "analyst"
    VIEWER = "viewer"


class Permission(StrEnum):
    MONITORING_READ = "monitoring:read"
    ANALYTICS_READ = "analytics:read"
    REVENUE_READ = "revenue:read"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    VENDORS_READ = "vendors:read"
    VENDORS_WRITE = "vendors:write"
    PRODUCTS_READ = "products:read"
    PRODUCTS_WRITE = "products:write"
    CONTENT_READ = "content:read"
    CONTENT_WRITE = "content:write"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    INCIDENTS_READ = "incidents:read"
    INCIDENTS_WRITE = "incidents:write"
    AUDIT_READ = "audit:read"
    SECURITY_READ = "security:read"
    COMPLIANCE_READ = "compliance:read"
    COMPLIANCE_WRITE = "compliance:write"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MODERATOR: frozenset(
        {
            Permission.USERS_READ,
            Permission.VENDORS_READ,
            Permission.PRODUCTS_READ,
            Permission.PRODUCTS_WRITE,
            Permission.CONTENT_READ,
            Permission.CONTENT_WRITE,
            Permission.ALERTS_READ,
            Permission.ALERTS_WRITE,
        }
    ),
    Role.FINANCE: frozenset({Permission.MONITORING_READ, Permission.ANALYTICS_READ, Permission.REVENUE_READ}),
    Role.ANALYST: frozenset(
        {
            Permission.MONITORING_READ,
            Permission.ANALYTICS_READ,
            Permission.ALERTS_READ,
            Permission.ALERTS_WRITE,
            Permission.INCIDENTS_READ,
            Permission.INCIDENTS_WRITE,
            Permission.SECURITY_READ,
            Permission.COMPLIANCE_READ,
            Permission.COMPLIANCE_WRITE,
        }
    ),
    # A viewer is a wall display: it shows the open incidents, it changes nothing.
    Role.VIEWER: frozenset({Permission.MONITORING_READ, Permission.ALERTS_READ, Permission.INCIDENTS_READ}),
}

# The role named in a 403's `required_role`: the narrowest role that has the permission, admin otherwise.
REQUIRED_ROLE: dict[Permission, Role] = {
    Permission.MONITORING_READ: Role.VIEWER,
    Permission.ANALYTICS_READ: Role.ANALYST,
    Permission.REVENUE_READ: Role.FINANCE,
    Permission.USERS_READ: Role.MODERATOR,
    Permission.USERS_WRITE: Role.ADMIN,
    Permission.VENDORS_READ: Role.MODERATOR,
    Permission.VENDORS_WRITE: Role.ADMIN,
    Permission.PRODUCTS_READ: Role.MODERATOR,
    Permission.PRODUCTS_WRITE: Role.MODERATOR,
    Permission.CONTENT_READ: Role.MODERATOR,
    Permission.CONTENT_WRITE: Role.MODERATOR,
    Permission.ALERTS_READ: Role.VIEWER,
    Permission.ALERTS_WRITE: Role.ANALYST,
    Permission.INCIDENTS_READ: Role.VIEWER,
    Permission.INCIDENTS_WRITE: Role.ANALYST,
    Permission.AUDIT_READ: Role.ADMIN,
    Permission.SECURITY_READ: Role.ANALYST,
    Permission.COMPLIANCE_READ: Role.ANALYST,
    Permission.COMPLIANCE_WRITE: Role.ANALYST,
}


def permissions_for(roles: list[str]) -> set[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(Role(role), frozenset())
    return granted


def roles_with(permission: Permission) -> list[str]:
    return [role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def access_note(permission: Permission) -> str:
    """The sentence each route's contract description carries."""
    return f"Requires `{permission.value}` (roles: {', '.join(roles_with(permission))})."

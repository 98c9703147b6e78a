"""The parameters some admin actions carry besides their reason, and how each is checked before it is
queued: a vendor's commission, platform access and roles, the account a duplicate merges into, and the
feedback a vendor reads after its review."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# The roles a user can hold on each platform (the API's users.platform_access; nexus-api.yaml lists them in
# the grant_access description). The console's own copy: it never imports the reference server.
PLATFORM_ROLES: dict[str, tuple[str, ...]] = {
    "workstation": ("editor", "reviewer", "admin"),
    "marketplace": ("vendor_staff", "support", "admin"),
    "nexus": ("viewer", "analyst", "moderator", "finance", "admin"),
}
PLATFORM_LABELS = {"workstation": "Workstation", "marketplace": "Marketplace", "nexus": "Nexus"}
MAX_FEEDBACK_LENGTH = 2000


class ParamError(ValueError):
    """A parameter that must not be queued; the text says what is wrong."""


def platform_access(row: Mapping[str, Any]) -> dict[str, str]:
    """A user's roles per platform, from the row's JSON column; {} for the consumer app only."""
    text = row.get("platform_access")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def describe_access(row: Mapping[str, Any]) -> str:
    """`Workstation: editor · Nexus: viewer`, or `consumer app only`."""
    access = platform_access(row)
    if not access:
        return "consumer app only"
    return " · ".join(f"{PLATFORM_LABELS.get(p, p)}: {role}" for p, role in sorted(access.items()))


def _platform(params: Mapping[str, Any]) -> str:
    platform = params.get("platform")
    if platform not in PLATFORM_ROLES:
        raise ParamError(f"platform must be one of {', '.join(PLATFORM_ROLES)}")
    return str(platform)


def _feedback(params: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
    feedback = " ".join(str(params.get("feedback") or "").split())
    if not feedback:
        if required:
            raise ParamError("a rejected vendor needs feedback: say what to fix before applying again")
        return {}
    if len(feedback) > MAX_FEEDBACK_LENGTH:
        raise ParamError(f"the feedback is longer than {MAX_FEEDBACK_LENGTH} characters")
    return {"feedback": feedback}


def checked_params(
    entity_type: str, action: str, entity_id: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The parameters to send for this action, normalised; ParamError when one is missing or wrong."""
    key = (entity_type, action)
    if key == ("vendor", "set_commission"):
        value = params.get("commission_pct")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ParamError("commission_pct must be a number from 0 to 100")
        return {"commission_pct": float(value)}
    if key in (("vendor", "approve"), ("vendor", "reject")):
        return _feedback(params, required=action == "reject")
    if key == ("user", "grant_access"):
        platform = _platform(params)
        role = params.get("role")
        if role not in PLATFORM_ROLES[platform]:
            raise ParamError(
                f"a {PLATFORM_LABELS[platform]} role is one of {', '.join(PLATFORM_ROLES[platform])}"
            )
        return {"platform": platform, "role": role}
    if key == ("user", "revoke_access"):
        return {"platform": _platform(params)}
    if key == ("user", "merge"):
        into = params.get("into_user_id")
        if isinstance(into, str) and into.strip().isdigit():
            into = int(into.strip())
        if isinstance(into, bool) or not isinstance(into, int) or into < 1:
            raise ParamError("name the account to merge into by its user id")
        if str(into) == str(entity_id):
            raise ParamError("an account cannot be merged into itself")
        return {"into_user_id": into}
    if params:
        raise ParamError(f"{action} takes no parameters, got {sorted(params)}")
    return {}

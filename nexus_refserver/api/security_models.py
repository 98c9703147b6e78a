"""Response bodies of the security endpoints (pydantic), the source of their schemas in nexus-api.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Stream = Literal["login", "api_access", "waf_block", "privileged_access"]
LoginResult = Literal["success", "failure"]
WafRule = Literal["sqli", "xss", "path_traversal"]

_ID = "Increasing within the stream: later events have larger ids."
_AT = "When it happened, RFC 3339 UTC with milliseconds."


class LoginEvent(BaseModel):
    """A sign-in attempt on the platform."""

    id: int = Field(description=_ID)
    at: str = Field(description=_AT)
    user_id: int | None = Field(description="The account with this e-mail; null when none has it.")
    user: str = Field(description="The e-mail address tried.")
    ip: str
    country: str = Field(description="ISO 3166-1 alpha-2 country of the address.")
    user_agent: str
    result: LoginResult
    reason: str | None = Field(description="Why it failed: `bad_password`, `unknown_account` or `locked`.")


class ApiAccessEvent(BaseModel):
    """A request to the public API by a named client application."""

    id: int = Field(description=_ID)
    at: str = Field(description=_AT)
    client: str
    ip: str
    method: str
    path: str
    status: int


class WafBlockEvent(BaseModel):
    """A request the web application firewall refused."""

    id: int = Field(description=_ID)
    at: str = Field(description=_AT)
    ip: str
    country: str
    rule: WafRule
    path: str


class PrivilegedAccessEvent(BaseModel):
    """An action a staff member took with elevated rights (the audit log's entries, as they happen)."""

    id: int = Field(description=_ID)
    at: str = Field(description=_AT)
    actor: str
    role: str = Field(description="The actor's staff role; `system` for the server's own actions.")
    action: str
    target_type: str
    target_id: str


class SecurityEventPage(BaseModel):
    events: list[LoginEvent | ApiAccessEvent | WafBlockEvent | PrivilegedAccessEvent] = Field(
        description="Oldest first; the events of the requested stream."
    )
    next: str = Field(description="Pass as `after` for the following events (also when this page is empty).")
    more: bool = Field(description="More events were already there after this page: ask again at once.")


class LoginCounts(BaseModel):
    success: int
    failure: int


class AccountTried(BaseModel):
    user: str = Field(description="The e-mail tried.")
    user_id: int | None
    failures: int
    successes: int
    last_at: str


class WafCounts(BaseModel):
    sqli: int
    xss: int
    path_traversal: int


class IpSummary(BaseModel):
    ip: str
    country: str | None = Field(description="The country of its latest login or WAF block.")
    first_seen: str
    last_seen: str
    logins: LoginCounts
    accounts: list[AccountTried] = Field(description="Accounts it tried, most failures first (at most 100).")
    waf_blocks: WafCounts
    api_requests: int


class CountryLogins(BaseModel):
    country: str
    successes: int
    failures: int
    last_at: str


class AddressLogins(BaseModel):
    ip: str
    country: str
    successes: int
    failures: int
    last_at: str


class AdminAction(BaseModel):
    id: int = Field(description="The audit entry's id.")
    at: str
    actor: str
    action: str
    reason: str | None


class UserSecuritySummary(BaseModel):
    user_id: int | None = Field(description="Null for an e-mail no account has that someone tried.")
    email: str
    home_country: str | None = Field(description="The country the account gave at signup.")
    window_days: int = Field(description="The span of the two login breakdowns, in days before now.")
    logins_by_country: list[CountryLogins]
    logins_by_address: list[AddressLogins]
    recent_attempts: list[LoginEvent] = Field(
        description="Its latest login attempts, newest first (at most 50)."
    )
    admin_actions: list[AdminAction] = Field(
        description="Audit-log actions on the account (entity_type `user`), newest first (at most 50)."
    )

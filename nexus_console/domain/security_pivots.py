"""One-click pivots of the Security pane, as tables: what an address did (`GET /security/ip/{ip}`: the
accounts it tried) and what happened to an account (`GET /security/user/{user}`: where it signed in from,
its recent attempts, and the admin actions taken on it). Pure: the service fetches, the pane shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nexus_console.domain.analytics import DataTable


@dataclass(frozen=True, slots=True)
class Pivot:
    title: str  # e.g. "203.0.113.7 (NO)"
    summary: str  # one sentence
    tables: tuple[DataTable, ...]


def _time(text: Any) -> str:
    return str(text or "")[:19].replace("T", " ")


def ip_pivot(body: Mapping[str, Any]) -> Pivot:
    logins, waf = body.get("logins", {}), body.get("waf_blocks", {})
    country = f" ({body['country']})" if body.get("country") else ""
    blocked = sum(int(n) for n in waf.values()) if isinstance(waf, Mapping) else 0
    summary = (
        f"{int(logins.get('failure', 0)):,} failed and {int(logins.get('success', 0)):,} successful logins, "
        f"{blocked:,} requests blocked by the WAF, {int(body.get('api_requests', 0)):,} API requests; "
        f"first seen {_time(body.get('first_seen'))} UTC, last {_time(body.get('last_seen'))} UTC."
    )
    accounts = tuple(
        (str(a["user"]), a.get("user_id"), int(a["failures"]), int(a["successes"]), _time(a.get("last_at")))
        for a in body.get("accounts", ())
    )
    table = DataTable(
        "Accounts it tried", ("Account", "User id", "Failed", "Succeeded", "Last (UTC)"), accounts
    )
    return Pivot(f"{body.get('ip', '?')}{country}", summary, (table,))


def user_pivot(body: Mapping[str, Any]) -> Pivot:
    addresses = _rows(
        body.get("logins_by_address", ()), ("ip", "country", "failures", "successes", "last_at")
    )
    attempts = _rows(
        body.get("recent_attempts", ()), ("at", "ip", "country", "result", "reason", "user_agent")
    )
    actions = _rows(body.get("admin_actions", ()), ("at", "actor", "action", "reason"))
    countries = ", ".join(str(c["country"]) for c in body.get("logins_by_country", ()))
    days = int(body.get("window_days", 30))
    home = f" (signed up in {body['home_country']})" if body.get("home_country") else ""
    summary = (
        f"Signed in from {countries or 'nowhere'} in the last {days} days{home}; {len(actions)} admin "
        "actions taken on the account."
    )
    return Pivot(
        str(body.get("email") or body.get("user_id") or "?"),
        summary,
        (
            DataTable(
                f"Addresses ({days} days)",
                ("Address", "Country", "Failed", "Succeeded", "Last (UTC)"),
                addresses,
            ),
            DataTable(
                "Recent attempts", ("At (UTC)", "Address", "Country", "Result", "Reason", "Client"), attempts
            ),
            DataTable("Admin actions on the account", ("At (UTC)", "By", "Action", "Reason"), actions),
        ),
    )


def _rows(items: Sequence[Mapping[str, Any]], names: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    return tuple(
        tuple(_time(item.get(name)) if name in ("at", "last_at") else item.get(name) for name in names)
        for item in items
    )

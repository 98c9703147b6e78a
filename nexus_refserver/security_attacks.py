"""The attacks a scenario (or a test, through the control endpoint) plays into the security streams.

An attack is a list of events at offsets in seconds from its start, plus the actors it used (the address,
the accounts, the client) so that whoever started it can find its traces. `security_feed` stamps each
event with `start + offset / speed` and appends it when that time comes.

| kind                 | what it writes                                                                    |
|----------------------|-----------------------------------------------------------------------------------|
| brute_force          | one address, 30 failed logins over 60 s against 3 accounts, then 1 success        |
| credential_stuffing  | 600 failed logins over 180 s from 150 addresses against 400 accounts (320 unknown) |
| new_country_login    | a user with a week of logins only from NO signs in successfully from BR           |
| impossible_travel    | a user signs in from NO, and 20 minutes later from JP, both successful            |
| bot_client           | a client with a steady history sends 40 requests a second for 2 minutes           |
| injection_burst      | one address, 40 WAF blocks for sqli and xss over 2 minutes                        |
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from nexus_refserver.security_traffic import WAF_PATHS, Client, Member, Row, address_in

ATTACK_KINDS = (
    "brute_force",
    "credential_stuffing",
    "new_country_login",
    "impossible_travel",
    "bot_client",
    "injection_burst",
    "bulk_data_access",
)
ATTACK_USER_AGENT = "python-requests/2.32.3"
BOT_CLIENT = "partner-feed-3"
HOME_COUNTRY = "NO"


class AttackError(ValueError):
    """An attack that cannot be staged (an unknown kind, or no user fits its story)."""


@dataclass
class Attack:
    kind: str
    actors: dict[str, object]
    # (seconds after the start, stream, row without `at`)
    events: list[tuple[float, str, Row]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return max((offset for offset, _, _ in self.events), default=0.0)


@dataclass
class AttackContext:
    rng: random.Random
    members: list[Member]
    clients: list[Client]
    # a member whose logins of the last week all came from the country (and not one of the excluded ids)
    user_only_from: Callable[[str, set[int]], Member | None]
    used_user_ids: set[int] = field(default_factory=set)


def login(member_or_email: Member | str, ip: str, country: str, agent: str, reason: str | None) -> Row:
    """A login row; `reason` None means a success."""
    member = member_or_email if isinstance(member_or_email, Member) else None
    return {
        "user_id": member.user_id if member else None,
        "user": member.email if member else member_or_email,
        "ip": ip,
        "country": country,
        "user_agent": agent,
        "result": "success" if reason is None else "failure",
        "reason": reason,
    }


def brute_force(ctx: AttackContext) -> Attack:
    ip = address_in("RU", ctx.rng)
    targets = ctx.rng.sample(ctx.members, 3)
    attack = Attack(
        "brute_force", {"ip": ip, "users": [m.email for m in targets], "success": targets[0].email}
    )
    for attempt in range(30):
        row = login(targets[attempt % 3], ip, "RU", ATTACK_USER_AGENT, "bad_password")
        attack.events.append((attempt * 2.0, "login", row))
    attack.events.append((60.0, "login", login(targets[0], ip, "RU", ATTACK_USER_AGENT, None)))
    return attack


def credential_stuffing(ctx: AttackContext) -> Attack:
    rng = ctx.rng
    countries = ("VN", "CN", "RU", "BR", "IN")
    addresses = [
        (address_in(country, rng), country) for country in (rng.choice(countries) for _ in range(150))
    ]
    known: list[Member | str] = list(rng.sample(ctx.members, min(80, len(ctx.members))))
    unknown: list[Member | str] = [
        f"user{rng.randrange(10**8):08d}@leaked-mail.example" for _ in range(400 - len(known))
    ]
    accounts = known + unknown
    rng.shuffle(accounts)
    attack = Attack("credential_stuffing", {"ips": [ip for ip, _ in addresses], "accounts": len(accounts)})
    for attempt in range(600):
        account = accounts[attempt] if attempt < len(accounts) else rng.choice(accounts)
        ip, country = addresses[attempt % len(addresses)]
        reason = "bad_password" if isinstance(account, Member) else "unknown_account"
        attack.events.append((attempt * 0.3, "login", login(account, ip, country, ATTACK_USER_AGENT, reason)))
    return attack


def _home_user(ctx: AttackContext, kind: str) -> Member:
    victim = ctx.user_only_from(HOME_COUNTRY, ctx.used_user_ids)
    if victim is None:
        raise AttackError(f"{kind} needs a user with a week of logins only from {HOME_COUNTRY}; none has")
    ctx.used_user_ids.add(victim.user_id)
    return victim


def new_country_login(ctx: AttackContext) -> Attack:
    victim = _home_user(ctx, "new_country_login")
    ip = address_in("BR", ctx.rng)
    attack = Attack("new_country_login", {"user": victim.email, "user_id": victim.user_id, "ip": ip})
    attack.events.append((0.0, "login", login(victim, ip, "BR", victim.user_agent, None)))
    return attack


def impossible_travel(ctx: AttackContext) -> Attack:
    victim = _home_user(ctx, "impossible_travel")
    far_ip = address_in("JP", ctx.rng)
    attack = Attack(
        "impossible_travel", {"user": victim.email, "user_id": victim.user_id, "ips": [victim.ips[0], far_ip]}
    )
    attack.events.append((0.0, "login", login(victim, victim.ips[0], HOME_COUNTRY, victim.user_agent, None)))
    attack.events.append((1200.0, "login", login(victim, far_ip, "JP", victim.user_agent, None)))
    return attack


def bot_client(ctx: AttackContext) -> Attack:
    client = next((c for c in ctx.clients if c.name == BOT_CLIENT), ctx.clients[0])
    attack = Attack("bot_client", {"client": client.name, "ip": client.ip, "requests": 40 * 120})
    for request in range(40 * 120):
        row = {
            "client": client.name,
            "ip": client.ip,
            "method": "GET",
            "path": f"/v1/products/{ctx.rng.randrange(1, 50_000)}",
            "status": 429 if ctx.rng.random() < 0.2 else 200,
        }
        attack.events.append((request / 40.0, "api_access", row))
    return attack


def injection_burst(ctx: AttackContext) -> Attack:
    ip = address_in("CN", ctx.rng)
    attack = Attack("injection_burst", {"ip": ip})
    for block in range(40):
        rule = ("sqli", "xss")[block % 2]
        row = {"ip": ip, "country": "CN", "rule": rule, "path": ctx.rng.choice(WAF_PATHS[rule])}
        attack.events.append((block * 3.0, "waf_block", row))
    return attack


def bulk_data_access(ctx: AttackContext) -> Attack:
    """A breach signal: one staff account opening 300 different users' records in 150 s (a stolen session,
    or an insider copying personal data), where staff usually open a few a day."""
    actor = "moderator@nexus.test"
    targets = ctx.rng.sample(ctx.members, min(300, len(ctx.members)))
    attack = Attack("bulk_data_access", {"actor": actor, "records": len(targets)})
    for index, member in enumerate(targets):
        row = {
            "actor": actor,
            "role": "moderator",
            "action": "user.view",
            "target_type": "user",
            "target_id": str(member.user_id),
        }
        attack.events.append((index * 0.5, "privileged_access", row))
    return attack


BUILDERS: dict[str, Callable[[AttackContext], Attack]] = {
    "brute_force": brute_force,
    "credential_stuffing": credential_stuffing,
    "new_country_login": new_country_login,
    "impossible_travel": impossible_travel,
    "bot_client": bot_client,
    "injection_burst": injection_burst,
    "bulk_data_access": bulk_data_access,
}


def build_attack(kind: str, ctx: AttackContext) -> Attack:
    """The events of one attack of `kind`; AttackError for an unknown kind or no fitting victim."""
    builder = BUILDERS.get(kind)
    if builder is None:
        raise AttackError(f"unknown attack {kind!r}; one of {', '.join(ATTACK_KINDS)}")
    if not ctx.members:
        raise AttackError("no users to stage an attack with")
    return builder(ctx)

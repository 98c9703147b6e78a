"""Benign security traffic: who logs in from where, which API clients call what, the background noise of
WAF blocks, and a little privileged staff activity. Everything comes from a seeded `random.Random`, so
the same seed gives the same population, clients and event sequence.

Events are generated as Poisson processes: each stream draws exponential gaps at its rate, so a window of
any length holds about `rate * seconds` events. Rows are plain dicts ready for the tables of
`schema_security`, with `at` as an aware UTC datetime."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from nexus_refserver.schema import users

Row = dict[str, Any]

POPULATION_SIZE = 2_000
BACKFILL_DAYS = 7
LOGINS_PER_USER_PER_DAY = 3.0
BENIGN_FAILURE_SHARE = 0.05
# the backfill's API volume: every client together, a steady 300 requests an hour
BACKFILL_API_PER_HOUR = 300.0
BACKFILL_WAF_PER_HOUR = 4.0
BACKFILL_PRIVILEGED_PER_DAY = 6.0


@dataclass(frozen=True)
class Rates:
    """Events per second of each benign stream."""

    logins: float
    api_requests: float
    waf_blocks: float
    privileged: float = 0.0


# what the server appends while it runs: about 2 logins, 3 API requests a second, a WAF block every 30 s
LIVE_RATES = Rates(logins=2.0, api_requests=3.0, waf_blocks=1 / 30)

# the first two octets of addresses in each country: enough to make an address look like it belongs there
COUNTRY_PREFIXES = {
    "NO": (84, 208), "SE": (78, 72), "DK": (87, 49), "FI": (91, 152), "DE": (91, 64), "GB": (81, 2),
    "US": (73, 15), "FR": (90, 84), "ES": (83, 44), "IT": (79, 20), "NL": (77, 160), "PL": (83, 24),
    "JP": (126, 72), "BR": (177, 32), "IN": (117, 96), "RU": (95, 165), "CN": (116, 24), "VN": (113, 160),
}  # fmt: skip
NOISE_COUNTRIES = ("US", "RU", "CN", "VN", "BR", "IN", "DE", "NL")

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) Chrome/131.0 Mobile",
    "NexusApp/5.4 (iOS 18.1)",
    "NexusApp/5.4 (Android 15)",
)

# 50 named API clients: the shop front ends, the mobile apps, partner feeds and internal jobs
CLIENT_NAMES = (
    "shop-web", "ios-app", "android-app", "tv-app", "vendor-portal", "checkout-web", "search-web",
    "studio-web", "admin-web", "support-desk",
    *(f"partner-feed-{n}" for n in range(1, 21)),
    *(f"affiliate-{n}" for n in range(1, 11)),
    "price-sync", "stock-sync", "catalog-export", "ads-bidder", "recs-batch", "email-digest",
    "fraud-scorer", "analytics-etl", "sitemap-builder", "webhook-relay",
)  # fmt: skip
API_ROUTES = (
    ("GET", "/v1/products"),
    ("GET", "/v1/products/{id}"),
    ("GET", "/v1/contents/{id}"),
    ("GET", "/v1/search"),
    ("POST", "/v1/cart/items"),
    ("POST", "/v1/orders"),
    ("GET", "/v1/orders/{id}"),
    ("PUT", "/v1/stock/{id}"),
)
API_STATUSES = ((200, 90), (201, 4), (304, 2), (401, 1), (404, 2), (500, 1))
_STATUS_CODES = [status for status, _ in API_STATUSES]
_STATUS_CUMULATIVE = list(itertools.accumulate(weight for _, weight in API_STATUSES))
WAF_PATHS = {
    "sqli": ("/v1/search?q=' OR 1=1--", "/v1/products?sort=id;DROP TABLE users", "/login?user=admin'--"),
    "xss": ("/v1/search?q=<script>alert(1)</script>", "/reviews?text=<img src=x onerror=alert(1)>"),
    "path_traversal": ("/static/../../etc/passwd", "/download?file=../../../../proc/self/environ"),
}
STAFF_ACTIONS = (
    ("admin@nexus.test", "admin", "user.suspend", "user"),
    ("admin@nexus.test", "admin", "user.update", "user"),
    ("admin@nexus.test", "admin", "vendor.update", "vendor"),
    ("moderator@nexus.test", "moderator", "content.update", "content"),
    ("moderator@nexus.test", "moderator", "product.update", "product"),
)


@dataclass(frozen=True)
class Member:
    """A platform user whose logins the server simulates, with the addresses they use at home."""

    user_id: int
    email: str
    country: str
    ips: tuple[str, ...]
    user_agent: str


@dataclass(frozen=True)
class Client:
    """A named API client, calling from its own address."""

    name: str
    ip: str
    weight: float


def address_in(country: str, rng: random.Random) -> str:
    """An IPv4 address in the country's prefix (any country outside the map gets a 203.x address)."""
    first, second = COUNTRY_PREFIXES.get(country, (203, 0))
    return f"{first}.{second}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def load_population(users_engine: Engine, seed: int, size: int = POPULATION_SIZE) -> list[Member]:
    """The first `size` active users by id, each with one or two home addresses in their country."""
    with users_engine.connect() as conn:
        rows = conn.execute(
            select(users.c.id, users.c.email, users.c.country)
            .where(users.c.status == "active")
            .order_by(users.c.id)
            .limit(size)
        ).all()
    rng = random.Random(f"security-population-{seed}")
    members = []
    for row in rows:
        ips = tuple(address_in(row.country, rng) for _ in range(rng.choice((1, 1, 2))))
        members.append(Member(row.id, row.email, row.country, ips, rng.choice(USER_AGENTS)))
    return members


def make_clients(seed: int) -> list[Client]:
    """The 50 API clients; each calls at its own steady share of the API rate."""
    rng = random.Random(f"security-clients-{seed}")
    return [Client(name, address_in("NO", rng), rng.choice((0.5, 1.0, 1.0, 2.0))) for name in CLIENT_NAMES]


def login_row(at: datetime, member: Member, rng: random.Random) -> Row:
    """A benign login by `member` from home: successful but for the odd mistyped password."""
    failed = rng.random() < BENIGN_FAILURE_SHARE
    return {
        "at": at,
        "user_id": member.user_id,
        "user": member.email,
        "ip": rng.choice(member.ips),
        "country": member.country,
        "user_agent": member.user_agent,
        "result": "failure" if failed else "success",
        "reason": "bad_password" if failed else None,
    }


def api_row(at: datetime, client: Client, rng: random.Random) -> Row:
    method, path = rng.choice(API_ROUTES)
    status = rng.choices(_STATUS_CODES, cum_weights=_STATUS_CUMULATIVE)[0]
    return {
        "at": at,
        "client": client.name,
        "ip": client.ip,
        "method": method,
        "path": path.replace("{id}", str(rng.randrange(1, 50_000))),
        "status": status,
    }


def waf_row(at: datetime, ip: str, country: str, rule: str, rng: random.Random) -> Row:
    return {"at": at, "ip": ip, "country": country, "rule": rule, "path": rng.choice(WAF_PATHS[rule])}


def noise_waf_row(at: datetime, rng: random.Random) -> Row:
    """A WAF block from some scanner on the internet: a random address, a random rule."""
    country = rng.choice(NOISE_COUNTRIES)
    return waf_row(at, address_in(country, rng), country, rng.choice(tuple(WAF_PATHS)), rng)


def privileged_row(at: datetime, members: list[Member], rng: random.Random) -> Row:
    """A staff action of the kind the audit log holds, for the backfill (before the server recorded any)."""
    actor, role, action, target_type = rng.choice(STAFF_ACTIONS)
    target = rng.choice(members).user_id if target_type == "user" and members else rng.randrange(1, 5_000)
    return {
        "at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "target_type": target_type,
        "target_id": str(target),
    }


class BenignTraffic:
    """The benign streams as Poisson processes from `start` on; `until(end)` gives the next window."""

    def __init__(
        self,
        rng: random.Random,
        members: list[Member],
        clients: list[Client],
        rates: Rates,
        start: datetime,
    ) -> None:
        self.rng = rng
        self.members = members
        self.clients = clients
        cumulative = list(itertools.accumulate(client.weight for client in clients))
        self.rates = rates
        makers: dict[str, Callable[[datetime], Row]] = {
            "login": lambda at: login_row(at, rng.choice(members), rng),
            "api_access": lambda at: api_row(at, rng.choices(clients, cum_weights=cumulative)[0], rng),
            "waf_block": lambda at: noise_waf_row(at, rng),
            "privileged_access": lambda at: privileged_row(at, members, rng),
        }
        stream_rates = {
            "login": rates.logins if members else 0.0,
            "api_access": rates.api_requests,
            "waf_block": rates.waf_blocks,
            "privileged_access": rates.privileged,
        }
        self.streams = {name: (rate, makers[name]) for name, rate in stream_rates.items() if rate > 0}
        self.next_at = {name: start + self._gap(rate) for name, (rate, _) in self.streams.items()}

    def _gap(self, rate: float) -> timedelta:
        return timedelta(seconds=self.rng.expovariate(rate))

    def until(self, end: datetime) -> dict[str, list[Row]]:
        """Every event before `end` not handed out yet, per stream, oldest first."""
        out: dict[str, list[Row]] = {name: [] for name in self.streams}
        for name, (rate, make) in self.streams.items():
            at = self.next_at[name]
            rows = out[name]
            while at < end:
                rows.append(make(at))
                at += self._gap(rate)
            self.next_at[name] = at
        return out


def backfill_rates(population_size: int) -> Rates:
    """The week before the server started: a few logins a day per user, a modest API and WAF rate."""
    return Rates(
        logins=population_size * LOGINS_PER_USER_PER_DAY / 86_400,
        api_requests=BACKFILL_API_PER_HOUR / 3_600,
        waf_blocks=BACKFILL_WAF_PER_HOUR / 3_600,
        privileged=BACKFILL_PRIVILEGED_PER_DAY / 86_400,
    )


def backfill(seed: int, members: list[Member], clients: list[Client], end: datetime) -> dict[str, list[Row]]:
    """The benign events of the `BACKFILL_DAYS` days before `end`."""
    start = end - timedelta(days=BACKFILL_DAYS)
    traffic = BenignTraffic(
        random.Random(f"security-backfill-{seed}"), members, clients, backfill_rates(len(members)), start
    )
    return traffic.until(end)


def utc_now() -> datetime:
    return datetime.now(UTC)

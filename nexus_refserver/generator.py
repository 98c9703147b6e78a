"""Deterministic platform data: the same seed and scale always give the same rows.

Each table draws from its own `random.Random` seeded with (seed, table), so adding a column to one table
never shifts another. Times are laid out backwards from `DATA_AS_OF`, a fixed instant, never "now".
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import operator
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, DateTime, Engine, Table, delete, insert, select

from nexus_refserver.config import USERS_PER_SCALE
from nexus_refserver.databases import Databases
from nexus_refserver.schema import (
    cart_events,
    contents,
    meta,
    orders,
    product_subject_links,
    products,
    search_queries,
    sync_sessions,
    users,
    vendors,
)

log = logging.getLogger(__name__)

# bump when the generated rows or tables change, so existing data dirs are regenerated
GENERATOR_VERSION = "6"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


DATA_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
BATCH_SIZE = 20_000

FIRST_NAMES = _words(
    "Aaliyah Aarav Abigail Ada Adam Adrian Aiko Aisha Alba Alejandro Alex Alice Amara Amelia Ana Anders "
    "Andrea Anna Anton Aria Arjun Astrid Ava Axel Beatriz Benjamin Bianca Bjorn Camila Carlos Caroline "
    "Chen Chiara Chloe Daniel David Diego Dmitri Elena Elias Elif Ella Emil Emily Emma Erik Ethan Eva Fatima "
    "Felix Freya Gabriel Grace Hana Hannah Hugo Ibrahim Ida Ingrid Isaac Isabella Ivan Jakob James Javier "
    "Ji-woo Johan Jonas Julia Kai Karin Kenji Lars Laura Leila Leo Liam Lina Lucas Lucia Luka Maja Marco "
    "Maria Mateo Maya Mei Mia Mikael Mohammed Nadia Noah Nora Olivia Omar Oscar Paula Pedro Priya Rafael "
    "Rosa Ruben Sakura Samuel Sara Sebastian Sofia Sven Thea Theo Tomas Valentina Victor Wei William Yara "
    "Yusuf Zara Zoe"
)
LAST_NAMES = _words(
    "Abe Ahmed Alvarez Andersen Bakker Berg Bianchi Brown Costa Dahl Dubois Eriksen Fernandez Fischer "
    "Garcia Gonzalez Haugen Hansen Hoffmann Ito Jensen Johansson Johnson Kim Kowalski Kumar Larsen Lee "
    "Lindqvist Lopez Martin Martinez Meyer Moreau Muller Nakamura Nguyen Nielsen Novak Olsen Park Patel "
    "Pereira Petrov Popescu Ricci Rossi Santos Sato Schmidt Silva Singh Smith Solberg Suzuki Tanaka Taylor "
    "Thompson Torres Wagner Wang Weber Williams Wilson Yamamoto Yilmaz Zhang"
)
COUNTRIES = ("NO", "SE", "DK", "FI", "DE", "GB", "US", "FR", "ES", "IT", "NL", "PL", "JP", "BR", "IN")
COUNTRY_WEIGHTS = (30, 12, 8, 5, 9, 8, 10, 4, 3, 3, 2, 2, 1, 2, 1)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.test", "inbox.test")
GENRES = ("drama", "comedy", "documentary", "reality", "sports", "thriller", "kids", "lifestyle", "music")
CATEGORIES = ("apparel", "beauty", "electronics", "home", "jewelry", "sports", "toys", "books", "food")
PRODUCT_ADJECTIVES = _words(
    "Classic Vintage Modern Organic Premium Compact Wireless Handmade Nordic Urban Coastal Midnight "
    "Golden Silver Velvet Linen Rustic Minimal Bold Soft"
)
PRODUCT_NOUNS = _words(
    "Jacket Sneakers Lamp Headphones Scarf Watch Backpack Mug Sunglasses Candle Chair Notebook Blender "
    "Dress Necklace Speaker Blanket Wallet Bottle Camera"
)
VENDOR_WORDS = _words(
    "Fjord North Aurora Harbor Pine Birch Granite Copper Maple Tide Summit Meadow Ember Frost Atlas Nova "
    "Lumen Orbit Willow Cedar"
)
VENDOR_SUFFIXES = ("Goods", "Studio", "Supply", "Trading", "Collective", "Design", "Outfitters", "Market")
TITLE_WORDS = _words(
    "Blue Silent Last First Hidden Long Broken Golden Winter Summer Island City Road River Night Light "
    "Storm Garden Kitchen House Heart Signal Shadow Echo"
)
SUBJECTS = _words(
    "jacket sneakers lamp headphones scarf watch backpack mug sunglasses candle chair notebook blender "
    "dress necklace speaker blanket wallet bottle camera sofa bicycle guitar perfume"
)
SEARCH_WORDS = _words(
    "jacket sneakers lamp headphones scarf watch backpack mug sunglasses candle chair notebook dress "
    "necklace speaker wallet camera vintage organic wireless linen golden nordic cheap gift sale black white"
)
FLAG_REASONS = ("counterfeit", "misleading description", "prohibited item", "user reports", "copyright")
CONTENT_FLAG_REASONS = ("copyright claim", "inappropriate content", "user reports", "wrong age rating")


@dataclass(frozen=True)
class DatasetSize:
    users: int
    vendors: int
    products: int
    orders: int
    sync_sessions: int
    contents: int
    cart_events: int
    search_queries: int
    product_subject_links: int

    @classmethod
    def for_scale(cls, scale: float) -> DatasetSize:
        user_count = max(10, int(scale * USERS_PER_SCALE))
        vendor_count = max(5, user_count // 100)
        return cls(
            users=user_count,
            vendors=vendor_count,
            products=vendor_count * 10,
            orders=user_count,
            sync_sessions=user_count,
            contents=max(20, user_count // 25),
            cart_events=user_count // 2,
            search_queries=user_count // 2,
            product_subject_links=vendor_count * 5,
        )


def _rng(seed: int, table: str) -> random.Random:
    return random.Random(f"{seed}:{table}")


def _batches(rows: Iterator[dict], size: int = BATCH_SIZE) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_all(engine: Engine, table: Table, rows: Iterator[dict]) -> None:
    if engine.dialect.name == "sqlite":
        _insert_all_sqlite(engine, table, rows)
        return
    with engine.begin() as conn:
        for batch in _batches(rows):
            conn.execute(insert(table), batch)


def _sqlite_value(value: object) -> object:
    # the text forms SQLAlchemy's SQLite DateTime and Date types read back
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _insert_all_sqlite(engine: Engine, table: Table, rows: Iterator[dict]) -> None:
    """Bulk path for SQLite: plain DB-API executemany with tuples, skipping per-value type processing."""
    names = [column.name for column in table.columns]
    as_tuple = operator.itemgetter(*names)
    date_positions = [
        i for i, column in enumerate(table.columns) if isinstance(column.type, (DateTime, Date))
    ]
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-200000")
        for batch in _batches(rows):
            tuples = []
            for row in batch:
                values = list(as_tuple(row))
                for position in date_positions:
                    values[position] = _sqlite_value(values[position])
                tuples.append(tuple(values))
            conn.exec_driver_sql(statement, tuples)


def _seconds_before_as_of(rng: random.Random, max_days: float) -> datetime:
    return DATA_AS_OF - timedelta(seconds=int(rng.random() * max_days * 86400))


class _WeightedChoice:
    """rng.choices(population, weights) for one pick, without its per-call set-up cost."""

    def __init__(self, population: tuple, weights: tuple[int, ...]) -> None:
        self.population = population
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.population[bisect.bisect(self.cumulative, rng.random() * self.total)]


_USER_COUNTRY = _WeightedChoice(COUNTRIES, COUNTRY_WEIGHTS)
_USER_STATUS = _WeightedChoice(("active", "suspended", "banned"), (94, 4, 2))
_NAIVE_AS_OF = DATA_AS_OF.replace(tzinfo=None)


# the few users who work on a platform besides the consumer app (users.platform_access)
_PLATFORM_ACCESS = (
    '{"workstation": "editor"}',
    '{"workstation": "reviewer"}',
    '{"marketplace": "vendor_staff"}',
    '{"workstation": "editor", "marketplace": "vendor_staff"}',
    '{"nexus": "viewer"}',
)


def user_tuples(seed: int, count: int, *, text_times: bool = False) -> Iterator[tuple]:
    """Users in `users` column order; the hot path of a 1M-user generation, so tuples, not dicts.

    With `text_times` the two timestamps are SQLite's text form instead of datetimes.
    """
    rng = _rng(seed, "users")
    random_ = rng.random
    first_names, last_names, domains = FIRST_NAMES, LAST_NAMES, EMAIL_DOMAINS
    span = 3 * 365 * 86400
    mean_gap = 20 * 86400
    base = _NAIVE_AS_OF if text_times else DATA_AS_OF
    for user_id in range(1, count + 1):
        first = first_names[int(random_() * len(first_names))]
        last = last_names[int(random_() * len(last_names))]
        signup_age = int(random_() * span)
        active_age = min(signup_age, int(rng.expovariate(1 / mean_gap)))
        signup = base - timedelta(seconds=signup_age)
        active = base - timedelta(seconds=active_age)
        yield (
            user_id,
            f"{first.lower()}.{last.lower()}{user_id}@{domains[int(random_() * len(domains))]}",
            f"{first} {last}",
            _USER_COUNTRY.pick(rng),
            signup.isoformat(sep=" ") if text_times else signup,
            active.isoformat(sep=" ") if text_times else active,
            _USER_STATUS.pick(rng),
            random_() < 0.85,
            None,
            1,
            _PLATFORM_ACCESS[int(random_() * len(_PLATFORM_ACCESS))] if random_() < 0.03 else None,
            None,
        )


def user_rows(seed: int, count: int) -> Iterator[dict]:
    names = [column.name for column in users.columns]
    for values in user_tuples(seed, count):
        yield dict(zip(names, values, strict=True))


def vendor_rows(seed: int, count: int) -> Iterator[dict]:
    rng = _rng(seed, "vendors")
    statuses = ("approved", "pending", "rejected", "suspended", "banned")
    for vendor_id in range(1, count + 1):
        name = f"{rng.choice(VENDOR_WORDS)} {rng.choice(VENDOR_SUFFIXES)} {vendor_id}"
        yield {
            "id": vendor_id,
            "name": name,
            "email": f"vendor{vendor_id}@{rng.choice(EMAIL_DOMAINS)}",
            "country": rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0],
            "created_at": _seconds_before_as_of(rng, 2 * 365),
            "status": rng.choices(statuses, (70, 10, 8, 7, 5))[0],
            "commission_pct": round(rng.uniform(5, 20), 1),
            "warnings": min(9, int(rng.expovariate(1.5))),
            "products_removed": min(9, int(rng.expovariate(2.0))),
            "late_shipments": min(30, int(rng.expovariate(0.3))),
            "version": 1,
            "review_feedback": None,
        }


def product_rows(seed: int, count: int, vendor_count: int) -> Iterator[dict]:
    rng = _rng(seed, "products")
    statuses = ("approved", "pending", "rejected", "removed")
    for product_id in range(1, count + 1):
        flagged = rng.random() < 0.04
        yield {
            "id": product_id,
            "vendor_id": rng.randint(1, vendor_count),
            "title": f"{rng.choice(PRODUCT_ADJECTIVES)} {rng.choice(PRODUCT_NOUNS)}",
            "category": rng.choice(CATEGORIES),
            "price_cents": rng.randint(5, 500) * 100 - 1,
            "created_at": _seconds_before_as_of(rng, 2 * 365),
            "status": rng.choices(statuses, (80, 12, 5, 3))[0],
            "flagged": flagged,
            "flag_reason": rng.choice(FLAG_REASONS) if flagged else None,
            "version": 1,
        }


_ORDER_QUANTITY = _WeightedChoice((1, 2, 3), (80, 15, 5))
_ORDER_CHANNEL = _WeightedChoice(("webshop", "consumer_app"), (45, 55))
_ORDER_STATUS = _WeightedChoice(("completed", "refunded", "failed"), (92, 5, 3))


def _one_to(random_: Callable[[], float], n: int) -> int:
    """Uniform in 1..n; cheaper than randint in a million-row loop."""
    return int(random_() * n) + 1


def order_rows(seed: int, size: DatasetSize) -> Iterator[dict]:
    rng = _rng(seed, "orders")
    random_ = rng.random
    span = 365 * 86400
    for order_id in range(1, size.orders + 1):
        quantity = _ORDER_QUANTITY.pick(rng)
        amount = quantity * (_one_to(random_, 496) + 4) * 100 - quantity
        yield {
            "id": order_id,
            "user_id": _one_to(random_, size.users),
            "vendor_id": _one_to(random_, size.vendors),
            "product_id": _one_to(random_, size.products),
            "placed_at": DATA_AS_OF - timedelta(seconds=int(random_() * span)),
            "quantity": quantity,
            "amount_cents": amount,
            "commission_cents": amount * (_one_to(random_, 16) + 4) // 100,
            "channel": _ORDER_CHANNEL.pick(rng),
            "status": _ORDER_STATUS.pick(rng),
        }


def sync_session_rows(seed: int, size: DatasetSize) -> Iterator[dict]:
    rng = _rng(seed, "sync_sessions")
    random_ = rng.random
    span = 90 * 86400
    for session_id in range(1, size.sync_sessions + 1):
        detected = random_() < 0.93
        yield {
            "id": session_id,
            "user_id": _one_to(random_, size.users),
            "content_id": _one_to(random_, size.contents),
            "started_at": DATA_AS_OF - timedelta(seconds=int(random_() * span)),
            "duration_s": int(rng.expovariate(1 / 1500)),
            "detected": detected,
            "latency_ms": int(rng.lognormvariate(6.5, 0.4)) if detected else 0,
            "completed": detected and random_() < 0.6,
        }


def content_rows(seed: int, count: int) -> Iterator[dict]:
    rng = _rng(seed, "contents")
    for content_id in range(1, count + 1):
        subjects = rng.randint(5, 120)
        flagged = rng.random() < 0.06
        yield {
            "id": content_id,
            "title": f"The {rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)}",
            "genre": rng.choice(GENRES),
            "created_at": _seconds_before_as_of(rng, 3 * 365),
            "subjects": subjects,
            "verified_subjects": rng.randint(0, subjects),
            "status": "published",
            "flagged": flagged,
            "flag_reason": rng.choice(CONTENT_FLAG_REASONS) if flagged else None,
            "version": 1,
        }


_CART_KIND = _WeightedChoice(("add", "remove", "checkout"), (70, 18, 12))
_LINK_STATUS = _WeightedChoice(("verified", "pending", "rejected"), (60, 30, 10))


def cart_event_rows(seed: int, size: DatasetSize) -> Iterator[dict]:
    rng = _rng(seed, "cart_events")
    random_ = rng.random
    span = 90 * 86400
    for event_id in range(1, size.cart_events + 1):
        yield {
            "id": event_id,
            "user_id": _one_to(random_, size.users),
            "product_id": _one_to(random_, size.products),
            "at": DATA_AS_OF - timedelta(seconds=int(random_() * span)),
            "kind": _CART_KIND.pick(rng),
        }


# every SEARCH_HISTORY_EVERY-th query is from the last SEARCH_HISTORY_DAYS days rather than the last 90, so
# the retention check (keep 365 days) has old searches to find
SEARCH_HISTORY_EVERY = 10
SEARCH_HISTORY_DAYS = 3 * 365


def search_query_rows(seed: int, size: DatasetSize) -> Iterator[dict]:
    rng = _rng(seed, "search_queries")
    random_ = rng.random
    for query_id in range(1, size.search_queries + 1):
        span = (SEARCH_HISTORY_DAYS if query_id % SEARCH_HISTORY_EVERY == 0 else 90) * 86400
        words = [SEARCH_WORDS[int(random_() * len(SEARCH_WORDS))] for _ in range(1 + int(random_() * 3))]
        yield {
            "id": query_id,
            "user_id": _one_to(random_, size.users),
            "query": " ".join(words),
            "at": DATA_AS_OF - timedelta(seconds=int(random_() * span)),
        }


def product_subject_link_rows(seed: int, size: DatasetSize) -> Iterator[dict]:
    """Products seen in workstation content (seed 000: content subjects are the link source)."""
    rng = _rng(seed, "product_subject_links")
    random_ = rng.random
    for link_id in range(1, size.product_subject_links + 1):
        yield {
            "id": link_id,
            "product_id": _one_to(random_, size.products),
            "content_id": _one_to(random_, size.contents),
            "subject": SUBJECTS[int(random_() * len(SUBJECTS))],
            "status": _LINK_STATUS.pick(rng),
            "created_at": _seconds_before_as_of(rng, 365),
            "version": 1,
        }


def generate_users(engine: Engine, seed: int, count: int) -> None:
    """Insert `count` users into an empty users table (also the 1M-user benchmark)."""
    if engine.dialect.name != "sqlite":
        _insert_all(engine, users, user_rows(seed, count))
        return
    names = [column.name for column in users.columns]
    statement = f"INSERT INTO users ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-200000")
        # building indexes once over sorted data beats updating them row by row
        for index in users.indexes:
            index.drop(conn, checkfirst=True)
        rows = user_tuples(seed, count, text_times=True)
        while batch := list(itertools.islice(rows, BATCH_SIZE)):
            conn.exec_driver_sql(statement, batch)
        for index in users.indexes:
            index.create(conn)


def generate(dbs: Databases, seed: int, scale: float) -> DatasetSize:
    # imported here: generator_activity builds on this module's helpers
    from nexus_refserver.generator_activity import generate_activity
    from nexus_refserver.generator_profiles import generate_profiles_and_clicks

    size = DatasetSize.for_scale(scale)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("users", lambda: generate_users(dbs.users, seed, size.users)),
        ("sync_sessions", lambda: _insert_all(dbs.users, sync_sessions, sync_session_rows(seed, size))),
        ("contents", lambda: _insert_all(dbs.workstation, contents, content_rows(seed, size.contents))),
        ("vendors", lambda: _insert_all(dbs.marketplace, vendors, vendor_rows(seed, size.vendors))),
        (
            "products",
            lambda: _insert_all(dbs.marketplace, products, product_rows(seed, size.products, size.vendors)),
        ),
        ("orders", lambda: _insert_all(dbs.marketplace, orders, order_rows(seed, size))),
        ("search_queries", lambda: _insert_all(dbs.users, search_queries, search_query_rows(seed, size))),
        ("cart_events", lambda: _insert_all(dbs.marketplace, cart_events, cart_event_rows(seed, size))),
        (
            "product_subject_links",
            lambda: _insert_all(
                dbs.marketplace, product_subject_links, product_subject_link_rows(seed, size)
            ),
        ),
        ("funnel_events and user_activity", lambda: generate_activity(dbs.users, seed, size)),
        ("user_profiles and subject_clicks", lambda: generate_profiles_and_clicks(dbs.users, seed, size)),
    ]
    for name, step in steps:
        started = time.perf_counter()
        step()
        log.info("generated %s in %.2f s", name, time.perf_counter() - started)
    return size


def _dataset_signature(seed: int, scale: float) -> str:
    return json.dumps({"seed": seed, "scale": scale, "generator": GENERATOR_VERSION}, sort_keys=True)


def ensure_generated(dbs: Databases, seed: int, scale: float) -> bool:
    """Generate the platform data unless the databases already hold this seed/scale. True if generated."""
    signature = _dataset_signature(seed, scale)
    with dbs.nexus.connect() as conn:
        current = conn.execute(select(meta.c.value).where(meta.c.key == "dataset")).scalar_one_or_none()
    if current == signature:
        return False
    log.info("generating platform data for seed=%s scale=%s", seed, scale)
    dbs.drop_platform_data()
    generate(dbs, seed, scale)
    with dbs.nexus.begin() as conn:
        conn.execute(delete(meta).where(meta.c.key == "dataset"))
        conn.execute(insert(meta).values(key="dataset", value=signature))
    return True

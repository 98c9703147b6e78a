"""Admin lookups on the replicas: users, vendors and products, keyset-paged, with estimated counts.

The tables below are the console's own SQLAlchemy Core view of the platform schema (only the columns it
reads); tests/admin/test_schema_matches.py proves they match the reference server's real databases.
Every query binds its parameters; LIKE patterns are escaped, so search text is only ever data.
No lookup runs COUNT(*) over a table: counts stop at a cap, and beyond it PostgreSQL's planner estimate
is shown as "~N".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)

from nexus_console.domain.admin import (
    EntityType,
    EstimatedCount,
    Page,
    ReplicaResult,
    UserSearchKind,
    classify_user_query,
    clean_search_text,
    escape_like,
)
from nexus_console.services.replicas import ReplicaSet

Row = dict[str, Any]

_metadata = MetaData()

users = Table(
    "users",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(200)),
    Column("name", String(200)),
    Column("country", String(2)),
    Column("signup_at", DateTime(timezone=True)),
    Column("last_active_at", DateTime(timezone=True)),
    Column("status", String(16)),
    Column("email_verified", Boolean),
    Column("password_reset_at", DateTime(timezone=True)),
    Column("version", Integer),
)

sync_sessions = Table(
    "sync_sessions",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("content_id", Integer),
    Column("started_at", DateTime(timezone=True)),
    Column("duration_s", Integer),
    Column("detected", Boolean),
    Column("latency_ms", Integer),
    Column("completed", Boolean),
)

vendors = Table(
    "vendors",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200)),
    Column("email", String(200)),
    Column("country", String(2)),
    Column("created_at", DateTime(timezone=True)),
    Column("status", String(16)),
    Column("commission_pct", Float),
    Column("warnings", Integer),
    Column("products_removed", Integer),
    Column("late_shipments", Integer),
    Column("version", Integer),
)

products = Table(
    "products",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor_id", Integer),
    Column("title", String(200)),
    Column("category", String(40)),
    Column("price_cents", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("status", String(16)),
    Column("flagged", Boolean),
    Column("flag_reason", String(100)),
    Column("version", Integer),
)

orders = Table(
    "orders",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("vendor_id", Integer),
    Column("product_id", Integer),
    Column("placed_at", DateTime(timezone=True)),
    Column("quantity", Integer),
    Column("amount_cents", Integer),
    Column("commission_cents", Integer),
    Column("channel", String(16)),
    Column("status", String(16)),
)

search_queries = Table(
    "search_queries",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("query", String(200)),
    Column("at", DateTime(timezone=True)),
)

cart_events = Table(
    "cart_events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer),
    Column("product_id", Integer),
    Column("at", DateTime(timezone=True)),
    Column("kind", String(16)),
)

product_subject_links = Table(
    "product_subject_links",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("product_id", Integer),
    Column("content_id", Integer),
    Column("subject", String(100)),
    Column("status", String(16)),
    Column("created_at", DateTime(timezone=True)),
)

# which replica holds which table
TABLE_REPLICA = {
    "users": "users",
    "sync_sessions": "users",
    "search_queries": "users",
    "vendors": "marketplace",
    "products": "marketplace",
    "orders": "marketplace",
    "cart_events": "marketplace",
    "product_subject_links": "marketplace",
}
CONSOLE_TABLES = {
    t.name: t
    for t in (
        users,
        sync_sessions,
        search_queries,
        vendors,
        products,
        orders,
        cart_events,
        product_subject_links,
    )
}
ENTITY_TABLES = {EntityType.USER: users, EntityType.VENDOR: vendors, EntityType.PRODUCT: products}

# counted exactly up to this many rows; beyond it the planner's estimate (PostgreSQL) or "N+" (SQLite)
COUNT_CAP = 1000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
LIKE_ESCAPE = "\\"
# sorts after every character a prefix can be followed by (the highest Unicode code point)
_PREFIX_END = "\U0010ffff"


def _row(mapping: Any) -> Row:
    return dict(mapping)


def _limit(limit: int) -> int:
    return max(1, min(MAX_PAGE_SIZE, int(limit)))


def _contains(column: Any, needle: str) -> ColumnElement[bool]:
    return column.ilike(f"%{escape_like(needle, LIKE_ESCAPE)}%", escape=LIKE_ESCAPE)


# --- query builders (pure: a Select for the given search) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class UserSearch:
    """One user search: `query` is an id, an email prefix or a name substring (see classify_user_query)."""

    query: str = ""
    status: str | None = None
    # None: guess from the text (classify_user_query); or force one kind of search
    mode: UserSearchKind | None = None

    @property
    def text(self) -> str:
        return clean_search_text(self.query)

    @property
    def kind(self) -> UserSearchKind | None:
        if not self.text:
            return None
        if self.mode is UserSearchKind.ID and not self.text.isdigit():
            raise ValueError(f"not a user id: {self.query!r}")
        return self.mode or classify_user_query(self.text)

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        text_ = self.text
        kind = self.kind
        if kind is UserSearchKind.ID:
            conditions.append(users.c.id == int(text_))
        elif kind is UserSearchKind.EMAIL_PREFIX:
            prefix = text_.lower()
            # The range lets the email index seek; the LIKE keeps the result exact.
            conditions += [
                users.c.email >= prefix,
                users.c.email < prefix + _PREFIX_END,
                users.c.email.like(f"{escape_like(prefix, LIKE_ESCAPE)}%", escape=LIKE_ESCAPE),
            ]
        elif kind is UserSearchKind.NAME_SUBSTRING:
            conditions.append(_contains(users.c.name, text_))
        if self.status:
            conditions.append(users.c.status == clean_search_text(self.status))
        return conditions

    def sort_columns(self) -> list[Any]:
        """Email searches page in email order (the index order); everything else by id."""
        if self.kind is UserSearchKind.EMAIL_PREFIX:
            return [users.c.email]
        return [users.c.id]

    def select(self, columns: Sequence[Any], after: tuple[Any, ...] | None, limit: int) -> Select[Any]:
        sort = self.sort_columns()
        query = select(*columns).where(and_(true(), *self.conditions()))
        if after is not None:
            query = query.where(sort[0] > after[0])
        return query.order_by(*sort).limit(_limit(limit))

    def select_offset(self, columns: Sequence[Any], offset: int, limit: int) -> Select[Any]:
        """The same search paged by OFFSET: only for the benchmark that shows why keyset paging wins."""
        query = select(*columns).where(and_(true(), *self.conditions()))
        return query.order_by(*self.sort_columns()).offset(offset).limit(_limit(limit))


@dataclass(frozen=True, slots=True)
class VendorSearch:
    query: str = ""
    status: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        text_ = clean_search_text(self.query)
        if text_.isdigit():
            conditions.append(vendors.c.id == int(text_))
        elif text_:
            conditions.append(or_(_contains(vendors.c.name, text_), _contains(vendors.c.email, text_)))
        if self.status:
            conditions.append(vendors.c.status == clean_search_text(self.status))
        return conditions


class ProductQueue(StrEnum):
    FLAGGED = "flagged"  # flagged for review and not removed
    PENDING = "pending"  # awaiting approval


@dataclass(frozen=True, slots=True)
class ProductSearch:
    query: str = ""
    queue: ProductQueue | None = None
    status: str | None = None
    vendor_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        text_ = clean_search_text(self.query)
        if text_.isdigit():
            conditions.append(products.c.id == int(text_))
        elif text_:
            conditions.append(_contains(products.c.title, text_))
        if self.queue == ProductQueue.FLAGGED:
            # removed products have left the moderation queue even if still flagged
            conditions += [products.c.flagged == true(), products.c.status != "removed"]
        elif self.queue == ProductQueue.PENDING:
            conditions.append(products.c.status == "pending")
        if self.status:
            conditions.append(products.c.status == clean_search_text(self.status))
        if self.vendor_id is not None:
            conditions.append(products.c.vendor_id == int(self.vendor_id))
        return conditions


# A name search first walks this many ids in id order before it leaves the rest to the trigram index.
NAME_SEARCH_ID_WINDOW = 50_000


def user_search_rows(
    conn: Connection, search: UserSearch, after: tuple[Any, ...] | None, limit: int
) -> list[Row]:
    """One page of a user search.

    A name substring on PostgreSQL needs care: the planner badly underestimates how many rows a trigram
    condition matches, so for a common substring it fetches every match through the trigram index and
    sorts them (15k heap rows, ~50 ms on 1M users) to return 50. Walking the primary key in order
    finds 50 common matches within a few thousand rows instead, but would scan everything for a rare
    one. So: walk a bounded id window in order first; if that does not fill the page, the substring is
    rare and the trigram index finishes the page cheaply.
    """
    limit = _limit(limit)
    if search.kind is not UserSearchKind.NAME_SUBSTRING or conn.dialect.name != "postgresql":
        return [_row(r) for r in conn.execute(search.select([users], after, limit)).mappings()]
    start = int(after[0]) if after else 0
    window_end = start + NAME_SEARCH_ID_WINDOW
    conn.execute(text("SET LOCAL enable_bitmapscan = off"))
    near = search.select([users], after, limit).where(users.c.id <= window_end)
    rows = [_row(r) for r in conn.execute(near).mappings()]
    conn.execute(text("SET LOCAL enable_bitmapscan = on"))
    if len(rows) < limit:
        rest = search.select([users], (window_end,), limit - len(rows))
        rows += [_row(r) for r in conn.execute(rest).mappings()]
    return rows


def keyset_page(
    conn: Connection,
    table: Table,
    conditions: Iterable[ColumnElement[bool]],
    after: tuple[Any, ...] | None,
    limit: int,
) -> Page[Row]:
    """Rows ordered by id after the given id: an index seek, however deep the page."""
    query = select(table).where(and_(true(), *conditions))
    if after is not None:
        query = query.where(table.c.id > after[0])
    rows = [_row(r) for r in conn.execute(query.order_by(table.c.id).limit(_limit(limit))).mappings()]
    return Page(tuple(rows), (rows[-1]["id"],) if len(rows) == _limit(limit) else None)


def estimate_count(
    conn: Connection, table: Table, conditions: Sequence[ColumnElement[bool]]
) -> EstimatedCount:
    """Exact up to COUNT_CAP rows (a bounded scan); beyond, the planner's estimate, never COUNT(*)."""
    bounded = (
        select(literal_column("1")).select_from(table).where(and_(true(), *conditions)).limit(COUNT_CAP + 1)
    )
    counted = conn.execute(select(func.count()).select_from(bounded.subquery())).scalar_one()
    if counted <= COUNT_CAP:
        return EstimatedCount(counted, exact=True)
    if conn.dialect.name == "postgresql":
        estimate = _planner_estimate(conn, table, conditions)
        if estimate is not None:
            return EstimatedCount(max(estimate, COUNT_CAP + 1), exact=False)
    return EstimatedCount(COUNT_CAP, exact=False, capped=True)


def _planner_estimate(
    conn: Connection, table: Table, conditions: Sequence[ColumnElement[bool]]
) -> int | None:
    if not conditions:
        reltuples = conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:name)"),
            {"name": table.name},
        ).scalar_one_or_none()
        if reltuples is not None and reltuples >= 0:
            return int(reltuples)
    query = select(literal_column("1")).select_from(table).where(and_(true(), *conditions))
    compiled = query.compile(conn, compile_kwargs={"render_postcompile": True})
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", compiled.params)
    document = plan.scalar_one()
    if isinstance(document, str):
        document = json.loads(document)
    return int(document[0]["Plan"]["Plan Rows"])


# --- the service ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserDetail:
    profile: ReplicaResult[Row | None]
    sync_history: ReplicaResult[list[Row]]
    orders: ReplicaResult[list[Row]] | None  # None when no marketplace replica is configured
    # cart events (add / remove / checkout), newest first; None when no marketplace replica is configured
    cart: ReplicaResult[list[Row]] | None
    search_activity: ReplicaResult[list[Row]]  # the user's latest searches, newest first


@dataclass(frozen=True, slots=True)
class VendorDetail:
    profile: ReplicaResult[Row | None]  # includes status, commission_pct and the compliance counters
    products: ReplicaResult[Page[Row]]
    sales: ReplicaResult[Row]


@dataclass(frozen=True, slots=True)
class ProductDetail:
    product: ReplicaResult[Row | None]  # includes flagged and flag_reason
    vendor: ReplicaResult[Row | None]
    # where the product was seen in workstation content (content_id, subject, status), newest first
    subject_links: ReplicaResult[list[Row]]


class Lookups:
    """Every lookup runs on the replica set's executor and returns a ReplicaResult (value + lag)."""

    def __init__(self, replicas: ReplicaSet, *, detail_rows: int = 20) -> None:
        self.replicas = replicas
        self.detail_rows = detail_rows

    # users
    async def search_users(
        self, search: UserSearch, *, after: tuple[Any, ...] | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ReplicaResult[Page[Row]]:
        def work(conn: Connection) -> Page[Row]:
            rows = user_search_rows(conn, search, after, limit)
            sort_key = search.sort_columns()[0].name
            full = len(rows) == _limit(limit)
            return Page(tuple(rows), (rows[-1][sort_key],) if full else None)

        return await self.replicas.run("users", work)

    async def count_users(self, search: UserSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run("users", lambda conn: estimate_count(conn, users, search.conditions()))

    async def user_detail(self, user_id: int) -> UserDetail:
        user_id = int(user_id)

        def profile(conn: Connection) -> Row | None:
            found = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
            return None if found is None else _row(found)

        def history(conn: Connection) -> list[Row]:
            query = (
                select(sync_sessions)
                .where(sync_sessions.c.user_id == user_id)
                .order_by(sync_sessions.c.started_at.desc())
                .limit(self.detail_rows)
            )
            return [_row(r) for r in conn.execute(query).mappings()]

        order_rows = cart_rows = None
        if "marketplace" in self.replicas.replicas:
            order_rows = await self.replicas.run(
                "marketplace", self._latest(orders, orders.c.user_id, user_id, orders.c.placed_at)
            )
            cart_rows = await self.replicas.run(
                "marketplace", self._latest(cart_events, cart_events.c.user_id, user_id, cart_events.c.at)
            )
        return UserDetail(
            profile=await self.replicas.run("users", profile),
            sync_history=await self.replicas.run("users", history),
            orders=order_rows,
            cart=cart_rows,
            search_activity=await self.replicas.run(
                "users", self._latest(search_queries, search_queries.c.user_id, user_id, search_queries.c.at)
            ),
        )

    def _latest(
        self, table: Table, owner_column: Any, owner_id: int, time_column: Any
    ) -> Callable[[Connection], list[Row]]:
        """The newest detail_rows rows of one owner: an index walk on (owner, time)."""

        def work(conn: Connection) -> list[Row]:
            query = (
                select(table)
                .where(owner_column == owner_id)
                .order_by(time_column.desc(), table.c.id.desc())
                .limit(self.detail_rows)
            )
            return [_row(r) for r in conn.execute(query).mappings()]

        return work

    # vendors
    async def search_vendors(
        self, search: VendorSearch, *, after: tuple[Any, ...] | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ReplicaResult[Page[Row]]:
        return await self.replicas.run(
            "marketplace", lambda conn: keyset_page(conn, vendors, search.conditions(), after, limit)
        )

    async def count_vendors(self, search: VendorSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run(
            "marketplace", lambda conn: estimate_count(conn, vendors, search.conditions())
        )

    async def vendor_detail(self, vendor_id: int) -> VendorDetail:
        vendor_id = int(vendor_id)

        def profile(conn: Connection) -> Row | None:
            found = conn.execute(select(vendors).where(vendors.c.id == vendor_id)).mappings().first()
            return None if found is None else _row(found)

        def sales(conn: Connection) -> Row:
            query = select(
                func.count().label("orders"),
                func.coalesce(func.sum(orders.c.quantity), 0).label("units"),
                func.coalesce(func.sum(orders.c.amount_cents), 0).label("revenue_cents"),
                func.coalesce(func.sum(orders.c.commission_cents), 0).label("commission_cents"),
                func.count().filter(orders.c.status == "refunded").label("refunds"),
            ).where(orders.c.vendor_id == vendor_id, orders.c.status != "failed")
            return _row(conn.execute(query).mappings().one())

        product_search = ProductSearch(vendor_id=vendor_id)
        return VendorDetail(
            profile=await self.replicas.run("marketplace", profile),
            products=await self.replicas.run(
                "marketplace",
                lambda conn: keyset_page(conn, products, product_search.conditions(), None, self.detail_rows),
            ),
            sales=await self.replicas.run("marketplace", sales),
        )

    # products
    async def search_products(
        self, search: ProductSearch, *, after: tuple[Any, ...] | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ReplicaResult[Page[Row]]:
        return await self.replicas.run(
            "marketplace", lambda conn: keyset_page(conn, products, search.conditions(), after, limit)
        )

    async def count_products(self, search: ProductSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run(
            "marketplace", lambda conn: estimate_count(conn, products, search.conditions())
        )

    async def product_detail(self, product_id: int) -> ProductDetail:
        product_id = int(product_id)

        def product(conn: Connection) -> Row | None:
            found = conn.execute(select(products).where(products.c.id == product_id)).mappings().first()
            return None if found is None else _row(found)

        found = await self.replicas.run("marketplace", product)

        def vendor(conn: Connection) -> Row | None:
            if found.value is None:
                return None
            row = (
                conn.execute(select(vendors).where(vendors.c.id == found.value["vendor_id"]))
                .mappings()
                .first()
            )
            return None if row is None else _row(row)

        links = self._latest(
            product_subject_links,
            product_subject_links.c.product_id,
            product_id,
            product_subject_links.c.created_at,
        )
        return ProductDetail(
            product=found,
            vendor=await self.replicas.run("marketplace", vendor),
            subject_links=await self.replicas.run("marketplace", links),
        )

    # any entity
    async def rows_by_id(
        self, entity_type: EntityType, ids: Iterable[str | int]
    ) -> ReplicaResult[dict[str, Row]]:
        """Current rows for a set of ids (dry runs, the row cache, read-your-writes checks)."""
        table = ENTITY_TABLES[entity_type]
        wanted = sorted({int(i) for i in ids})

        def work(conn: Connection) -> dict[str, Row]:
            found: dict[str, Row] = {}
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                    found[str(row["id"])] = _row(row)
            return found

        return await self.replicas.run(TABLE_REPLICA[table.name], work)

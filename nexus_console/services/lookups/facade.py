"""Admin lookups on the replicas: users, vendors, products, content and subject links, keyset-paged,
with estimated counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Table, func, select

from nexus_console.domain.admin import EntityType
from nexus_console.domain.lookups import (
    AccountFootprint,
    ContentDetail,
    ContentSearch,
    ProductDetail,
    ProductSearch,
    Row,
    SubjectLinkDetail,
    SubjectLinkSearch,
    UserDetail,
    UserSearch,
    VendorDetail,
    VendorSearch,
)
from nexus_console.domain.replica_reads import EstimatedCount, Page, ReplicaResult
from nexus_console.services.lookups.queries import (
    DEFAULT_PAGE_SIZE,
    clamp_limit,
    content_conditions,
    estimate_count,
    keyset_page,
    product_conditions,
    subject_link_conditions,
    to_row,
    user_conditions,
    user_search_rows,
    user_sort_columns,
    vendor_conditions,
)
from nexus_console.services.lookups.schema import (
    ENTITY_TABLES,
    TABLE_REPLICA,
    cart_events,
    contents,
    orders,
    product_subject_links,
    products,
    search_queries,
    sync_sessions,
    users,
    vendors,
)
from nexus_console.services.replicas import ReplicaSet


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
            sort_key = user_sort_columns(search)[0].name
            full = len(rows) == clamp_limit(limit)
            return Page(tuple(rows), (rows[-1][sort_key],) if full else None)

        return await self.replicas.run("users", work)

    async def count_users(self, search: UserSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run(
            "users", lambda conn: estimate_count(conn, users, user_conditions(search))
        )

    async def user_detail(self, user_id: int) -> UserDetail:
        user_id = int(user_id)

        def history(conn: Connection) -> list[Row]:
            query = (
                select(sync_sessions)
                .where(sync_sessions.c.user_id == user_id)
                .order_by(sync_sessions.c.started_at.desc())
                .limit(self.detail_rows)
            )
            return [to_row(r) for r in conn.execute(query).mappings()]

        order_rows = cart_rows = None
        if "marketplace" in self.replicas.replicas:
            order_rows = await self.replicas.run(
                "marketplace", self._latest(orders, orders.c.user_id, user_id, orders.c.placed_at)
            )
            cart_rows = await self.replicas.run(
                "marketplace", self._latest(cart_events, cart_events.c.user_id, user_id, cart_events.c.at)
            )
        return UserDetail(
            profile=await self.replicas.run("users", self._one(users, user_id)),
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
            return [to_row(r) for r in conn.execute(query).mappings()]

        return work

    # vendors
    async def search_vendors(
        self, search: VendorSearch, *, after: tuple[Any, ...] | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ReplicaResult[Page[Row]]:
        return await self.replicas.run(
            "marketplace", lambda conn: keyset_page(conn, vendors, vendor_conditions(search), after, limit)
        )

    async def count_vendors(self, search: VendorSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run(
            "marketplace", lambda conn: estimate_count(conn, vendors, vendor_conditions(search))
        )

    async def vendor_detail(self, vendor_id: int) -> VendorDetail:
        vendor_id = int(vendor_id)

        def sales(conn: Connection) -> Row:
            query = select(
                func.count().label("orders"),
                func.coalesce(func.sum(orders.c.quantity), 0).label("units"),
                func.coalesce(func.sum(orders.c.amount_cents), 0).label("revenue_cents"),
                func.coalesce(func.sum(orders.c.commission_cents), 0).label("commission_cents"),
                func.count().filter(orders.c.status == "refunded").label("refunds"),
            ).where(orders.c.vendor_id == vendor_id, orders.c.status != "failed")
            return to_row(conn.execute(query).mappings().one())

        product_search = ProductSearch(vendor_id=vendor_id)
        return VendorDetail(
            profile=await self.replicas.run("marketplace", self._one(vendors, vendor_id)),
            products=await self.replicas.run(
                "marketplace",
                lambda conn: keyset_page(
                    conn, products, product_conditions(product_search), None, self.detail_rows
                ),
            ),
            sales=await self.replicas.run("marketplace", sales),
        )

    # products
    async def search_products(
        self, search: ProductSearch, *, after: tuple[Any, ...] | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ReplicaResult[Page[Row]]:
        return await self.replicas.run(
            "marketplace", lambda conn: keyset_page(conn, products, product_conditions(search), after, limit)
        )

    async def count_products(self, search: ProductSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run(
            "marketplace", lambda conn: estimate_count(conn, products, product_conditions(search))
        )

    async def product_detail(self, product_id: int) -> ProductDetail:
        product_id = int(product_id)

        found = await self.replicas.run("marketplace", self._one(products, product_id))
        vendor = self._one(vendors, None if found.value is None else found.value["vendor_id"])

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

    # content and subject links
    async def search_contents(
        self, search: ContentSearch, *, after: tuple[Any, ...] | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ReplicaResult[Page[Row]]:
        return await self.replicas.run(
            "workstation", lambda conn: keyset_page(conn, contents, content_conditions(search), after, limit)
        )

    async def count_contents(self, search: ContentSearch) -> ReplicaResult[EstimatedCount]:
        return await self.replicas.run(
            "workstation", lambda conn: estimate_count(conn, contents, content_conditions(search))
        )

    async def content_detail(self, content_id: int) -> ContentDetail:
        content_id = int(content_id)
        links = None
        if "marketplace" in self.replicas.replicas:
            links = await self.replicas.run(
                "marketplace",
                self._latest(
                    product_subject_links,
                    product_subject_links.c.content_id,
                    content_id,
                    product_subject_links.c.created_at,
                ),
            )
        return ContentDetail(
            content=await self.replicas.run("workstation", self._one(contents, content_id)),
            subject_links=links,
        )

    async def search_subject_links(
        self,
        search: SubjectLinkSearch,
        *,
        after: tuple[Any, ...] | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ReplicaResult[Page[Row]]:
        conditions = subject_link_conditions(search)
        return await self.replicas.run(
            "marketplace", lambda conn: keyset_page(conn, product_subject_links, conditions, after, limit)
        )

    async def count_subject_links(self, search: SubjectLinkSearch) -> ReplicaResult[EstimatedCount]:
        conditions = subject_link_conditions(search)
        return await self.replicas.run(
            "marketplace", lambda conn: estimate_count(conn, product_subject_links, conditions)
        )

    async def subject_link_detail(self, link_id: int) -> SubjectLinkDetail:
        link = await self.replicas.run("marketplace", self._one(product_subject_links, int(link_id)))
        found = link.value or {}
        product = await self.replicas.run("marketplace", self._one(products, found.get("product_id")))
        content = None
        if "workstation" in self.replicas.replicas:
            content = await self.replicas.run("workstation", self._one(contents, found.get("content_id")))
        return SubjectLinkDetail(link=link, product=product, content=content)

    def _one(self, table: Table, entity_id: int | None) -> Callable[[Connection], Row | None]:
        def work(conn: Connection) -> Row | None:
            if entity_id is None:
                return None
            found = conn.execute(select(table).where(table.c.id == int(entity_id))).mappings().first()
            return None if found is None else to_row(found)

        return work

    async def account_footprint(self, user_id: int) -> AccountFootprint:
        """An account and how many sessions, searches and orders it holds (a merge's preview)."""
        user_id = int(user_id)

        def users_side(conn: Connection) -> tuple[Row | None, int, int]:
            counts = [
                conn.execute(select(func.count()).where(table.c.user_id == user_id)).scalar_one()
                for table in (sync_sessions, search_queries)
            ]
            return self._one(users, user_id)(conn), int(counts[0]), int(counts[1])

        user, sessions, searches = (await self.replicas.run("users", users_side)).value
        order_count = None
        if "marketplace" in self.replicas.replicas:
            counted = await self.replicas.run(
                "marketplace",
                lambda conn: conn.execute(
                    select(func.count()).where(orders.c.user_id == user_id)
                ).scalar_one(),
            )
            order_count = int(counted.value)
        return AccountFootprint(user, sessions, searches, order_count)

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
                    found[str(row["id"])] = to_row(row)
            return found

        return await self.replicas.run(TABLE_REPLICA[table.name], work)

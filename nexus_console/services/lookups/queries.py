"""The SQL of admin lookups: search specs (domain/lookups.py) to conditions and selects, keyset paging
and estimated counts.

Every query binds its parameters; LIKE patterns are escaped, so search text is only ever data.
No lookup runs COUNT(*) over a table: counts stop at a cap, and beyond it PostgreSQL's planner estimate
is shown as "~N".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)

from nexus_console.domain.lookups import (
    ContentSearch,
    ProductQueue,
    ProductSearch,
    Row,
    SubjectLinkSearch,
    UserSearch,
    VendorSearch,
)
from nexus_console.domain.replica_reads import (
    EstimatedCount,
    Page,
    UserSearchKind,
    clean_search_text,
    escape_like,
)
from nexus_console.services.lookups.schema import contents, product_subject_links, products, users, vendors

# counted exactly up to this many rows; beyond it the planner's estimate (PostgreSQL) or "N+" (SQLite)
COUNT_CAP = 1000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
LIKE_ESCAPE = "\\"
# sorts after every character a prefix can be followed by (the highest Unicode code point)
_PREFIX_END = "\U0010ffff"


def to_row(mapping: Any) -> Row:
    return dict(mapping)


def clamp_limit(limit: int) -> int:
    return max(1, min(MAX_PAGE_SIZE, int(limit)))


def _contains(column: Any, needle: str) -> ColumnElement[bool]:
    return column.ilike(f"%{escape_like(needle, LIKE_ESCAPE)}%", escape=LIKE_ESCAPE)


# --- query builders (pure: conditions and a Select for the given search) ----------------------------------


def user_conditions(search: UserSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text_ = search.text
    kind = search.kind
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
    if search.status:
        conditions.append(users.c.status == clean_search_text(search.status))
    return conditions


def user_sort_columns(search: UserSearch) -> list[Any]:
    """Email searches page in email order (the index order); everything else by id."""
    if search.kind is UserSearchKind.EMAIL_PREFIX:
        return [users.c.email]
    return [users.c.id]


def select_users(
    search: UserSearch, columns: Sequence[Any], after: tuple[Any, ...] | None, limit: int
) -> Select[Any]:
    sort = user_sort_columns(search)
    query = select(*columns).where(and_(true(), *user_conditions(search)))
    if after is not None:
        query = query.where(sort[0] > after[0])
    return query.order_by(*sort).limit(clamp_limit(limit))


def select_users_offset(search: UserSearch, columns: Sequence[Any], offset: int, limit: int) -> Select[Any]:
    """The same search paged by OFFSET: only for the benchmark that shows why keyset paging wins."""
    query = select(*columns).where(and_(true(), *user_conditions(search)))
    return query.order_by(*user_sort_columns(search)).offset(offset).limit(clamp_limit(limit))


def vendor_conditions(search: VendorSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text_ = clean_search_text(search.query)
    if text_.isdigit():
        conditions.append(vendors.c.id == int(text_))
    elif text_:
        conditions.append(or_(_contains(vendors.c.name, text_), _contains(vendors.c.email, text_)))
    if search.status:
        conditions.append(vendors.c.status == clean_search_text(search.status))
    return conditions


def product_conditions(search: ProductSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text_ = clean_search_text(search.query)
    if text_.isdigit():
        conditions.append(products.c.id == int(text_))
    elif text_:
        conditions.append(_contains(products.c.title, text_))
    if search.queue == ProductQueue.FLAGGED:
        # removed products have left the moderation queue even if still flagged
        conditions += [products.c.flagged == true(), products.c.status != "removed"]
    elif search.queue == ProductQueue.PENDING:
        conditions.append(products.c.status == "pending")
    if search.status:
        conditions.append(products.c.status == clean_search_text(search.status))
    if search.vendor_id is not None:
        conditions.append(products.c.vendor_id == int(search.vendor_id))
    return conditions


def content_conditions(search: ContentSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text_ = clean_search_text(search.query)
    if text_.isdigit():
        conditions.append(contents.c.id == int(text_))
    elif text_:
        conditions.append(_contains(contents.c.title, text_))
    if search.queue == ProductQueue.FLAGGED:
        conditions += [contents.c.flagged == true(), contents.c.status != "removed"]
    if search.status:
        conditions.append(contents.c.status == clean_search_text(search.status))
    return conditions


def subject_link_conditions(search: SubjectLinkSearch) -> list[ColumnElement[bool]]:
    links = product_subject_links
    conditions: list[ColumnElement[bool]] = []
    text_ = clean_search_text(search.query)
    if text_.isdigit():
        conditions.append(links.c.id == int(text_))
    elif text_:
        conditions.append(_contains(links.c.subject, text_))
    if search.status:
        conditions.append(links.c.status == clean_search_text(search.status))
    if search.product_id is not None:
        conditions.append(links.c.product_id == int(search.product_id))
    return conditions


# --- paging and counting ---------------------------------------------------------------------------------

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
    limit = clamp_limit(limit)
    if search.kind is not UserSearchKind.NAME_SUBSTRING or conn.dialect.name != "postgresql":
        return [to_row(r) for r in conn.execute(select_users(search, [users], after, limit)).mappings()]
    start = int(after[0]) if after else 0
    window_end = start + NAME_SEARCH_ID_WINDOW
    conn.execute(text("SET LOCAL enable_bitmapscan = off"))
    near = select_users(search, [users], after, limit).where(users.c.id <= window_end)
    rows = [to_row(r) for r in conn.execute(near).mappings()]
    conn.execute(text("SET LOCAL enable_bitmapscan = on"))
    if len(rows) < limit:
        rest = select_users(search, [users], (window_end,), limit - len(rows))
        rows += [to_row(r) for r in conn.execute(rest).mappings()]
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
    rows = [to_row(r) for r in conn.execute(query.order_by(table.c.id).limit(clamp_limit(limit))).mappings()]
    return Page(tuple(rows), (rows[-1]["id"],) if len(rows) == clamp_limit(limit) else None)


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

"""Admin lookups on the replicas: users, vendors and products, keyset-paged, with estimated counts.

schema.py mirrors the platform's tables; queries.py turns the search specs (domain/lookups.py) into SQL,
pages by keyset and estimates counts; facade.py is the `Lookups` service the console calls.
The tunables COUNT_CAP and NAME_SEARCH_ID_WINDOW live in (and are read from) queries.py.
"""

from nexus_console.domain.lookups import (
    ProductDetail,
    ProductQueue,
    ProductSearch,
    Row,
    UserDetail,
    UserSearch,
    VendorDetail,
    VendorSearch,
)
from nexus_console.services.lookups.facade import Lookups
from nexus_console.services.lookups.queries import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    estimate_count,
    keyset_page,
    product_conditions,
    select_users,
    select_users_offset,
    user_conditions,
    user_search_rows,
    user_sort_columns,
    vendor_conditions,
)
from nexus_console.services.lookups.schema import (
    CONSOLE_TABLES,
    ENTITY_TABLES,
    TABLE_REPLICA,
    cart_events,
    orders,
    product_subject_links,
    products,
    search_queries,
    sync_sessions,
    users,
    vendors,
)

__all__ = [
    "CONSOLE_TABLES",
    "DEFAULT_PAGE_SIZE",
    "ENTITY_TABLES",
    "MAX_PAGE_SIZE",
    "TABLE_REPLICA",
    "Lookups",
    "ProductDetail",
    "ProductQueue",
    "ProductSearch",
    "Row",
    "UserDetail",
    "UserSearch",
    "VendorDetail",
    "VendorSearch",
    "cart_events",
    "estimate_count",
    "keyset_page",
    "orders",
    "product_conditions",
    "product_subject_links",
    "products",
    "search_queries",
    "select_users",
    "select_users_offset",
    "sync_sessions",
    "user_conditions",
    "user_search_rows",
    "user_sort_columns",
    "users",
    "vendor_conditions",
    "vendors",
]

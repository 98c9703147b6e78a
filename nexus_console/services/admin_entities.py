"""One descriptor per entity type: how the admin lookups build its search, page it, count it and load its
detail. The one other per-type table is the views' detail renderer (views/admin/detail.py, RENDERERS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nexus_console.domain.admin import EntityType
from nexus_console.domain.lookups import (
    ContentSearch,
    ProductQueue,
    ProductSearch,
    Row,
    SubjectLinkSearch,
    UserSearch,
    VendorSearch,
)
from nexus_console.domain.replica_reads import EstimatedCount, Page, ReplicaResult

if TYPE_CHECKING:
    from nexus_console.services.lookups import Lookups

After = tuple[Any, ...] | None


@dataclass(frozen=True, slots=True)
class EntityLookup:
    entity_type: EntityType
    # (text, status, review queue) -> the search spec; the queue only matters for products and content
    build_search: Callable[[str, str | None, ProductQueue | None], Any]
    page: Callable[[Lookups, Any, After, int], Awaitable[ReplicaResult[Page[Row]]]]
    count: Callable[[Lookups, Any], Awaitable[ReplicaResult[EstimatedCount]]]
    detail: Callable[[Lookups, int], Awaitable[Any]]
    # the detail's main row (with its replica stamp): the row the table shows for the entity
    main_row: Callable[[Any], ReplicaResult[Row | None]]


ENTITY_LOOKUPS: dict[EntityType, EntityLookup] = {
    EntityType.USER: EntityLookup(
        EntityType.USER,
        build_search=lambda text, status, _queue: UserSearch(text, status),
        page=lambda lookups, search, after, limit: lookups.search_users(search, after=after, limit=limit),
        count=lambda lookups, search: lookups.count_users(search),
        detail=lambda lookups, entity_id: lookups.user_detail(entity_id),
        main_row=lambda detail: detail.profile,
    ),
    EntityType.VENDOR: EntityLookup(
        EntityType.VENDOR,
        build_search=lambda text, status, _queue: VendorSearch(text, status),
        page=lambda lookups, search, after, limit: lookups.search_vendors(search, after=after, limit=limit),
        count=lambda lookups, search: lookups.count_vendors(search),
        detail=lambda lookups, entity_id: lookups.vendor_detail(entity_id),
        main_row=lambda detail: detail.profile,
    ),
    EntityType.PRODUCT: EntityLookup(
        EntityType.PRODUCT,
        build_search=lambda text, status, queue: ProductSearch(text, queue, status),
        page=lambda lookups, search, after, limit: lookups.search_products(search, after=after, limit=limit),
        count=lambda lookups, search: lookups.count_products(search),
        detail=lambda lookups, entity_id: lookups.product_detail(entity_id),
        main_row=lambda detail: detail.product,
    ),
    EntityType.CONTENT: EntityLookup(
        EntityType.CONTENT,
        build_search=lambda text, status, queue: ContentSearch(text, queue, status),
        page=lambda lookups, search, after, limit: lookups.search_contents(search, after=after, limit=limit),
        count=lambda lookups, search: lookups.count_contents(search),
        detail=lambda lookups, entity_id: lookups.content_detail(entity_id),
        main_row=lambda detail: detail.content,
    ),
    EntityType.SUBJECT_LINK: EntityLookup(
        EntityType.SUBJECT_LINK,
        build_search=lambda text, status, _queue: SubjectLinkSearch(text, status),
        page=lambda lookups, search, after, limit: lookups.search_subject_links(
            search, after=after, limit=limit
        ),
        count=lambda lookups, search: lookups.count_subject_links(search),
        detail=lambda lookups, entity_id: lookups.subject_link_detail(entity_id),
        main_row=lambda detail: detail.link,
    ),
}

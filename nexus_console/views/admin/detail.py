"""Detail panes as HTML: a user (profile, platform access, sync history, orders), a vendor (products,
sales, compliance, commission, review feedback), a product (flags, vendor), a content item (flags, the
products linked to it), a subject link (its product and content). Every section says which replica it
came from and how far behind that replica was. `RENDERERS` is the views' side of the entity descriptors
(services/admin_entities.py): one renderer per entity type."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from nexus_console.domain.admin import EntityType
from nexus_console.domain.admin_flow import LoadedDetail
from nexus_console.domain.admin_params import describe_access
from nexus_console.domain.lookups import (
    ContentDetail,
    ProductDetail,
    SubjectLinkDetail,
    UserDetail,
    VendorDetail,
)
from nexus_console.domain.replica_reads import ReplicaResult
from nexus_console.models.admin_table import cell_text
from nexus_console.models.outbox_table import age_text

DETAIL_CSS = (
    "<style>h2 { margin: 0 0 4px 0; } h3 { margin: 10px 0 2px 0; color: #8ab4f8; }"
    " table { border-collapse: collapse; } td, th { padding: 1px 8px 1px 0; text-align: left; }"
    " th { color: #9aa0a6; font-weight: normal; } .stamp { color: #8a8f98; font-size: small; }"
    " .missing { color: #8a8f98; font-style: italic; } .status { font-weight: bold; }</style>"
)


def stamp_text(result: ReplicaResult[Any], now: float) -> str:
    """`users replica: caught up · read 3 s ago`; after a failover, which of the replica's URLs answered."""
    where = f" (failover: URL {result.lag.url_index + 1})" if result.lag.url_index else ""
    return f"{result.lag.describe()}{where} · read {age_text(now - result.received_at)} ago"


def _e(value: Any) -> str:
    return html.escape(cell_text(value))


def _fields(row: Mapping[str, Any], names: Iterable[tuple[str, str]]) -> str:
    """Label and value per field; a field with no value says "—" (never a blank that looks like a bug)."""
    cells = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{_e(row.get(key)) or '—'}</td></tr>" for key, label in names
    )
    return f"<table>{cells}</table>"


def _rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], empty: str) -> str:
    if not rows:
        return f"<p class='missing'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(label)}</th>" for _key, label in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(row.get(key))}</td>" for key, _l in columns) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _stamp(result: ReplicaResult[Any], now: float) -> str:
    return f"<p class='stamp'>{html.escape(stamp_text(result, now))}</p>"


def _money(cents: Any) -> str:
    return f"{(cents or 0) / 100:,.2f}"


def _gone(what: str, result: ReplicaResult[Any], now: float) -> str:
    return (
        DETAIL_CSS
        + f"<p class='missing'>This {what} no longer exists on the replica.</p>"
        + _stamp(result, now)
    )


def render_user(detail: UserDetail, now: float) -> str:
    user = detail.profile.value
    if user is None:
        return _gone("user", detail.profile, now)
    merged = ""
    if user.get("merged_into"):
        merged = (
            f"<p>Merged into user {_e(user.get('merged_into'))}: look there for its current activity.</p>"
        )
    parts = [
        DETAIL_CSS,
        f"<h2>{_e(user.get('name'))}</h2>",
        f"<p>{_e(user.get('email'))} · user {_e(user.get('id'))} · "
        f"<span class='status'>{_e(user.get('status'))}</span></p>",
        _stamp(detail.profile, now),
        merged,
        "<h3>Profile</h3>",
        _fields(
            dict(user, access=describe_access(user)),
            (
                ("access", "Platform access"),
                ("country", "Country"),
                ("signup_at", "Signed up"),
                ("last_active_at", "Last active"),
                ("email_verified", "Email verified"),
                ("password_reset_at", "Password reset"),
                ("version", "Version"),
            ),
        ),
        "<h3>Sync history</h3>",
        _rows(
            detail.sync_history.value,
            (
                ("started_at", "Started"),
                ("content_id", "Content"),
                ("duration_s", "Duration s"),
                ("detected", "Detected"),
                ("latency_ms", "Latency ms"),
                ("completed", "Completed"),
            ),
            "No sync sessions.",
        ),
        "<h3>Orders</h3>",
    ]
    if detail.orders is None:
        parts.append("<p class='missing'>No marketplace replica configured.</p>")
    else:
        parts += [
            _rows(
                [dict(o, amount=_money(o.get("amount_cents"))) for o in detail.orders.value],
                (
                    ("placed_at", "Placed"),
                    ("id", "Order"),
                    ("product_id", "Product"),
                    ("quantity", "Qty"),
                    ("amount", "Amount"),
                    ("status", "Status"),
                ),
                "No orders.",
            ),
            _stamp(detail.orders, now),
        ]
    parts.append("<h3>Cart</h3>")
    if detail.cart is None:
        parts.append("<p class='missing'>No marketplace replica configured.</p>")
    else:
        parts.append(
            _rows(
                detail.cart.value,
                (("at", "When"), ("kind", "Event"), ("product_id", "Product")),
                "No cart activity.",
            )
        )
    parts += [
        "<h3>Search activity</h3>",
        _rows(detail.search_activity.value, (("at", "When"), ("query", "Query")), "No searches."),
    ]
    return "".join(parts)


def render_vendor(detail: VendorDetail, now: float) -> str:
    vendor = detail.profile.value
    if vendor is None:
        return _gone("vendor", detail.profile, now)
    sales = detail.sales.value
    return "".join(
        [
            DETAIL_CSS,
            f"<h2>{_e(vendor.get('name'))}</h2>",
            f"<p>{_e(vendor.get('email'))} · vendor {_e(vendor.get('id'))} · "
            f"<span class='status'>{_e(vendor.get('status'))}</span></p>",
            _stamp(detail.profile, now),
            "<h3>Commission and compliance</h3>",
            _fields(
                vendor,
                (
                    ("commission_pct", "Commission %"),
                    ("warnings", "Warnings"),
                    ("products_removed", "Products removed"),
                    ("late_shipments", "Late shipments"),
                    ("created_at", "Since"),
                    ("version", "Version"),
                    ("review_feedback", "Review feedback"),
                ),
            ),
            "<h3>Sales</h3>",
            _fields(
                {
                    "orders": sales.get("orders"),
                    "units": sales.get("units"),
                    "revenue": _money(sales.get("revenue_cents")),
                    "commission": _money(sales.get("commission_cents")),
                    "refunds": sales.get("refunds"),
                },
                (
                    ("orders", "Orders"),
                    ("units", "Units"),
                    ("revenue", "Revenue"),
                    ("commission", "Commission earned"),
                    ("refunds", "Refunds"),
                ),
            ),
            "<h3>Products</h3>",
            _rows(
                detail.products.value.rows,
                (("id", "ID"), ("title", "Title"), ("status", "Status"), ("flagged", "Flagged")),
                "No products.",
            ),
        ]
    )


def render_product(detail: ProductDetail, now: float) -> str:
    product = detail.product.value
    if product is None:
        return _gone("product", detail.product, now)
    vendor = detail.vendor.value or {}
    return "".join(
        [
            DETAIL_CSS,
            f"<h2>{_e(product.get('title'))}</h2>",
            f"<p>product {_e(product.get('id'))} · "
            f"<span class='status'>{_e(product.get('status'))}</span></p>",
            _stamp(detail.product, now),
            "<h3>Flags</h3>",
            _fields(product, (("flagged", "Flagged"), ("flag_reason", "Flag reason"))),
            "<h3>Product</h3>",
            _fields(
                dict(product, price=_money(product.get("price_cents"))),
                (
                    ("category", "Category"),
                    ("price", "Price"),
                    ("created_at", "Listed"),
                    ("version", "Version"),
                ),
            ),
            "<h3>Vendor</h3>",
            _fields(vendor, (("id", "ID"), ("name", "Name"), ("status", "Status"))),
            "<h3>Subject links</h3>",
            _rows(
                detail.subject_links.value,
                (
                    ("content_id", "Content"),
                    ("subject", "Subject"),
                    ("status", "Status"),
                    ("created_at", "Linked"),
                ),
                "Not linked to any content.",
            ),
            _stamp(detail.subject_links, now),
        ]
    )


def render_content(detail: ContentDetail, now: float) -> str:
    content = detail.content.value
    if content is None:
        return _gone("content item", detail.content, now)
    parts = [
        DETAIL_CSS,
        f"<h2>{_e(content.get('title'))}</h2>",
        f"<p>content {_e(content.get('id'))} · {_e(content.get('genre'))} · "
        f"<span class='status'>{_e(content.get('status'))}</span></p>",
        _stamp(detail.content, now),
        "<h3>Flags</h3>",
        _fields(content, (("flagged", "Flagged"), ("flag_reason", "Flag reason"))),
        "<h3>Content</h3>",
        _fields(
            content,
            (
                ("created_at", "Created"),
                ("subjects", "Subjects"),
                ("verified_subjects", "Verified subjects"),
                ("version", "Version"),
            ),
        ),
        "<h3>Products linked to its subjects</h3>",
    ]
    if detail.subject_links is None:
        parts.append("<p class='missing'>No marketplace replica configured.</p>")
    else:
        parts += [
            _rows(
                detail.subject_links.value,
                (("id", "Link"), ("product_id", "Product"), ("subject", "Subject"), ("status", "Status")),
                "No products linked.",
            ),
            _stamp(detail.subject_links, now),
        ]
    return "".join(parts)


def render_subject_link(detail: SubjectLinkDetail, now: float) -> str:
    link = detail.link.value
    if link is None:
        return _gone("subject link", detail.link, now)
    parts = [
        DETAIL_CSS,
        f"<h2>{_e(link.get('subject'))}</h2>",
        f"<p>subject link {_e(link.get('id'))} · <span class='status'>{_e(link.get('status'))}</span></p>",
        _stamp(detail.link, now),
        "<h3>Product</h3>",
        _fields(detail.product.value or {}, (("id", "ID"), ("title", "Title"), ("status", "Status"))),
        "<h3>Seen in content</h3>",
    ]
    if detail.content is None:
        parts.append("<p class='missing'>No workstation replica configured.</p>")
    else:
        parts.append(
            _fields(detail.content.value or {}, (("id", "ID"), ("title", "Title"), ("status", "Status")))
        )
    return "".join(parts)


RENDERERS: dict[EntityType, Callable[[Any, float], str]] = {
    EntityType.USER: render_user,
    EntityType.VENDOR: render_vendor,
    EntityType.PRODUCT: render_product,
    EntityType.CONTENT: render_content,
    EntityType.SUBJECT_LINK: render_subject_link,
}


def render_detail(loaded: LoadedDetail, now: float) -> str:
    return RENDERERS[loaded.entity_type](loaded.detail, now)

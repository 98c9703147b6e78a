"""Admin lookups as pure data: what a search asks for, and what an entity's detail view holds.

The SQL for these searches is built in services/lookups/queries.py; views only build and read these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nexus_console.domain.replica_reads import (
    Page,
    ReplicaResult,
    UserSearchKind,
    classify_user_query,
    clean_search_text,
)

Row = dict[str, Any]


# --- searches ------------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class VendorSearch:
    """`query` is a vendor id, or a substring of the name or the email."""

    query: str = ""
    status: str | None = None


class ProductQueue(StrEnum):
    FLAGGED = "flagged"  # flagged for review and not removed
    PENDING = "pending"  # awaiting approval


@dataclass(frozen=True, slots=True)
class ProductSearch:
    """`query` is a product id or a substring of the title."""

    query: str = ""
    queue: ProductQueue | None = None
    status: str | None = None
    vendor_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContentSearch:
    """`query` is a content id or a substring of the title; the queue is FLAGGED or None."""

    query: str = ""
    queue: ProductQueue | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class SubjectLinkSearch:
    """`query` is a link id or a substring of the subject."""

    query: str = ""
    status: str | None = None
    product_id: int | None = None


# --- details -------------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class ContentDetail:
    content: ReplicaResult[Row | None]  # includes status, flagged and flag_reason
    # the products linked to subjects in this content (marketplace); None without a marketplace replica
    subject_links: ReplicaResult[list[Row]] | None


@dataclass(frozen=True, slots=True)
class SubjectLinkDetail:
    link: ReplicaResult[Row | None]
    product: ReplicaResult[Row | None]
    content: ReplicaResult[Row | None] | None  # None without a workstation replica


@dataclass(frozen=True, slots=True)
class AccountFootprint:
    """What an account holds: its row and how many of each record point at it."""

    user: Row | None
    sync_sessions: int
    searches: int
    orders: int | None  # None without a marketplace replica


@dataclass(frozen=True, slots=True)
class MergePreview:
    """A merge side by side: the duplicate, the account it merges into, and what moves."""

    duplicate: AccountFootprint
    target: AccountFootprint

    def problem(self) -> str | None:
        """Why this merge cannot be queued, or None."""
        if self.target.user is None:
            return "No account with that id on the replica."
        if self.duplicate.user is not None and self.target.user["id"] == self.duplicate.user["id"]:
            return "An account cannot be merged into itself."
        if self.target.user.get("status") not in ("active", "suspended"):
            return f"That account is {self.target.user.get('status')}: merge into an active account."
        return None

    def moves(self) -> str:
        """`12 sync sessions and 3 searches move to user 42; 5 orders stay under user 7.`"""
        target = self.target.user["id"] if self.target.user else "?"
        duplicate = self.duplicate.user["id"] if self.duplicate.user else "?"
        text = (
            f"{self.duplicate.sync_sessions} sync sessions and {self.duplicate.searches} searches move to "
            f"user {target}"
        )
        if self.duplicate.orders:
            text += (
                f"; {self.duplicate.orders} orders stay recorded under user {duplicate} "
                "(the marketplace keeps them; the merged account points to its new one)"
            )
        return text + "."

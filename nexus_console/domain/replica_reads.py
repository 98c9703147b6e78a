"""Admin lookups as pure data: the replica stamp every lookup result carries (lag, estimated counts, keyset
pages), how a search query is read, and read-your-writes (a row applied on the primary and not yet replayed
on the replica)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from nexus_console.domain.admin import EntityRef

T = TypeVar("T")


# --- lookups -------------------------------------------------------------------------------------------


def parse_lsn(text: str | None) -> int | None:
    """PostgreSQL's "XXXXXXXX/XXXXXXXX" WAL location as a byte position."""
    if not text:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """How far behind its primary the replica that answered a lookup was, measured by WAL position.

    `lag_bytes` is the primary's last reported WAL end minus what the replica has replayed: it is 0 while
    the primary is idle (unlike `now() - pg_last_xact_replay_timestamp()`, which keeps growing).
    """

    replica: str  # the logical database name: users, workstation, marketplace
    url_index: int  # which of its URLs answered (0 = the first)
    is_replica: bool  # False for a primary or an SQLite file: no replication, lag 0
    replay_lsn: int | None
    lag_bytes: int | None  # None when unknown (the replica has lost its primary)
    lag_s: float | None
    receiver_connected: bool
    measured_at: float  # epoch s, local clock

    @property
    def caught_up(self) -> bool:
        return self.lag_bytes == 0

    def describe(self) -> str:
        if not self.is_replica:
            return f"{self.replica}: no replication lag (primary or local file)"
        if not self.receiver_connected:
            behind = "" if self.lag_s is None else f", last heard {self.lag_s:.1f} s ago"
            return f"{self.replica} replica: primary unreachable{behind}"
        if self.lag_bytes == 0:
            return f"{self.replica} replica: caught up"
        seconds = "" if self.lag_s is None else f", {self.lag_s:.1f} s"
        return f"{self.replica} replica: {self.lag_bytes} bytes behind{seconds}"


@dataclass(frozen=True, slots=True)
class ReplicaResult(Generic[T]):
    """A lookup result stamped with the replica lag observed in the same transaction."""

    value: T
    lag: ReplicaLag
    received_at: float


@dataclass(frozen=True, slots=True)
class EstimatedCount:
    """A row count that never costs COUNT(*) over a big table."""

    value: int
    exact: bool  # counted up to the cap without reaching it
    capped: bool = False  # the count stopped at `value`: there are at least that many

    def describe(self) -> str:
        if self.capped:
            return f"{self.value:,}+"
        return f"{self.value:,}" if self.exact else f"~{self.value:,}"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One keyset page: `next_after` is the sort key of the last row, None on the last page."""

    rows: tuple[T, ...]
    next_after: tuple[Any, ...] | None
    estimated_total: EstimatedCount | None = None


class UserSearchKind(StrEnum):
    ID = "id"
    EMAIL_PREFIX = "email_prefix"
    NAME_SUBSTRING = "name_substring"


def classify_user_query(query: str) -> UserSearchKind:
    """The console's single search box: digits are an id; text with an @, or one word with a dot, is
    the start of an email; anything else is part of a name."""
    text = query.strip()
    if text.isdigit():
        return UserSearchKind.ID
    if "@" in text or ("." in text and not any(ch.isspace() for ch in text)):
        return UserSearchKind.EMAIL_PREFIX
    return UserSearchKind.NAME_SUBSTRING


MAX_SEARCH_LENGTH = 200


def clean_search_text(text: str | None) -> str:
    """Search text as the database may see it: no control characters (PostgreSQL refuses NUL in text),
    no surrounding space, at most MAX_SEARCH_LENGTH characters."""
    if not text:
        return ""
    kept = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    return kept.strip()[:MAX_SEARCH_LENGTH]


def escape_like(text: str, escape: str = "\\") -> str:
    """Make `%`, `_` and the escape character literal inside a LIKE pattern."""
    return text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


# --- read-your-writes ----------------------------------------------------------------------------------


class RowFreshness(StrEnum):
    CURRENT = "current"
    WAITING_FOR_REPLICA = "waiting_for_replica"  # applied on the primary, not yet replayed here


@dataclass
class ReplicaCatchUp:
    """Versions the API has applied that the replica has not shown yet, per entity.

    A row reads "applied — waiting for replica" until the replica returns a version at least as new as
    the one the API reported for the write; then the entity is forgotten and the row is current.
    """

    pending: dict[EntityRef, int] = field(default_factory=dict)

    def applied(self, entity: EntityRef, version: int) -> None:
        self.pending[entity] = max(version, self.pending.get(entity, 0))

    def observe(self, entity: EntityRef, replica_version: int | None) -> RowFreshness:
        wanted = self.pending.get(entity)
        if wanted is None:
            return RowFreshness.CURRENT
        if replica_version is not None and replica_version >= wanted:
            del self.pending[entity]
            return RowFreshness.CURRENT
        return RowFreshness.WAITING_FOR_REPLICA

    def label(self, entity: EntityRef) -> str | None:
        return "applied — waiting for replica" if entity in self.pending else None

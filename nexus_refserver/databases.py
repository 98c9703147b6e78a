"""Engines for the four databases: SQLite files under the data dir by default, or the given URLs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event, text

import nexus_refserver.schema_compliance as _compliance_tables  # noqa: F401  (registers its tables on the nexus database)
import nexus_refserver.schema_profiles  # noqa: F401  (registers its tables on the users database)
import nexus_refserver.schema_security as _security_tables  # noqa: F401  (registers its tables on the nexus database)
from nexus_refserver.config import ServerConfig
from nexus_refserver.schema import (
    marketplace_metadata,
    nexus_metadata,
    users_metadata,
    workstation_metadata,
)
from nexus_refserver.schema_upgrade import upgrade_nexus

log = logging.getLogger(__name__)

DATABASE_NAMES = ("users", "workstation", "marketplace", "nexus")
_METADATA: dict[str, MetaData] = {
    "users": users_metadata,
    "workstation": workstation_metadata,
    "marketplace": marketplace_metadata,
    "nexus": nexus_metadata,
}


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything this server stores is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rfc3339(value: datetime | None) -> str | None:
    value = as_utc(value)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


@dataclass
class Databases:
    users: Engine
    workstation: Engine
    marketplace: Engine
    nexus: Engine

    @classmethod
    def open(cls, config: ServerConfig) -> Databases:
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        urls = {
            "users": config.users_db_url,
            "workstation": config.workstation_db_url,
            "marketplace": config.marketplace_db_url,
            "nexus": config.nexus_db_url,
        }
        engines = {
            name: make_engine(url or f"sqlite:///{data_dir / (name + '.sqlite3')}")
            for name, url in urls.items()
        }
        return cls(**engines)

    def engine(self, name: str) -> Engine:
        return getattr(self, name)

    def create_schema(self) -> None:
        for name in DATABASE_NAMES:
            engine = self.engine(name)
            _METADATA[name].create_all(engine)
        upgrade_nexus(self.nexus, nexus_metadata)
        self._create_trigram_indexes()

    def drop_platform_data(self) -> None:
        """Drop the generated platform tables (before regenerating with another seed or scale)."""
        for name in ("users", "workstation", "marketplace"):
            _METADATA[name].drop_all(self.engine(name))
            _METADATA[name].create_all(self.engine(name))
        self._create_trigram_indexes()

    def _create_trigram_indexes(self) -> None:
        engine = self.users
        if engine.dialect.name != "postgresql":
            return
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.execute(
                text("CREATE INDEX IF NOT EXISTS ix_users_email_trgm ON users USING gin (email gin_trgm_ops)")
            )
            conn.execute(
                text("CREATE INDEX IF NOT EXISTS ix_users_name_trgm ON users USING gin (name gin_trgm_ops)")
            )

    def dispose(self) -> None:
        for name in DATABASE_NAMES:
            self.engine(name).dispose()

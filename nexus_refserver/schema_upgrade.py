"""Bring an older nexus database up to the current tables: `create_all` makes missing tables but never
adds columns to an existing one, so a data directory from an earlier version gets its new columns here,
and its incidents move from the old four statuses to the current six."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, MetaData, inspect, update
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql import text

from nexus_refserver.schema import incident_timeline, incidents

log = logging.getLogger(__name__)

# the statuses before the six-step model, and what they became
OLD_STATUSES = {"open": "triage", "mitigated": "monitoring"}


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for every column the metadata has and an existing table lacks.

    Returns the added columns as `table.column`. New columns are nullable or carry a server default, so
    this works on tables that already hold rows."""
    inspector = inspect(engine)
    existing = set(inspector.get_table_names())
    added: list[str] = []
    with engine.begin() as conn:
        preparer = conn.dialect.identifier_preparer
        for table in metadata.sorted_tables:
            if table.name not in existing:
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                spec = CreateColumn(column).compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {spec}"))
                added.append(f"{table.name}.{column.name}")
    if added:
        log.info("added columns to the %s database: %s", engine.url.database, ", ".join(added))
    return added


def upgrade_incident_rows(conn: Connection, added: list[str]) -> None:
    """Old statuses become their new names; incidents from before the milestones were detected when
    they were declared; entries from before created_at were written when they happened."""
    for old, new in OLD_STATUSES.items():
        conn.execute(update(incidents).where(incidents.c.status == old).values(status=new))
    if "incidents.detected_at" in added:
        conn.execute(
            update(incidents)
            .where(incidents.c.detected_at.is_(None))
            .values(detected_at=incidents.c.created_at, impact_started_at=incidents.c.created_at)
        )
    conn.execute(
        update(incident_timeline)
        .where(incident_timeline.c.created_at.is_(None))
        .values(created_at=incident_timeline.c.at)
    )


def upgrade_nexus(engine: Engine, metadata: MetaData) -> None:
    """Run after `metadata.create_all(engine)` on the nexus database."""
    added = add_missing_columns(engine, metadata)
    with engine.begin() as conn:
        upgrade_incident_rows(conn, added)

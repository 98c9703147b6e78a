"""The PCI-DSS check on the platform replicas: every text column of every table, searched for card numbers
(`domain.card_numbers`), reported by table, column and row, masked.

PostgreSQL pre-filters on the replica with a regular expression (a run of 13 digits, spaces or dashes), so
only candidate rows cross the network, streamed with a server-side cursor under a statement timeout long
enough for a full scan; SQLite (the demo's files) pre-filters with GLOB on four digits in a row. Python
then finds the numbers and keeps only their masked form.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, String, Text, inspect, text

from nexus_console.domain.card_numbers import SQL_PREFILTER, find_card_numbers
from nexus_console.services.replicas import ReplicaSet

SCAN_TIMEOUT_S = 600.0
FETCH_ROWS = 5000
MAX_FINDINGS = 10_000  # beyond this the report says how many more there were


@dataclass(frozen=True, slots=True)
class PciFinding:
    database: str
    table: str
    column: str
    row: str  # the row's primary key (or its physical id when it has none)
    masked: str
    brand: str


@dataclass(slots=True)
class PciScanReport:
    started_at: float
    finished_at: float = 0.0
    databases: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # database.table.column, each scanned
    candidate_rows: int = 0  # rows the pre-filter let through
    findings: list[PciFinding] = field(default_factory=list)
    more_findings: int = 0
    errors: list[str] = field(default_factory=list)  # a column that could not be read, in words

    @property
    def passed(self) -> bool:
        return not self.findings and not self.more_findings and not self.errors


def text_columns(conn: Connection) -> list[tuple[str, str, str]]:
    """(table, column, row key expression) for every text column of every table."""
    inspector = inspect(conn)
    quote = conn.dialect.identifier_preparer.quote
    postgres = conn.dialect.name == "postgresql"
    found = []
    for table in sorted(inspector.get_table_names()):
        keys = inspector.get_pk_constraint(table).get("constrained_columns") or []
        if keys:
            row_key = " || '/' || ".join(f"CAST({quote(k)} AS TEXT)" for k in keys)
        else:
            row_key = "CAST(ctid AS TEXT)" if postgres else "CAST(rowid AS TEXT)"
        for column in inspector.get_columns(table):
            if isinstance(column["type"], String | Text):
                found.append((table, column["name"], row_key))
    return found


def scan_connection(conn: Connection, database: str, report: PciScanReport) -> None:
    """Scan every text column the connection sees; findings and counts go into `report`."""
    quote = conn.dialect.identifier_preparer.quote
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text(f"SET LOCAL statement_timeout = '{int(SCAN_TIMEOUT_S)}s'"))
    for table, column, row_key in text_columns(conn):
        where = (
            f"{quote(column)} ~ :pattern" if postgres else f"{quote(column)} GLOB '*[0-9][0-9][0-9][0-9]*'"
        )
        statement = text(f"SELECT {row_key}, {quote(column)} FROM {quote(table)} WHERE {where}")
        params = {"pattern": SQL_PREFILTER} if postgres else {}
        report.columns.append(f"{database}.{table}.{column}")
        rows = conn.execution_options(yield_per=FETCH_ROWS).execute(statement, params)
        _collect(database, table, column, rows, report)


def _collect(database: str, table: str, column: str, rows: Iterable, report: PciScanReport) -> None:
    for row_key, value in rows:
        report.candidate_rows += 1
        for card in find_card_numbers(value or ""):
            if len(report.findings) < MAX_FINDINGS:
                report.findings.append(
                    PciFinding(database, table, column, str(row_key), card.masked, card.brand)
                )
            else:
                report.more_findings += 1


async def scan_replicas(replicas: ReplicaSet, names: Iterable[str] | None = None) -> PciScanReport:
    """Scan the named replicas (default: every one configured), one after another, off the loop's thread."""
    report = PciScanReport(time.time())
    for name in names or list(replicas.replicas):
        report.databases.append(name)
        try:
            await replicas.run(
                name, lambda conn, name=name: scan_connection(conn, name, report), timeout_s=SCAN_TIMEOUT_S
            )
        except Exception as exc:  # one database that fails leaves the others' results, and says why
            report.errors.append(f"{name}: {exc}")
    report.finished_at = time.time()
    return report

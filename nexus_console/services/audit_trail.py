"""The audit trail of the admin API (GET /audit: who, what, when, before/after, reason): filtered pages for
the Audit pane, and every matching entry exported as CSV (written on the session's executor)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nexus_console.domain.admin_flow import AuditPage
from nexus_console.services.api_client import NexusClient

PAGE_SIZE = 200
CSV_FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "reason",
    "before",
    "after",
    "idempotency_key",
)


def write_audit_csv(entries: Sequence[Mapping[str, Any]], path: Path) -> int:
    """Write the entries as CSV (before/after as JSON text); returns the number of rows written."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for entry in entries:
            record = {name: entry.get(name) for name in CSV_FIELDS}
            for name in ("before", "after"):
                record[name] = "" if record[name] is None else json.dumps(record[name], sort_keys=True)
            writer.writerow(record)
    return len(entries)


class AuditTrail:
    def __init__(self, api: NexusClient, executor: concurrent.futures.Executor | None = None) -> None:
        self.api = api
        self.executor = executor

    async def page(
        self, filters: Mapping[str, str], cursor: str | None = None, *, limit: int = PAGE_SIZE
    ) -> AuditPage:
        """One page of entries matching `filters` (actor, action, entity_type, entity_id, since, until)."""
        params: dict[str, Any] = dict(filters, limit=limit)
        if cursor:
            params["cursor"] = cursor
        body, _headers = await self.api.get_json("/audit", params)
        body = dict(body)
        total = body.get("estimated_total")
        return AuditPage(
            list(body["items"]), body.get("next_cursor"), total if isinstance(total, int) else None
        )

    async def all_entries(self, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every entry matching `filters`, all pages."""
        entries: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.page(filters, cursor)
            entries.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                return entries

    async def export_csv(self, filters: Mapping[str, str], path: Path) -> int:
        """Every entry matching `filters` (all pages), written as CSV; returns the row count."""
        entries = await self.all_entries(filters)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, write_audit_csv, entries, Path(path))

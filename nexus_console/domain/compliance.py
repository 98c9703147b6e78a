"""The Compliance pane's figures from the API (`/compliance/dsar|consents|retention|moderation`) as tables:
the data-subject request register with its clocks (`domain.dsar`), consent by purpose, the retention
policy's checks (rows kept longer than the policy allows) and content moderation. Pure: no I/O, no Qt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from nexus_console.domain.analytics import DataTable, percent
from nexus_console.domain.dsar import DataSubjectRequest, register

DSAR_COLUMNS = ("#", "Kind", "Subject", "Received", "Status", "Clock")
RETENTION_COLUMNS = ("Column", "Keep (days)", "Older rows", "Oldest", "Result")
MODERATION_COLUMNS = ("Moderated", "Flagged, waiting", "Oldest waiting since", "Commonest flags", "By status")
MODERATED_NAMES = {"product": "Marketplace products", "content": "Workstation content"}


@dataclass(frozen=True, slots=True)
class DsarRegister:
    requests: tuple[DataSubjectRequest, ...]  # in register order: overdue first
    today: date

    @classmethod
    def from_json(cls, body: Mapping[str, Any], today: date) -> DsarRegister:
        parsed = [DataSubjectRequest.from_json(item) for item in body["requests"]]
        return cls(tuple(register(parsed, today)), today)

    def overdue(self) -> list[DataSubjectRequest]:
        return [r for r in self.requests if r.is_open and r.days_left(self.today) < 0]

    def table(self) -> DataTable:
        rows = tuple(
            (r.id, r.kind, r.subject, r.received.isoformat(), r.status, r.clock_text(self.today))
            for r in self.requests
        )
        return DataTable("Data-subject requests", DSAR_COLUMNS, rows)

    def summary(self) -> str:
        open_ = [r for r in self.requests if r.is_open]
        due_soon = [r for r in open_ if 0 <= r.days_left(self.today) <= 7]
        return (
            f"{len(open_)} open requests: {len(self.overdue())} overdue, {len(due_soon)} due within 7 days "
            f"(GDPR Art. 12(3): one month from receipt, once extendable by two)"
        )


def consent_table(body: Mapping[str, Any]) -> DataTable:
    rows = tuple(
        (str(p["purpose"]), int(p["granted"]), int(p["withdrawn"]), percent(float(p["rate"])))
        for p in body["purposes"]
    )
    return DataTable(
        "Consent by purpose (each user's latest answer)", ("Purpose", "Granted", "Withdrawn", "Rate"), rows
    )


def consent_changes(body: Mapping[str, Any]) -> tuple[int, int]:
    """Consents granted and withdrawn over the last 30 days."""
    changes: Sequence[Mapping[str, Any]] = body.get("changes_30d", ())
    return sum(int(c["granted"]) for c in changes), sum(int(c["withdrawn"]) for c in changes)


@dataclass(frozen=True, slots=True)
class RetentionCheck:
    where: str  # database.table.column
    keep_days: int
    older_rows: int
    oldest: str | None

    @property
    def passed(self) -> bool:
        return self.older_rows == 0


def retention_checks(body: Mapping[str, Any]) -> list[RetentionCheck]:
    return [
        RetentionCheck(
            f"{c['database']}.{c['table']}.{c['column']}",
            int(c["keep_days"]),
            int(c["older_rows"]),
            None if c.get("oldest") is None else str(c["oldest"])[:10],
        )
        for c in body["checks"]
    ]


def retention_table(checks: Sequence[RetentionCheck]) -> DataTable:
    rows = tuple(
        (
            c.where,
            c.keep_days,
            c.older_rows,
            c.oldest or "—",
            "kept within policy" if c.passed else "rows past policy",
        )
        for c in checks
    )
    return DataTable("Retention checks", RETENTION_COLUMNS, rows)


def moderation_table(body: Mapping[str, Any]) -> DataTable:
    """Per moderated kind: flagged items waiting for a moderator, since when, why they were flagged, and
    every item by status."""
    rows = tuple(
        (
            MODERATED_NAMES.get(str(k["kind"]), str(k["kind"])),
            int(k["flagged_waiting"]),
            str(k["oldest_flagged_created_at"] or "—")[:10],
            ", ".join(f"{r['reason']} {int(r['count']):,}" for r in k["reasons"]) or "—",
            ", ".join(f"{status} {int(count):,}" for status, count in sorted(k["by_status"].items())),
        )
        for k in body["kinds"]
    )
    return DataTable("Content moderation", MODERATION_COLUMNS, rows)


def moderation_decisions(body: Mapping[str, Any]) -> str:
    """The moderators' decisions of the last 30 days in a sentence."""
    decisions: Sequence[Mapping[str, Any]] = body.get("decisions_30d", ())
    if not decisions:
        return "<b>Moderation</b> · no decisions recorded in the last 30 days"
    parts = ", ".join(f"{int(d['count']):,} {str(d['action']).replace('.', ' ')}" for d in decisions)
    return f"<b>Moderation</b> · decisions in the last 30 days: {parts}"

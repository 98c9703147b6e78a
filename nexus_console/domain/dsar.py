"""Data-subject requests (GDPR access, deletion, rectification, portability) and the clock of Art. 12(3):
an answer within one month of receipt, extendable once by two further months. A month is counted as the
EU counts periods (Regulation 1182/71): the same day of the month after, or that month's last day when it
has no such day (a request received on 31 January is due on 28 or 29 February). Overdue requests come
first, then the least time left."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

OPEN_STATUSES = ("open", "extended")


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of that month when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class DataSubjectRequest:
    id: int
    kind: str  # access | deletion | rectification | portability
    subject: str  # the account's e-mail
    received: date
    status: str  # open | extended | completed | rejected
    answered: date | None = None
    version: int = 1  # for If-Match on an action

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DataSubjectRequest:
        answered = body.get("completed_at")
        return cls(
            int(body["id"]), str(body["kind"]), str(body.get("user") or body.get("subject") or ""),
            date.fromisoformat(str(body["received_at"])[:10]), str(body["status"]),
            date.fromisoformat(str(answered)[:10]) if answered else None, int(body.get("version", 1)),
        )  # fmt: skip

    @property
    def extended(self) -> bool:
        return self.status == "extended"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def due(self) -> date:
        """One month after receipt; three when the deadline was extended."""
        return add_months(self.received, 3 if self.extended else 1)

    def days_left(self, today: date) -> int:
        """Days until the due date (0 on it; negative when overdue)."""
        return (self.due() - today).days

    def clock_text(self, today: date) -> str:
        if not self.is_open:
            late = self.answered is not None and self.answered > self.due()
            return f"{self.status} {self.answered or ''}".strip() + (" (late)" if late else "")
        left = self.days_left(today)
        if left < 0:
            return f"overdue by {-left} day{'s' if left != -1 else ''} (due {self.due():%d %b %Y})"
        if left == 0:
            return f"due today ({self.due():%d %b %Y})"
        return f"{left} day{'s' if left != 1 else ''} left (due {self.due():%d %b %Y})"


def register(requests: Iterable[DataSubjectRequest], today: date) -> list[DataSubjectRequest]:
    """Open requests first, overdue ones at the top, by time left; then the answered, newest first."""
    items = list(requests)
    open_ = sorted((r for r in items if r.is_open), key=lambda r: (r.days_left(today), r.id))
    closed = sorted((r for r in items if not r.is_open), key=lambda r: r.answered or r.received, reverse=True)
    return open_ + closed

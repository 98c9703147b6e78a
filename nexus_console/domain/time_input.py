"""Times as people type them in a filter: `2h` or `7d` ago, `today`, `yesterday`, `2026-12-01`,
`2026-12-01 14:30` (local time), or a full RFC 3339 time; turned into the RFC 3339 UTC text the API takes.

Written by hand: dateutil's parser reads free text but not "2h ago" shorthands, and guessing day/month order
in "01/02" is worse than refusing it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$")
_UNIT_S = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


class TimeInputError(ValueError):
    """Text that is no time this parser knows; the message says what it accepts."""


def parse_time_input(text: str, now: datetime | None = None) -> str:
    """The RFC 3339 UTC time `text` means (`2026-12-01T13:30:00Z`), or TimeInputError."""
    now = now or datetime.now(UTC)
    cleaned = " ".join(text.strip().lower().removesuffix(" ago").split())
    if match := _AGO.match(cleaned):
        moment = now - timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])
    elif cleaned in ("now", "today", "yesterday"):
        local_now = now.astimezone()
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        moment = {"now": now, "today": midnight, "yesterday": midnight - timedelta(days=1)}[cleaned]
    else:
        moment = _absolute(text.strip())
    moment = moment.astimezone(UTC)
    # to the microsecond: "now" cut to the second would leave out what happened earlier in that second
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def _absolute(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo is not None else parsed.astimezone()  # naive: local time
    for layout in _LOCAL_FORMATS:
        try:
            return datetime.strptime(text, layout).astimezone()
        except ValueError:
            continue
    raise TimeInputError(
        f"{text!r} is not a time: type 2h, 7d, today, yesterday, 2026-12-01 or 2026-12-01 14:30"
    )

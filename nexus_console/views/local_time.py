"""The user's time zone as a real zone (daylight-saving rules included), for typed and printed times.

`datetime.now().astimezone()` carries only today's fixed offset, so "yesterday 23:50" across a clock change
would land an hour off; Qt knows the system zone's IANA name, and zoneinfo its rules.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QTimeZone


def local_zone() -> tzinfo:
    name = bytes(QTimeZone.systemTimeZoneId().data()).decode(errors="replace")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fixed = datetime.now().astimezone().tzinfo
        assert fixed is not None
        return fixed


def local_now() -> datetime:
    """Now, in the user's zone."""
    return datetime.now(local_zone())

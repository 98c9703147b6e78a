"""The quick-entry line of an incident's timeline: a time as typed, then what happened.

Accepted times (in the user's zone, the zone of `now`):

- "14:32 restarted the order processor" and "14:32:10 ...": the most recent 14:32, so today unless that is
  more than 5 minutes ahead, else yesterday;
- "yesterday 23:50 ..." (and "today 09:15 ...");
- "2026-12-05 23:50 ...": that date;
- "-5m ..." and "-2h ...": minutes or hours ago;
- no time at all: now.

Times are built as wall-clock times in the zone, so they stay right across a daylight-saving change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# How far ahead a typed time may be: clocks differ, and a responder types "14:32" at 14:31:40.
FUTURE_TOLERANCE = timedelta(minutes=5)

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_LOOKS_LIKE_CLOCK = re.compile(r"\d{1,2}:\d")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AGO = re.compile(r"-(\d{1,4})(m|min|h)")


@dataclass(frozen=True, slots=True)
class QuickEntry:
    at: float  # epoch seconds
    text: str


class QuickEntryError(ValueError):
    """A line that cannot be entered; str() is a sentence for the user."""


def parse_quick_entry(line: str, *, now: datetime) -> QuickEntry:
    """The time and text of a quick-entry line (see the module docstring); raises QuickEntryError."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware: typed times are read in its zone")
    words = line.split(maxsplit=1)
    if not words:
        raise QuickEntryError("Write what happened.")
    first, rest = words[0], words[1] if len(words) > 1 else ""
    ago = _AGO.fullmatch(first)
    if ago:
        amount = int(ago.group(1))
        seconds = amount * 3600 if ago.group(2) == "h" else amount * 60
        # Subtract from the instant, not the wall time: "-2h" across a clock change is still two hours.
        return QuickEntry(now.timestamp() - seconds, _text(rest))
    day_word = first.lower()
    if _DATE.fullmatch(first) or (day_word in ("today", "yesterday") and _LOOKS_LIKE_CLOCK.match(rest)):
        day = _day(first, day_word, now)
        clock_text, rest = _split_first(rest)
        clock = _clock(clock_text, after=first)
        moment = _latest_not_ahead(day, clock, now)
        if moment is None:
            raise QuickEntryError(f"{first} {clock_text} is in the future.")
        return QuickEntry(moment.timestamp(), _text(rest))
    if _LOOKS_LIKE_CLOCK.match(first):
        clock = _clock(first, after=None)
        today = now.date()
        for day in (today, today - timedelta(days=1)):
            moment = _latest_not_ahead(day, clock, now)
            if moment is not None:
                return QuickEntry(moment.timestamp(), _text(rest))
        raise QuickEntryError(f"{first} is in the future.")  # not reached: yesterday's time has passed
    return QuickEntry(now.timestamp(), line.strip())


def parse_moment(text: str, *, now: datetime) -> float:
    """A time alone, in any form the quick-entry line takes ("14:32", "yesterday 23:50", "2026-12-05 23:50",
    "-5m"), as epoch seconds; raises QuickEntryError."""
    typed = text.strip()
    if not typed:
        raise QuickEntryError("Give a time: 14:32, yesterday 23:50 or 2026-12-05 23:50.")
    marker = "\u0000"
    entry = parse_quick_entry(f"{typed} {marker}", now=now)
    if entry.text != marker:
        raise QuickEntryError(f"{typed} is not a time: write 14:32, yesterday 23:50 or 2026-12-05 23:50.")
    return entry.at


def _split_first(text: str) -> tuple[str, str]:
    words = text.split(maxsplit=1)
    return (words[0] if words else ""), (words[1] if len(words) > 1 else "")


def _text(rest: str) -> str:
    text = rest.strip()
    if not text:
        raise QuickEntryError("Write what happened after the time.")
    return text


def _day(first: str, day_word: str, now: datetime) -> date:
    if day_word == "today":
        return now.date()
    if day_word == "yesterday":
        return now.date() - timedelta(days=1)
    try:
        return date.fromisoformat(first)
    except ValueError:
        raise QuickEntryError(f"{first} is not a date.") from None


def _clock(text: str, *, after: str | None) -> time:
    """The time of day in `text` ("14:32" or "14:32:10"); `after` is the day word it followed, if any."""
    match = _CLOCK.fullmatch(text)
    if match is None:
        if after is not None and not _LOOKS_LIKE_CLOCK.match(text):
            raise QuickEntryError(f"Give a time of day after {after}, for example {after} 14:32.")
        raise QuickEntryError(f"{text} is not a time of day.")
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise QuickEntryError(f"{text} is not a time of day.")
    return time(hour, minute, second)


def _latest_not_ahead(day: date, clock: time, now: datetime) -> datetime | None:
    """`clock` on `day` in the zone of `now`, at most FUTURE_TOLERANCE after `now`; None when it is later.

    When the clocks go back a wall time happens twice (fold 0 and 1): the later one that is not ahead wins,
    the most recent such time. A wall time skipped when the clocks go forward reads with the offset before
    the change (Python's rule), so it lands just after the change.
    """
    limit = now.timestamp() + FUTURE_TOLERANCE.total_seconds()
    # Aware datetimes in one zone compare (and hash) as wall times, ignoring fold: compare instants.
    candidates = [datetime.combine(day, clock, tzinfo=now.tzinfo).replace(fold=fold) for fold in (0, 1)]
    behind = [moment for moment in candidates if moment.timestamp() <= limit]
    return max(behind, key=datetime.timestamp) if behind else None

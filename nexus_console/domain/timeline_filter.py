"""Which of a timeline's events are shown (the filter bar) and which fill a post-mortem (the curated ones)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nexus_console.domain.incident_timeline import CURATED_TYPES, SYSTEM_TYPES, EventType, TimelineEvent


@dataclass(frozen=True, slots=True)
class TimelineFilter:
    types: frozenset[EventType] | None = None  # None: every type
    show_system: bool = True
    show_hidden: bool = False
    pinned_only: bool = False
    text: str = ""  # matched, ignoring case, against the text, the author and the source

    def accepts(self, event: TimelineEvent) -> bool:
        if event.hidden and not self.show_hidden:
            return False
        if self.pinned_only and not event.pinned:
            return False
        if not self.show_system and event.type in SYSTEM_TYPES:
            return False
        if self.types is not None and event.type not in self.types:
            return False
        needle = self.text.strip().casefold()
        if needle:
            return (
                needle in event.text.casefold()
                or needle in (event.author or "").casefold()
                or needle in event.source.casefold()
            )
        return True


def filter_events(events: Iterable[TimelineEvent], flt: TimelineFilter) -> list[TimelineEvent]:
    """The events `flt` accepts, in their order."""
    return [event for event in events if flt.accepts(event)]


def curated_events(events: Sequence[TimelineEvent]) -> list[TimelineEvent]:
    """What a post-mortem's timeline is filled from: pinned events, and milestones, status and severity
    changes, notes, custom events, actions, acks and admin actions; never hidden events, and bare alert
    transitions, silences, role and field changes only when pinned."""
    return [event for event in events if not event.hidden and (event.pinned or event.type in CURATED_TYPES)]

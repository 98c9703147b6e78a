"""The detection engine: the rules file's `[[detection]]` rules run over the security event streams. Events
go in per stream, in time order, in batches; detections come out with their evidence, and every rule's
state (events seen, matches, how full its buffer is, what it let go of) can be read at any time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nexus_console.domain.detection_rules import DetectionRule
from nexus_console.domain.detectors import DETECTORS, Detection, Detector, Event, RuleState


class DetectionEngine:
    def __init__(self, rules: Sequence[DetectionRule]) -> None:
        self.detectors = [DETECTORS[rule.kind](rule) for rule in rules]
        self._by_stream: dict[str, list[Detector]] = {}
        for detector in self.detectors:
            self._by_stream.setdefault(detector.rule.events, []).append(detector)

    def streams(self) -> list[str]:
        """The event streams some rule reads (the only ones worth fetching)."""
        return list(self._by_stream)

    def feed(self, stream: str, events: Iterable[Event]) -> list[Detection]:
        """Run `events` (of `stream`, oldest first) through the rules that read it."""
        detectors = self._by_stream.get(stream)
        if not detectors:
            return []
        found: list[Detection] = []
        offers = [detector.offer for detector in detectors]
        for event in events:
            for offer in offers:
                detection = offer(event)
                if detection is not None:
                    found.append(detection)
        return found

    def states(self) -> list[RuleState]:
        return [detector.state() for detector in self.detectors]

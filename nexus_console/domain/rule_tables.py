"""Reading one table of a rules file (`[[rule]]` or `[[detection]]`): each getter checks its key and, when
the value is wrong, adds a sentence naming the rule and the key to the file's problems and returns a
default, so one pass lists every problem of the file."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from nexus_console.domain.alert_filter import parse_duration


class RuleTable:
    def __init__(self, table: Mapping[str, Any], label: str, problems: list[str]) -> None:
        self.table = table
        self.label = label  # e.g. "rule[3] (ApiErrorRateHigh)"
        self.problems = problems
        self._start = len(problems)

    @property
    def ok(self) -> bool:
        """No problem found in this table so far."""
        return len(self.problems) == self._start

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.label}: {message}")

    def text(self, key: str, default: str | None = None) -> str:
        """A string; required (and not blank) when there is no default."""
        value = self.table.get(key, default)
        if value is None:
            self.problem(f"'{key}' is required")
            return ""
        if not isinstance(value, str) or (default is None and not value.strip()):
            self.problem(f"'{key}' must be a non-empty string, got {value!r}")
            return ""
        return value

    def duration(self, key: str, *, required: bool = False, example: str = "30s, 5m or 1h") -> float:
        """Seconds from `30s`, `5m`, `1h`, `30d` or a number; 0 when absent and not required."""
        if key not in self.table:
            if required:
                self.problem(f"'{key}' is required (a duration like {example})")
            return 0.0
        value = self.table[key]
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except ValueError:
                self.problem(f"'{key}' must be a duration like {example}, got {value!r}")
                return 0.0
        if required and seconds <= 0:
            self.problem(f"'{key}' must be more than 0s")
        return seconds

    def number(
        self, key: str, default: float, *, low: float | None = None, high: float | None = None
    ) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            self.problem(f"'{key}' must be a number, got {value!r}")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(f"'{key}' must be between {low} and {high}, got {value!r}")
        return float(value)

    def choice(self, key: str, options: Iterable[str], default: str | None = None) -> str:
        """One of `options`; required when there is no default."""
        choices = tuple(options)
        value = self.table.get(key, default)
        if value not in choices:
            self.problem(f"'{key}' must be one of {', '.join(choices)}, got {value!r}")
            return default if default is not None else choices[0]
        return str(value)

    def unknown_keys(self, known: set[str], kind: str) -> None:
        for key in sorted(set(self.table) - known):
            self.problem(f"unknown key {key!r} for kind {kind!r}")

    def string_map(self, key: str) -> dict[str, str]:
        value = self.table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.problem(f"'{key}' must be a table of strings, got {value!r}")
            return {}
        return dict(value)


class _Named(Protocol):
    name: str


R = TypeVar("R", bound=_Named)


def build_named(
    tables: list[Any], key: str, build: Callable[[RuleTable], R | None], problems: list[str]
) -> list[R]:
    """Each `[[key]]` table built with `build` (None when it has problems); a table that is not a table,
    and a name used twice, are problems too."""
    built: list[R] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            problems.append(f"{key}[{index}]: must be a table")
            continue
        item = build(RuleTable(table, f"{key}[{index}] ({table.get('name', '?')})", problems))
        if item is None:
            continue
        if item.name in seen:
            problems.append(f"{key}[{index}] ({item.name}): duplicate name")
        seen.add(item.name)
        built.append(item)
    return built

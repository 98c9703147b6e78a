"""Security detection rules: the `[[detection]]` tables of the local rules file, parsed and validated.

Four kinds, on the security event streams the server records (login attempts, API access, WAF blocks,
privileged access), each with a `match` of field values an event must have:

* threshold: `count` matching events with the same `key` within `window`, then quiet for `quiet` on that key
  (Wazuh rule 5712's shape: 8 failed logins from one IP in 120 s, then 60 s of silence). With `distinct`,
  it counts distinct values of that field instead (one user from 5 IPs in 15 minutes; one IP trying 20
  users).
* new_terms: an event whose `terms` value was not seen for its `key` in the last `history` (Elastic's new
  terms: a user logging in from a country not seen for them in 30 days). A key seen for the first time
  raises nothing: there is nothing to compare with yet.
* rate_anomaly: a key's events in the current `window` are at least `factor` times its usual rate (an
  average of its earlier windows, weighted by `alpha`) and at least `min_count` (a bot-like API client).
* impossible_travel: two events of one `key` from places farther apart than `max_kmh` allows in the time
  between them (countries' centres, or `lat`/`lon` when the events have them); then quiet for `quiet`
  (default an hour) on that key, so the way back home is not a second detection.

Every rule holds at most `buffer` events in its windows and terms; past that the oldest are let go and
counted, so a dropped match is visible, never silent.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nexus_console.domain.alert_rules import RuleFileError
from nexus_console.domain.alerts import Severity
from nexus_console.domain.rule_tables import RuleTable, build_named

STREAMS = ("login", "api_access", "waf_block", "privileged_access")
DEFAULT_BUFFER = 8192
DEFAULT_TRAVEL_QUIET_S = 3600.0
MAX_BUFFER = 1_000_000

_COMMON_KEYS = {"name", "kind", "events", "match", "key", "severity", "summary", "runbook", "buffer"}
_KIND_KEYS = {
    "threshold": {"count", "window", "quiet", "distinct"},
    "new_terms": {"terms", "history"},
    "rate_anomaly": {"window", "factor", "min_count", "alpha"},
    "impossible_travel": {"max_kmh", "quiet"},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionRule:
    name: str
    kind: str  # threshold | new_terms | rate_anomaly | impossible_travel
    events: str  # the stream: one of STREAMS
    key: str  # the field events are grouped by (ip, user, client)
    match: Mapping[str, str] = field(default_factory=dict)
    severity: Severity = Severity.HIGH
    summary: str = ""
    runbook: str = ""
    buffer: int = DEFAULT_BUFFER
    # threshold
    count: int = 0
    window_s: float = 0.0
    quiet_s: float = 0.0
    distinct: str = ""
    # new_terms
    terms: str = ""
    history_s: float = 0.0
    # rate_anomaly
    factor: float = 5.0
    min_count: int = 20
    alpha: float = 0.3
    # impossible_travel
    max_kmh: float = 1000.0

    def matcher(self) -> Callable[[Mapping[str, Any]], bool]:
        """A test of an event against `match`, built once (it runs for every event)."""
        items = tuple(self.match.items())
        if not items:
            return lambda _event: True
        if len(items) == 1:
            ((name, value),) = items
            return lambda event: event.get(name) == value
        return lambda event: all(event.get(name) == value for name, value in items)


def parse_detection_toml(text: str, origin: str = "rules.toml") -> list[DetectionRule]:
    """The `[[detection]]` tables of a rules file (its `[[rule]]` tables are `alert_rules`'). Raises
    RuleFileError listing every problem, each naming the rule and the key."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(origin, [f"not valid TOML: {exc}"]) from None
    tables = document.get("detection", [])
    if not isinstance(tables, list):
        raise RuleFileError(origin, ["'detection' must be an array of tables: write [[detection]]"])
    problems: list[str] = []
    rules = build_named(tables, "detection", _rule_from_table, problems)
    if problems:
        raise RuleFileError(origin, problems)
    return rules


def _rule_from_table(read: RuleTable) -> DetectionRule | None:
    table = read.table
    kind = read.choice("kind", tuple(_KIND_KEYS))
    read.unknown_keys(_COMMON_KEYS | _KIND_KEYS.get(kind, set()), kind)
    match = read.string_map("match")
    example = "120s, 15m or 30d"
    options: dict[str, Any] = {}
    if kind == "threshold":
        options["count"] = int(read.number("count", 0, low=2, high=1_000_000))
        options["window_s"] = read.duration("window", required=True, example=example)
        options["quiet_s"] = read.duration("quiet", example=example)
        options["distinct"] = read.text("distinct", "")
    elif kind == "new_terms":
        options["terms"] = read.text("terms")
        options["history_s"] = read.duration("history", required=True, example=example)
    elif kind == "rate_anomaly":
        options["window_s"] = read.duration("window", required=True, example=example)
        options["factor"] = read.number("factor", 5.0, low=1.1, high=1000)
        options["min_count"] = int(read.number("min_count", 20, low=1, high=1_000_000))
        options["alpha"] = read.number("alpha", 0.3, low=0.01, high=1.0)
    elif kind == "impossible_travel":
        options["max_kmh"] = read.number("max_kmh", 1000.0, low=1, high=100_000)
        quiet = read.duration("quiet", example=example)
        options["quiet_s"] = quiet if "quiet" in table else DEFAULT_TRAVEL_QUIET_S
    rule = DetectionRule(
        name=read.text("name"),
        kind=kind,
        events=read.choice("events", STREAMS),
        key=read.text("key"),
        match=match,
        severity=Severity(read.choice("severity", tuple(s.value for s in Severity), "high")),
        summary=read.text("summary", ""),
        runbook=read.text("runbook", ""),
        buffer=int(read.number("buffer", DEFAULT_BUFFER, low=16, high=MAX_BUFFER)),
        **options,
    )
    return rule if read.ok else None

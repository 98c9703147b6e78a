"""Local alert rules: the Rule type and its TOML parser, with errors that name the rule and the key."""

from __future__ import annotations

import operator
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nexus_console.domain.alerts import Severity
from nexus_console.domain.rule_tables import RuleTable, build_named

LOCAL_SOURCE = "local"
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One local alert rule. Three kinds, with Prometheus semantics for `for` and `keep_firing_for`:

    * threshold: `series OP threshold` held for `for`; stays firing `keep_firing_for` after it clears.
    * no_data: no sample of the series for `for`.
    * anomaly: the newest sample is more than `z` standard deviations from an EWMA (`alpha`) or from the
      mean of the last `window` samples (zscore); same `for` / `keep_firing_for` hold.

    A series is a name plus labels, e.g. `db_health.databases.cpu_pct{name="orders"}`.

    `condition` names the condition as another source names it (the server rule the local rule mirrors):
    it becomes the alerts' `condition` label, which `domain.alert_links` links them by.
    """

    name: str
    kind: str  # threshold | no_data | anomaly
    series: str
    match: Mapping[str, str] = field(default_factory=dict)
    severity: Severity = Severity.MEDIUM
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    summary: str = ""
    description: str = ""
    runbook: str = ""
    condition: str = ""
    # threshold
    op: str = ">"
    threshold: float = 0.0
    # anomaly
    method: str = "ewma"  # ewma | zscore
    alpha: float = 0.1
    window: int = 30
    z: float = 3.0
    direction: str = "both"  # up | down | both
    min_samples: int = 10

    def selects(self, series: str, labels: Mapping[str, str]) -> bool:
        return series == self.series and all(labels.get(k) == v for k, v in self.match.items())


class RuleFileError(ValueError):
    """Every problem found in a rules file, one per line, each naming the rule and the key."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = problems
        super().__init__(f"{origin}: " + "; ".join(problems))


_COMMON_KEYS = {
    "name",
    "kind",
    "series",
    "match",
    "severity",
    "for",
    "keep_firing_for",
    "summary",
    "description",
    "runbook",
    "condition",
}
_KIND_KEYS = {
    "threshold": {"op", "threshold"},
    "no_data": set(),
    "anomaly": {"method", "alpha", "window", "z", "direction", "min_samples"},
}


def parse_rules_toml(text: str, origin: str = "rules.toml") -> list[Rule]:
    """Rules from TOML: an array of `[[rule]]` tables. Raises RuleFileError listing every problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(origin, [f"not valid TOML: {exc}"]) from None
    unknown_top = sorted(set(document) - {"rule", "detection"})  # [[detection]]: domain.detection_rules
    problems = [
        f"unknown top-level key {key!r} (rules are [[rule]] and [[detection]] tables)" for key in unknown_top
    ]
    tables = document.get("rule", [])
    if not isinstance(tables, list):
        raise RuleFileError(origin, [*problems, "'rule' must be an array of tables: write [[rule]]"])
    rules = build_named(tables, "rule", _rule_from_table, problems)
    if problems:
        raise RuleFileError(origin, problems)
    return rules


def _rule_from_table(read: RuleTable) -> Rule | None:
    table = read.table
    name = read.text("name")
    kind = read.choice("kind", _KIND_KEYS, "threshold") if "kind" in table else "threshold"
    series = read.text("series")
    read.unknown_keys(_COMMON_KEYS | _KIND_KEYS.get(kind, set()), kind)
    match = read.string_map("match")
    severity_text = read.choice("severity", (s.value for s in Severity), "medium")
    rule_kwargs: dict[str, Any] = {}
    if kind == "threshold":
        if "threshold" not in table:
            read.problem("'threshold' is required for a threshold rule")
        rule_kwargs["op"] = read.choice("op", OPS, ">")
        rule_kwargs["threshold"] = read.number("threshold", 0.0)
    elif kind == "anomaly":
        rule_kwargs["method"] = read.choice("method", ("ewma", "zscore"), "ewma")
        rule_kwargs["alpha"] = read.number("alpha", 0.1, low=0.001, high=1.0)
        rule_kwargs["window"] = int(read.number("window", 30, low=3, high=100_000))
        rule_kwargs["z"] = read.number("z", 3.0, low=0.1, high=1000)
        rule_kwargs["direction"] = read.choice("direction", ("up", "down", "both"), "both")
        rule_kwargs["min_samples"] = int(read.number("min_samples", 10, low=2, high=100_000))
    rule = Rule(
        name=name,
        kind=kind,
        series=series,
        match=match,
        severity=Severity(severity_text),
        for_s=read.duration("for"),
        keep_firing_for_s=read.duration("keep_firing_for"),
        summary=read.text("summary", ""),
        description=read.text("description", ""),
        runbook=read.text("runbook", ""),
        condition=read.text("condition", ""),
        **rule_kwargs,
    )
    if kind == "no_data" and rule.for_s <= 0:
        read.problem("'for' must be more than 0s for a no_data rule")
    return rule if read.ok else None

"""The alert filter language, after karma's: `severity=critical service=~order @state=firing @age>10m`.

A filter is whitespace-separated terms, all of which must match:

* `name OP value` with OP one of `=  !=  =~  !~  >  <  >=  <=`. `name` is an alert field (alertname,
  severity, service, namespace, summary, description, fingerprint, source, value) or else a label.
  `=~` / `!~` are case-insensitive regular-expression searches; a missing label reads as "".
  `>` / `<` compare numbers, and severities by rank (`severity>=high`).
* `@field OP value` for properties that are not labels: @state, @age, @ack (owner), @ack_age,
  @source, @alertmanager (a reporting instance), @silenced, @inhibited.
* a bare word or "quoted text": a case-insensitive substring of the name, summary, description,
  service or any label value.

Values may be "double-quoted" (with \\" and \\\\ escapes) to hold spaces. `parse_filter` raises
FilterError, which knows the offending token's position, for anything it cannot read.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nexus_console.domain.alerts import Alert, AlertState, Severity

Predicate = Callable[[Alert, float], bool]

OPERATORS = ("=~", "!~", "!=", ">=", "<=", "=", ">", "<")
_TERM = re.compile(r"(@?[A-Za-z_][A-Za-z0-9_.\-]*)(=~|!~|!=|>=|<=|=|>|<)", re.ASCII)
_OPERATOR_CHARS = set("=!~<>")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", re.ASCII)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}

TEXT_FIELDS = ("alertname", "severity", "service", "namespace", "summary", "description", "fingerprint")
SPECIAL_FIELDS = (
    "@state",
    "@age",
    "@ack",
    "@ack_age",
    "@source",
    "@alertmanager",
    "@silenced",
    "@inhibited",
)
_EQUALITY = ("=", "!=", "=~", "!~")
_ORDERING = (">", "<", ">=", "<=")
_COMPARE = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


class FilterError(ValueError):
    """A filter that cannot be read; `start`/`end` delimit the offending text."""

    def __init__(self, message: str, text: str, start: int, end: int) -> None:
        self.message = message
        self.text = text
        self.start = start
        self.end = max(end, start + 1)
        super().__init__(f"{message} (column {start + 1})")

    def pointer(self) -> str:
        """The filter with carets under the offending token, for a monospace error label."""
        return f"{self.text}\n{' ' * self.start}{'^' * (self.end - self.start)}"


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # with quotes removed and escapes resolved
    raw: str  # as typed
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Term:
    """One parsed term; `field` is "" for free text."""

    field: str
    op: str
    value: str
    token: Token
    predicate: Predicate

    def __str__(self) -> str:
        return self.token.raw


@dataclass(frozen=True, slots=True)
class AlertFilter:
    text: str
    terms: tuple[Term, ...]

    def matches(self, alert: Alert, now: float) -> bool:
        return all(term.predicate(alert, now) for term in self.terms)

    def select(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        predicates = [term.predicate for term in self.terms]
        return [alert for alert in alerts if all(p(alert, now) for p in predicates)]


def parse_filter(text: str) -> AlertFilter:
    """Read a filter; an empty one matches everything. Raises FilterError."""
    return AlertFilter(text, tuple(_parse_term(token, text) for token in tokenize(text)))


def tokenize(text: str) -> list[Token]:
    """Split on whitespace outside double quotes."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        chars: list[str] = []
        while i < n and not text[i].isspace():
            if text[i] == '"':
                quote_at = i
                i += 1
                while True:
                    if i >= n:
                        raise FilterError("unterminated quote", text, quote_at, n)
                    if text[i] == "\\" and i + 1 < n:
                        chars.append(text[i + 1])
                        i += 2
                    elif text[i] == '"':
                        i += 1
                        break
                    else:
                        chars.append(text[i])
                        i += 1
            else:
                chars.append(text[i])
                i += 1
        tokens.append(Token("".join(chars), text[start:i], start, i))
    return tokens


def parse_duration(text: str) -> float:
    """Seconds from `90s`, `10m`, `1h30m`, `2d`, `500ms`; raises ValueError."""
    position = 0
    total = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h30m, 2d)")
    return total


def _parse_term(token: Token, text: str) -> Term:
    raw = token.raw
    match = _TERM.match(raw)
    if match is None:
        fully_quoted = len(raw) >= 2 and raw.startswith('"') and raw.endswith('"')
        operator_at = next((i for i, char in enumerate(raw) if char in _OPERATOR_CHARS), None)
        if raw.startswith("@") or (operator_at is not None and not fully_quoted):
            if operator_at == 0 or (raw.startswith("@") and operator_at == 1) or raw == "@":
                raise FilterError("missing field name before the operator", text, token.start, token.end)
            name_end = token.start + (operator_at if operator_at is not None else len(raw))
            raise FilterError(
                "expected field OP value with a field name of letters, digits, _ . -"
                " (quote free text that contains = ! ~ < >)",
                text,
                token.start,
                name_end,
            )
        return Term("", "", token.text, token, _free_text(token.text.lower()))
    field, op = match.group(1), match.group(2)
    value_start = token.start + match.end()
    value = _unquote(raw[match.end() :])
    if value and value[0] in _OPERATOR_CHARS and not raw[match.end() :].startswith('"'):
        raise FilterError(f"unexpected {value[0]!r} after {op!r}", text, value_start, value_start + 1)

    def fail(message: str, *, whole: bool = False) -> FilterError:
        start = token.start if whole or not value else value_start
        return FilterError(message, text, start, token.end)

    field_key = field.lower()
    if field_key.startswith("@"):
        if field_key not in SPECIAL_FIELDS:
            raise FilterError(
                f"unknown field {field!r}; known: {', '.join(SPECIAL_FIELDS)}",
                text,
                token.start,
                token.start + len(field),
            )
        predicate = _special_predicate(field_key, op, value, fail)
    else:
        predicate = _label_predicate(field, op, value, fail)
    return Term(field, op, value, token, predicate)


def _unquote(raw_value: str) -> str:
    # The token was already split on unquoted whitespace, so its value part is one token.
    tokens = tokenize(raw_value)
    return tokens[0].text if tokens else ""


def _free_text(needle: str) -> Predicate:
    def predicate(alert: Alert, now: float) -> bool:
        if (
            needle in alert.name.lower()
            or needle in alert.summary.lower()
            or needle in alert.service.lower()
            or needle in alert.description.lower()
        ):
            return True
        return any(needle in label.lower() for label in alert.labels.values())

    return predicate


def _compile_regex(value: str, fail: Callable[..., FilterError]) -> re.Pattern[str]:
    try:
        return re.compile(value, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise fail(f"invalid regular expression: {exc}") from None


def _string_test(op: str, value: str, fail: Callable[..., FilterError]) -> Callable[[str], bool]:
    if op == "=":
        return lambda actual: actual == value
    if op == "!=":
        return lambda actual: actual != value
    pattern = _compile_regex(value, fail)
    if op == "=~":
        return lambda actual: pattern.search(actual) is not None
    return lambda actual: pattern.search(actual) is None


def _number(value: str, fail: Callable[..., FilterError]) -> float:
    try:
        number = float(value)
    except ValueError:
        raise fail(f"expected a number after the operator, got {value!r}") from None
    if math.isnan(number):
        raise fail("NaN cannot be compared")
    return number


def _field_getter(field: str) -> Callable[[Alert], str]:
    key = field.lower()
    if key in ("alertname", "name"):
        return lambda alert: alert.name
    if key == "severity":
        return lambda alert: alert.severity.value
    if key in ("service", "namespace", "summary", "description", "fingerprint", "source"):
        return lambda alert: getattr(alert, key)
    return lambda alert: alert.labels.get(field, "")


def _label_predicate(field: str, op: str, value: str, fail: Callable[..., FilterError]) -> Predicate:
    key = field.lower()
    if key == "severity" and op in ("=", "!="):
        severity = _severity(value, fail)
        if op == "=":
            return lambda alert, now: alert.severity is severity
        return lambda alert, now: alert.severity is not severity
    if op in _ORDERING:
        compare = _COMPARE[op]
        if key == "severity":
            rank = _severity(value, fail).rank
            return lambda alert, now: compare(alert.severity.rank, rank)
        limit = _number(value, fail)
        if key == "value":
            return lambda alert, now: alert.value is not None and compare(alert.value, limit)
        get = _field_getter(field)

        def numeric(alert: Alert, now: float) -> bool:
            try:
                return compare(float(get(alert)), limit)
            except ValueError:
                return False

        return numeric
    get = _field_getter(field)
    test = _string_test(op, value, fail)
    return lambda alert, now: test(get(alert))


def _severity(value: str, fail: Callable[..., FilterError]) -> Severity:
    try:
        return Severity(value.lower())
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise fail(f"unknown severity {value!r}; expected one of {known}") from None


def _boolean(value: str, fail: Callable[..., FilterError]) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise fail(f"expected true or false, got {value!r}")


def is_silenced(alert: Alert) -> bool:
    """Under a silence: an Alertmanager one (an ack is one too), or the Nexus server's silenced state (an
    alert that is only inhibited is not silenced)."""
    return bool(alert.silenced_by) or (alert.state is AlertState.SILENCED and not alert.inhibited_by)


def _special_predicate(field: str, op: str, value: str, fail: Callable[..., FilterError]) -> Predicate:
    if field in ("@age", "@ack_age"):
        if op not in _ORDERING:
            raise fail(f"{field} compares with > < >= <=, e.g. {field}>10m", whole=True)
        try:
            limit = parse_duration(value)
        except ValueError as exc:
            raise fail(str(exc)) from None
        compare = _COMPARE[op]
        if field == "@age":
            return lambda alert, now: compare(alert.age_s(now), limit)

        def ack_age(alert: Alert, now: float) -> bool:
            age = alert.ack_age_s(now)
            return age is not None and compare(age, limit)

        return ack_age
    if op in _ORDERING:
        raise fail(f"{field} does not compare with {op}; use = != =~ !~", whole=True)
    if field in ("@silenced", "@inhibited"):
        if op not in ("=", "!="):
            raise fail(f"{field} takes = or !=, e.g. {field}=true", whole=True)
        wanted = _boolean(value, fail) == (op == "=")
        if field == "@silenced":
            return lambda alert, now: is_silenced(alert) == wanted
        return lambda alert, now: bool(alert.inhibited_by) == wanted
    if field == "@state" and op in ("=", "!="):
        try:
            state = AlertState(value.lower())
        except ValueError:
            known = ", ".join(s.value for s in AlertState)
            raise fail(f"unknown state {value!r}; expected one of {known}") from None
        if op == "=":
            return lambda alert, now: alert.state is state
        return lambda alert, now: alert.state is not state
    test = _string_test(op, value, fail)
    if field == "@state":
        return lambda alert, now: test(alert.state.value)
    if field == "@ack":
        return lambda alert, now: test(alert.ack_by or "")
    if field == "@source":
        return lambda alert, now: test(alert.source)
    # @alertmanager: any reporting instance matches (for negations: none of them may match).
    if op in ("!=", "!~"):
        return lambda alert, now: all(test(origin) for origin in alert.origins)
    return lambda alert, now: any(test(origin) for origin in alert.origins)

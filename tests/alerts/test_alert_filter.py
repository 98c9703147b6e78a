"""The filter language: karma's operators, @-fields, free text, and errors that point at the token."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_console.domain.alert_filter import FilterError, parse_duration, parse_filter, tokenize
from nexus_console.domain.alerts import Alert, AlertState, Severity
from tests.alerts.conftest import make_alert

NOW = 10_000.0

ORDER_CRITICAL = make_alert(
    "HighErrorRate",
    service="puabo-nuki-order-processor",
    severity=Severity.CRITICAL,
    labels={"alertname": "HighErrorRate", "team": "payments", "env": "prod"},
    starts_at=NOW - 15 * 60,
    origins=("am-a", "am-b"),
)
CATALOG_LOW = make_alert(
    "DiskFilling",
    service="catalog",
    severity=Severity.LOW,
    state=AlertState.ACKNOWLEDGED,
    labels={"alertname": "DiskFilling", "team": "storage", "env": "prod", "used_pct": "91.5"},
    summary="disk full soon on catalog-db",
    starts_at=NOW - 60,
    ack_by="alice",
    ack_at=NOW - 30,
    silenced_by=("s-1",),
    origins=("am-a",),
)
CHECKOUT_PENDING = make_alert(
    "LatencyHigh",
    service="checkout",
    severity=Severity.MEDIUM,
    state=AlertState.PENDING,
    labels={"alertname": "LatencyHigh"},
    starts_at=NOW - 5,
    source="prometheus",
    value=812.0,
)
ALERTS = [ORDER_CRITICAL, CATALOG_LOW, CHECKOUT_PENDING]


def names(filter_text: str) -> list[str]:
    return [alert.name for alert in parse_filter(filter_text).select(ALERTS, NOW)]


def test_the_issues_example_filter_reads_and_selects() -> None:
    text = "severity=critical service=~order @state=firing @age>10m label!=value"
    parsed = parse_filter(text)
    assert [(t.field, t.op, t.value) for t in parsed.terms] == [
        ("severity", "=", "critical"),
        ("service", "=~", "order"),
        ("@state", "=", "firing"),
        ("@age", ">", "10m"),
        ("label", "!=", "value"),
    ]
    assert names(text) == ["HighErrorRate"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["HighErrorRate", "DiskFilling", "LatencyHigh"]),
        ("team=payments", ["HighErrorRate"]),
        ("team!=payments", ["DiskFilling", "LatencyHigh"]),
        ("team=", ["LatencyHigh"]),
        ("service=~^CAT", ["DiskFilling"]),
        ("service!~order|catalog", ["LatencyHigh"]),
        ("severity>=medium", ["HighErrorRate", "LatencyHigh"]),
        ("severity<high", ["DiskFilling", "LatencyHigh"]),
        ("severity!=low env=prod", ["HighErrorRate"]),
        ("@state=acknowledged @ack=alice", ["DiskFilling"]),
        ("@state=~ack|pend", ["DiskFilling", "LatencyHigh"]),
        ("@state!=firing", ["DiskFilling", "LatencyHigh"]),
        ("@age<2m", ["DiskFilling", "LatencyHigh"]),
        ("@age>=15m", ["HighErrorRate"]),
        ("@ack_age>10s", ["DiskFilling"]),
        ("@silenced=true", ["DiskFilling"]),
        ("@silenced=false @inhibited=false", ["HighErrorRate", "LatencyHigh"]),
        ("@source=prometheus", ["LatencyHigh"]),
        ("@alertmanager=am-b", ["HighErrorRate"]),
        ("@alertmanager!=am-b", ["DiskFilling", "LatencyHigh"]),
        ("used_pct>90", ["DiskFilling"]),
        ("used_pct<90", []),
        ("value>500", ["LatencyHigh"]),
        ("disk", ["DiskFilling"]),
        ('"full soon"', ["DiskFilling"]),
        ('summary="disk full soon on catalog-db"', ["DiskFilling"]),
        ("PAYMENTS", ["HighErrorRate"]),
        ("alertname=LatencyHigh", ["LatencyHigh"]),
    ],
)
def test_filter_selects(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "pointed"),
    [
        ("severity=crit", "unknown severity 'crit'", "crit"),
        ("service=orders @stat=firing", "unknown field '@stat'", "@stat"),
        ("@state=burning", "unknown state 'burning'", "burning"),
        ("@age>ten", "not a duration: 'ten'", "ten"),
        ("@age=10m", "@age compares with > < >= <=", "@age=10m"),
        ("team=~(unclosed", "invalid regular expression", "(unclosed"),
        ("=critical", "missing field name", "=critical"),
        ("severity==critical", "unexpected '='", "="),
        ('team="payments', "unterminated quote", '"payments'),
        ("value>high", "expected a number", "high"),
        ("@silenced=maybe", "expected true or false", "maybe"),
        ("@state>firing", "does not compare", "@state>firing"),
        ("9lives=x", "field name", "9lives"),
    ],
)
def test_a_bad_filter_names_the_problem_and_points_at_the_token(
    text: str, message: str, pointed: str
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    error = caught.value
    assert message in error.message
    assert text[error.start : error.end] == pointed
    text_line, caret_line = error.pointer().split("\n")
    assert text_line == text
    assert caret_line == " " * error.start + "^" * len(pointed)
    assert f"column {error.start + 1}" in str(error)


def test_quoted_values_keep_spaces_and_escapes() -> None:
    tokens = tokenize(r'summary="a \"b\" c"  team=ops')
    assert [t.text for t in tokens] == ['summary=a "b" c', "team=ops"]
    assert [(t.start, t.end) for t in tokens] == [(0, 19), (21, 29)]


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d") == 172_800
    assert parse_duration("500ms") == 0.5
    for bad in ("", "10", "m", "10 m", "1h-5m"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_parsing_is_fast_enough_to_run_on_every_keystroke() -> None:
    text = "severity=critical service=~order @state=firing @age>10m label!=value team=~pay|ops disk"
    runs = 2_000
    started = time.perf_counter()
    for _ in range(runs):
        parse_filter(text)
    per_parse_ms = (time.perf_counter() - started) / runs * 1000
    print(f"\nfilter parse: {per_parse_ms * 1000:.1f} us per 8-term filter")
    assert per_parse_ms < 5.0


FILTER_ALPHABET = st.sampled_from(list('ab@_-.=!~<>" \\\t()[]*+?|^$0123456789hmsdw'))
TERM_PIECES = st.builds(
    lambda field, op, value: f"{field}{op}{value}",
    st.sampled_from(
        [
            "severity",
            "service",
            "team",
            "@state",
            "@age",
            "@ack",
            "@ack_age",
            "@alertmanager",
            "@silenced",
            "@source",
            "@inhibited",
            "@bogus",
            "value",
            "",
            "@",
        ]
    ),
    st.sampled_from(["=", "!=", "=~", "!~", ">", "<", ">=", "<=", "==", "=!", ""]),
    st.one_of(
        st.text(max_size=12), st.sampled_from(["critical", "firing", "10m", "1h30m", "true", '"x y"', "("])
    ),
)
SAMPLE_ALERTS: list[Alert] = [*ALERTS, make_alert("Empty", labels={}, service="", starts_at=None)]


def _parse_and_match(text: str) -> None:
    try:
        parsed = parse_filter(text)
    except FilterError as error:
        assert 0 <= error.start < error.end <= max(len(text), error.start + 1)
        assert error.pointer().startswith(text)
        return
    for alert in SAMPLE_ALERTS:
        assert parsed.matches(alert, NOW) in (True, False)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_fuzz_no_text_crashes_the_parser(text: str) -> None:
    _parse_and_match(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(TERM_PIECES, st.text(FILTER_ALPHABET, max_size=8)), max_size=6))
def test_fuzz_grammar_shaped_filters_parse_or_fail_cleanly(pieces: list[str]) -> None:
    _parse_and_match(" ".join(pieces))

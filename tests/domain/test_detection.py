"""Detection rules on hand-made event streams with their times: windows and their boundaries, the quiet
period, distinct counting, new terms over a history, rate anomalies after a learning window, impossible
travel, a full buffer that is counted and visible, and benign traffic of the same volume raising nothing."""

from __future__ import annotations

import random

import pytest

from nexus_console.domain.alert_rules import RuleFileError
from nexus_console.domain.detection import DetectionEngine
from nexus_console.domain.detection_rules import parse_detection_toml

BRUTE_FORCE = """
[[detection]]
name = "brute force"
kind = "threshold"
events = "login"
match = { result = "failure" }
key = "ip"
count = 8
window = "120s"
quiet = "60s"
"""


def failure(at: float, ip: str = "203.0.113.7", user: str = "anna") -> dict[str, object]:
    return {"at": at, "ip": ip, "user": user, "result": "failure", "country": "NO"}


def run(engine: DetectionEngine, events: list[dict[str, object]], stream: str = "login") -> list:
    return engine.feed(stream, events)


def test_eight_failures_from_one_ip_within_the_window_match_once_with_their_evidence() -> None:
    engine = DetectionEngine(parse_detection_toml(BRUTE_FORCE))
    found = run(engine, [failure(1000 + i * 15) for i in range(8)])  # the 8th is 105 s after the 1st
    assert len(found) == 1
    detection = found[0]
    assert detection.key == "203.0.113.7" and len(detection.evidence) == 8
    assert [e["at"] for e in detection.evidence] == [1000 + i * 15 for i in range(8)]
    assert "8 events for ip 203.0.113.7 within 105 s" in detection.summary


def test_the_window_boundary_counts_an_event_exactly_window_seconds_old_and_not_one_older() -> None:
    at_edge = [failure(1000)] + [failure(1120 - i) for i in range(6, -1, -1)]  # first exactly 120 s before
    assert len(run(DetectionEngine(parse_detection_toml(BRUTE_FORCE)), at_edge)) == 1
    past_edge = [failure(999.5)] + [failure(1120 - i) for i in range(6, -1, -1)]
    assert run(DetectionEngine(parse_detection_toml(BRUTE_FORCE)), past_edge) == []


def test_after_a_match_the_key_is_quiet_then_counts_again_from_nothing() -> None:
    engine = DetectionEngine(parse_detection_toml(BRUTE_FORCE))
    assert len(run(engine, [failure(1000 + i) for i in range(8)])) == 1  # matched at 1007
    assert run(engine, [failure(1010 + i) for i in range(20)]) == []  # quiet until 1067
    assert run(engine, [failure(1068 + i) for i in range(7)]) == []  # counting from nothing: 7
    assert len(run(engine, [failure(1075)])) == 1
    assert engine.states()[0].matches == 2


def test_other_keys_and_other_results_do_not_add_up() -> None:
    engine = DetectionEngine(parse_detection_toml(BRUTE_FORCE))
    events = [failure(1000 + i, ip=f"198.51.100.{i % 4}") for i in range(28)]  # 7 per IP
    events += [{**failure(1030), "result": "success"} for _ in range(5)]
    assert run(engine, sorted(events, key=lambda e: e["at"])) == []


def test_one_user_from_five_ips_within_fifteen_minutes_counts_distinct_ips() -> None:
    text = """
[[detection]]
name = "one account, many addresses"
kind = "threshold"
events = "login"
key = "user"
distinct = "ip"
count = 5
window = "15m"
"""
    engine = DetectionEngine(parse_detection_toml(text))
    same_ip = [failure(1000 + i, ip="192.0.2.1", user="bo") for i in range(30)]
    assert run(engine, same_ip) == []
    spread = [failure(2000 + i * 60, ip=f"192.0.2.{i}", user="bo") for i in range(5)]
    found = run(engine, spread)
    assert len(found) == 1 and "5 distinct ip values for user bo" in found[0].summary


def test_a_full_buffer_lets_go_of_the_oldest_and_says_how_many() -> None:
    text = BRUTE_FORCE.replace('quiet = "60s"', 'quiet = "60s"\nbuffer = 16')
    engine = DetectionEngine(parse_detection_toml(text))
    run(engine, [failure(1000 + i * 0.1, ip=f"10.0.{i // 250}.{i % 250}") for i in range(40)])
    state = engine.states()[0]
    assert (state.held, state.buffer, state.dropped) == (16, 16, 24)
    assert state.fullness == 1.0
    # the window moves on: what expires is let go without counting as dropped
    run(engine, [failure(2000, ip="10.9.9.9")])
    assert engine.states()[0].held == 1 and engine.states()[0].dropped == 24


def test_a_login_from_a_country_not_seen_for_the_user_in_thirty_days_is_a_new_term() -> None:
    text = """
[[detection]]
name = "new country"
kind = "new_terms"
events = "login"
match = { result = "success" }
key = "user"
terms = "country"
history = "30d"
"""
    day = 86400.0
    engine = DetectionEngine(parse_detection_toml(text))
    ok = {"result": "success"}
    assert run(engine, [{**ok, "at": 0.0, "user": "cy", "country": "NO"}]) == [], (
        "a first login: no history yet"
    )
    assert run(engine, [{**ok, "at": day, "user": "cy", "country": "NO"}]) == []
    found = run(engine, [{**ok, "at": 2 * day, "user": "cy", "country": "BR"}])
    assert len(found) == 1 and [e["country"] for e in found[0].evidence] == ["NO", "BR"]
    assert run(engine, [{**ok, "at": 3 * day, "user": "cy", "country": "BR"}]) == [], "now seen"
    # 31 days of silence: the user has no history in the window, so nothing to compare with
    assert run(engine, [{**ok, "at": 34 * day, "user": "cy", "country": "JP"}]) == []
    # BR was last seen 31 days before: new again
    assert len(run(engine, [{**ok, "at": 34 * day + 60, "user": "cy", "country": "BR"}])) == 1


def test_a_client_far_above_its_usual_rate_is_an_anomaly_after_one_window_of_learning() -> None:
    text = """
[[detection]]
name = "bot-like client"
kind = "rate_anomaly"
events = "api_access"
key = "client"
window = "60s"
factor = 5
min_count = 50
"""
    engine = DetectionEngine(parse_detection_toml(text))
    burst_at_once = [{"at": 10 + i * 0.1, "client": "new-app"} for i in range(300)]
    assert run(engine, burst_at_once, "api_access") == [], "no usual rate yet"
    usual = [{"at": 60.0 * w + s * 6, "client": "shop-app"} for w in range(1, 6) for s in range(10)]
    assert run(engine, usual, "api_access") == []
    burst = [{"at": 360 + i * 0.2, "client": "shop-app"} for i in range(200)]
    found = run(engine, burst, "api_access")
    assert len(found) == 1, "one detection per window"
    assert found[0].key == "shop-app" and "sent 50 in 60 s, 5× its usual 10.0" in found[0].summary


def test_logins_farther_apart_than_anyone_can_travel_are_impossible_travel() -> None:
    text = """
[[detection]]
name = "impossible travel"
kind = "impossible_travel"
events = "login"
key = "user"
max_kmh = 1000
"""
    engine = DetectionEngine(parse_detection_toml(text))
    assert (
        run(
            engine,
            [{"at": 0.0, "user": "di", "country": "NO"}, {"at": 36000.0, "user": "di", "country": "SE"}],
        )
        == []
    )
    found = run(engine, [{"at": 39600.0, "user": "di", "country": "BR"}])  # SE to Brazil in an hour
    assert len(found) == 1 and "from SE then BR" in found[0].summary
    assert run(engine, [{"at": 39700.0, "user": "di", "country": "ZZ"}]) == [], "an unknown place: nothing"
    assert run(engine, [{"at": 40000.0, "user": "di", "country": "NO"}]) == [], (
        "home again: quiet for an hour"
    )
    assert len(run(engine, [{"at": 39600.0 + 3601, "user": "di", "country": "JP"}])) == 1


def test_benign_traffic_of_the_same_volume_raises_nothing() -> None:
    rules = parse_detection_toml(BRUTE_FORCE)
    engine = DetectionEngine(rules)
    rng = random.Random(5)
    events = []
    for i in range(20_000):  # 20k logins over a day from 2,000 addresses, 5 % failing
        ip = f"10.{rng.randrange(8)}.{rng.randrange(250)}.1"
        events.append({"at": i * 4.3, "ip": ip, "user": f"u{rng.randrange(5000)}",
                       "result": "failure" if rng.random() < 0.05 else "success"})  # fmt: skip
    assert run(engine, events) == []
    assert engine.states()[0].events_seen == sum(1 for e in events if e["result"] == "failure")


HEAD = '[[detection]]\nname = "x"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[[detection]]\nname = "x"\nkind = "threshold"\nevents = "login"\nkey = "ip"\nwindow = "2m"',
            "'count'",
        ),
        (
            HEAD + 'kind = "threshold"\nevents = "login"\nkey = "ip"\ncount = 5\nwindow = "soon"',
            "'window' must be a duration",
        ),
        (
            '[[detection]]\nname = "x"\nkind = "sometimes"\nevents = "login"\nkey = "ip"',
            "'kind' must be one of",
        ),
        (
            HEAD + 'kind = "new_terms"\nevents = "mail"\nkey = "u"\nterms = "c"\nhistory = "1d"',
            "'events' must be one of login",
        ),
        (
            HEAD + 'kind = "impossible_travel"\nevents = "login"\nkey = "user"\nwindow = "1m"',
            "unknown key 'window' for kind 'impossible_travel'",
        ),
    ],
)
def test_a_bad_detection_rule_is_refused_naming_the_rule_and_the_key(text: str, problem: str) -> None:
    with pytest.raises(RuleFileError, match=problem) as error:
        parse_detection_toml(text)
    assert "detection[0] (x)" in str(error.value)

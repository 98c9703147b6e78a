"""GET /analytics/funnel over HTTP: every figure checked against the server's own users database.

The expected funnels are computed here from the raw `funnel_events` rows, read from the server's SQLite file
(read-only, with the sqlite3 module), with times as datetimes and each chain searched by brute force over a
user's events. Hand-made events with answers worked out by hand are written into a dedicated server's
database while it runs; users are independent, so they change the counts by exactly their own part.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login
from tests.support.refserver import RefServer

PROBLEM = "application/problem+json"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
LABELS = {
    "registration": [
        "Visited homepage", "Clicked “Sign Up”", "Entered email/password", "Verified email",
        "Completed profile", "First session",
    ],
    "subject_to_purchase": [
        "Watched content", "Clicked on subject", "Viewed product in subject panel", "Added product to cart",
        "Proceeded to checkout", "Completed purchase",
    ],
    "content_discovery": [
        "Homepage visit", "Browsed content catalog", "Clicked on content", "Started watching",
        "Watched > 50% of content", "Added similar content to watchlist",
    ],
}  # fmt: skip
Events = dict[str, dict[int, dict[int, list[datetime]]]]  # funnel -> user -> step -> times


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def read_events(data_dir: Path) -> tuple[Events, dict[int, str]]:
    db = sqlite3.connect(f"file:{data_dir / 'users.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT funnel, user_id, step, at FROM funnel_events").fetchall()
        countries = dict(db.execute("SELECT id, country FROM users").fetchall())
    finally:
        db.close()
    events: Events = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for funnel, user, step, at in rows:
        events[funnel][user][step].append(_utc(at))
    return events, countries


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def expected_funnel(
    events: Events,
    countries: dict[int, str],
    funnel: str,
    start: str,
    end: str,
    window_hours: int = 168,
    breakdown: bool = False,
    step_window_hours: list[int] | None = None,
) -> dict:
    first, stop = _utc(start), _utc(end)
    window = timedelta(hours=window_hours)
    step_windows = [timedelta(hours=h) for h in step_window_hours] if step_window_hours else None
    chains: dict[int, list[datetime]] = {}
    in_window: set[int] = set()
    for user, steps in events[funnel].items():
        entries = sorted(t for t in steps[1] if first <= t < stop)
        best: list[datetime] = []
        for entry in entries:
            if step_windows is None:
                chain = [entry]
                for step in range(2, 7):
                    options = [t for t in steps[step] if t >= chain[-1] and t - entry <= window]
                    if not options:
                        break
                    chain.append(min(options))
            else:
                chain, _last = chain_by_brute_force(steps, entry, window, step_windows)
            if len(chain) > len(best):
                best = chain
        if best:
            chains[user] = best
            if len(best) < 6:
                if step_windows is None:
                    open_ = entries[-1] + window > AS_OF
                else:
                    open_ = any(
                        entry + window > AS_OF and last + step_windows[len(chain) - 1] > AS_OF
                        for entry in entries
                        for chain, last in [chain_by_brute_force(steps, entry, window, step_windows)]
                    )
                if open_:
                    in_window.add(user)
    still = len(in_window)
    users = [sum(1 for chain in chains.values() if len(chain) >= step) for step in range(1, 7)]
    drop = [0] * 6
    for user, chain in chains.items():
        if len(chain) < 6 and user not in in_window:
            drop[len(chain)] += 1
    steps = []
    for index in range(6):
        waits = [(c[index] - c[0]).total_seconds() for c in chains.values() if len(c) > index]
        previous = users[max(index - 1, 0)]
        steps.append(
            {
                "step": index + 1,
                "label": LABELS[funnel][index],
                "users": users[index],
                "conversion_from_previous": round(users[index] / previous, 4) if previous else 0.0,
                "conversion_overall": round(users[index] / users[0], 4) if users[0] else 0.0,
                "drop_off": drop[index],
                "median_seconds_to_convert": _median(waits) if index else None,
            }
        )
    result = {"funnel": funnel, "from": start, "to": end, "window_hours": window_hours, "steps": steps}
    result["step_window_hours"] = step_window_hours
    result["still_in_window"] = still
    result["breakdown"] = None
    if breakdown:
        groups: dict[str | None, list[int]] = defaultdict(lambda: [0] * 6)
        for user, chain in chains.items():
            for index in range(len(chain)):
                groups[countries.get(user)][index] += 1
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0] is None, kv[0] or ""))
        result["breakdown"] = [
            {"key": key, "steps": [{"step": i + 1, "users": n} for i, n in enumerate(counts)]}
            for key, counts in ordered
        ]
    return result


def chain_by_brute_force(
    steps: dict[int, list[datetime]], entry: datetime, window: timedelta, step_windows: list[timedelta]
) -> tuple[list[datetime], datetime]:
    """Every chain from `entry` that keeps each step within its window of the one before and of step 1:
    the earliest time of each step some chain reaches, and the latest time of the furthest step reached."""
    reached: dict[int, set[datetime]] = {1: {entry}}

    def walk(step: int, at: datetime) -> None:
        if step == 6:
            return
        for t in steps[step + 1]:
            if at <= t <= at + step_windows[step - 1] and t - entry <= window:
                reached.setdefault(step + 1, set()).add(t)
                walk(step + 1, t)

    walk(1, entry)
    furthest = max(reached)
    return [min(reached[step]) for step in range(1, furthest + 1)], max(reached[furthest])


@pytest.fixture(scope="module")
def session_events(refserver_session: RefServer) -> tuple[Events, dict[int, str]]:
    return read_events(refserver_session.data_dir)


def get_funnel(client: httpx.Client, **params: object) -> dict:
    response = client.get("/analytics/funnel", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["as_of"] == "2026-11-01T00:00:00Z"
    assert body.pop("generated_at").endswith("Z")
    body.pop("as_of")
    return body


def test_registration_over_the_default_30_days(api_as, session_events) -> None:  # type: ignore[no-untyped-def]
    body = get_funnel(api_as("analyst"), funnel="registration")
    expected = expected_funnel(*session_events, "registration", "2026-10-02", "2026-11-01")
    assert body == expected
    users = [step["users"] for step in body["steps"]]
    assert users[0] > users[2] > 0  # visitors who never signed up, then users
    assert body["still_in_window"] > 0  # entered in the last 7 days
    assert users[0] == users[-1] + sum(s["drop_off"] for s in body["steps"]) + body["still_in_window"]


@pytest.mark.parametrize(
    "funnel,params",
    [
        ("subject_to_purchase", {"from": "2025-11-01", "to": "2026-11-01", "window_hours": 24}),
        ("content_discovery", {"days": 366, "window_hours": 2160, "breakdown": "country"}),
        ("registration", {"days": 90, "breakdown": "country"}),
        ("content_discovery", {"from": "2026-03-01", "to": "2026-06-01", "window_hours": 1}),
        ("subject_to_purchase", {"days": 7, "to": "2026-08-15"}),
        ("registration", {"from": "9999-06-01", "to": "9999-12-31", "window_hours": 2160}),  # no data
        ("registration", {"from": "0999-06-01", "to": "0999-12-31"}),
        ("subject_to_purchase", {"days": 120, "window_hours": 720, "step_window_hours": "1,2,48,72,24"}),
        ("registration", {"days": 30, "step_window_hours": "1,1,24,24,48", "breakdown": "country"}),
        (
            "content_discovery",
            {"days": 366, "window_hours": 2160, "step_window_hours": "2160,2160,2160,2160,2160"},
        ),
    ],
    ids=lambda value: str(value)[:50],
)
def test_funnels_match_an_independent_computation(api_as, session_events, funnel: str, params: dict) -> None:  # type: ignore[no-untyped-def]
    body = get_funnel(api_as("admin"), funnel=funnel, **params)
    start, end = body["from"], body["to"]
    if "days" in params:
        assert (date.fromisoformat(end) - date.fromisoformat(start)).days == params["days"]
    step_windows = params.get("step_window_hours")
    expected = expected_funnel(
        *session_events,
        funnel,
        start,
        end,
        params.get("window_hours", 168),
        "breakdown" in params,
        [int(h) for h in step_windows.split(",")] if step_windows else None,
    )
    assert body == expected


def test_every_funnel_drops_at_every_step_over_a_year(api_as, session_events) -> None:  # type: ignore[no-untyped-def]
    analyst = api_as("analyst")
    for funnel in LABELS:
        users = [step["users"] for step in get_funnel(analyst, funnel=funnel, days=366)["steps"]]
        assert all(a > b > 0 for a, b in itertools.pairwise(users)), (funnel, users)
    # some users take longer than a 7-day window: a 90-day window converts more
    week = get_funnel(analyst, funnel="registration", days=366)["steps"]
    quarter = get_funnel(analyst, funnel="registration", days=366, window_hours=2160)["steps"]
    assert quarter[2]["users"] > week[2]["users"]
    breakdown = get_funnel(analyst, funnel="registration", days=366, breakdown="country")["breakdown"]
    assert breakdown[0]["key"] is None  # anonymous visitors outnumber any one country
    assert {row["key"] for row in breakdown} >= {None, "NO", "SE"}


def _insert(data_dir: Path, events: list[tuple[int, str, int, str]], users: list[tuple] = ()) -> None:  # type: ignore[assignment]
    """Write hand-made events (user, funnel, step, 'YYYY-MM-DD HH:MM:SS') into a running server's database."""
    db = sqlite3.connect(data_dir / "users.sqlite3", timeout=10)
    try:
        with db:
            next_id = db.execute("SELECT max(id) FROM funnel_events").fetchone()[0] + 1
            db.executemany(
                "INSERT INTO funnel_events (id, user_id, funnel, step, at) VALUES (?, ?, ?, ?, ?)",
                [(next_id + i, *event) for i, event in enumerate(events)],
            )
            db.executemany(
                "INSERT INTO users (id, email, name, country, signup_at, last_active_at, status, "
                "email_verified, version) VALUES (?, ?, ?, ?, ?, ?, 'active', 1, 1)",
                users,
            )
    finally:
        db.close()


def _journey(user: int, funnel: str, start: str, *seconds: int) -> list[tuple[int, str, int, str]]:
    """Steps 1, 2, ... at `start` plus each offset in seconds."""
    first = datetime.fromisoformat(start)
    return [
        (user, funnel, step, (first + timedelta(seconds=s)).isoformat(sep=" "))
        for step, s in enumerate(seconds, start=1)
    ]


def test_hand_made_journeys_have_the_answers_worked_out_by_hand(
    refserver_factory: Callable[..., RefServer],
) -> None:
    server = refserver_factory(*SMALL_SERVER_ARGS)
    client = httpx.Client(
        base_url=server.base_url, headers=bearer(login(server.base_url, "analyst")["access_token"])
    )
    june = {"funnel": "registration", "from": "2025-06-01", "to": "2025-06-08", "breakdown": "country"}
    recent = {"funnel": "registration", "from": "2026-10-30", "to": "2026-11-01"}
    with client:
        assert [s["users"] for s in get_funnel(client, **june)["steps"]] == [0] * 6  # before the data
        before = get_funnel(client, **recent)
        week = 7 * 86_400
        u = 2_000_000_000
        _insert(
            server.data_dir,
            [
                *_journey(u + 1, "registration", "2025-06-01 00:00:00", 0, 60, 120, 180, 240, 300),  # `from`
                # entered at the range's last second; step 3 exactly at the window's end, step 4 after it
                *_journey(u + 2, "registration", "2025-06-07 23:59:59", 0, 60, week, week + 1),
                *_journey(u + 3, "registration", "2025-06-08 00:00:00", 0, 60),  # on `to`: not entered
                # step 3 before step 2: only steps 1-2 count
                (u + 4, "registration", 1, "2025-06-02 10:00:00"),
                (u + 4, "registration", 3, "2025-06-02 10:05:00"),
                (u + 4, "registration", 2, "2025-06-02 10:10:00"),
                # step 2 before step 1: only step 1 counts
                (u + 5, "registration", 2, "2025-06-03 09:00:00"),
                (u + 5, "registration", 1, "2025-06-03 10:00:00"),
                *_journey(u + 6, "registration", "2025-05-31 23:59:59", 0, 2),  # before `from`
                # entered 12 hours before as_of, window open: still in window, not a drop-off
                *_journey(u + 7, "registration", "2026-10-31 12:00:00", 0, 60),
                *_journey(u + 8, "registration", "2026-10-30 08:00:00", 0, 1, 2, 3, 4, 5),  # finished
            ],
            users=[
                (u + 1, "hand1@example.test", "Hand Made", "IS", "2025-06-01 00:02:00", "2025-06-01 00:05:00")
            ],
        )
        body = get_funnel(client, **june)
        after = get_funnel(client, **recent)
    assert [s["users"] for s in body["steps"]] == [4, 3, 2, 1, 1, 1]
    assert [s["drop_off"] for s in body["steps"]] == [0, 1, 1, 1, 0, 0]
    assert body["still_in_window"] == 0
    assert [s["conversion_from_previous"] for s in body["steps"]] == [1.0, 0.75, 0.6667, 0.5, 1.0, 1.0]
    # step 2: 60, 60, 600 s; step 3: 120 s and a whole week
    assert [s["median_seconds_to_convert"] for s in body["steps"]] == [
        None, 60.0, (120 + week) / 2, 180.0, 240.0, 300.0,
    ]  # fmt: skip
    assert body["breakdown"] == [
        {"key": None, "steps": [{"step": i, "users": n} for i, n in enumerate([3, 2, 1, 0, 0, 0], start=1)]},
        {"key": "IS", "steps": [{"step": i, "users": 1} for i in range(1, 7)]},
    ]
    grew = [a["users"] - b["users"] for a, b in zip(after["steps"], before["steps"], strict=True)]
    assert grew == [2, 2, 1, 1, 1, 1]
    assert [s["drop_off"] for s in after["steps"]] == [s["drop_off"] for s in before["steps"]]
    assert after["still_in_window"] == before["still_in_window"] + 1


def test_the_same_figures_keep_their_etag(api_as) -> None:  # type: ignore[no-untyped-def]
    client = api_as("analyst")
    params = {"funnel": "content_discovery", "days": 14}
    first = client.get("/analytics/funnel", params=params)
    second = client.get("/analytics/funnel", params=params)
    assert first.headers["etag"] == second.headers["etag"]
    again = client.get("/analytics/funnel", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path,params",
    [
        ("/analytics/funnel", {"funnel": "registration"}),
        ("/analytics/retention", {}),
        ("/analytics/activity", {}),
    ],
)
def test_a_viewer_may_not_read_funnels_retention_or_activity(api_as, path: str, params: dict) -> None:  # type: ignore[no-untyped-def]
    response = api_as("viewer").get(path, params=params)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["required_role"] == "analyst"
    assert "analytics:read" in problem["detail"]


@pytest.mark.parametrize(
    "params,sentence",
    [
        (
            {"funnel": "signup"},
            "Unknown funnel “signup”; choose from registration, subject_to_purchase, content_discovery.",
        ),
        ({"funnel": "registration", "days": 0}, "“days” must be from 1 to 366, not 0."),
        ({"funnel": "registration", "days": 367}, "“days” must be from 1 to 366, not 367."),
        (
            {"funnel": "registration", "window_hours": 2161},
            "“window_hours” must be from 1 to 2160 (90 days), not 2161.",
        ),
        ({"funnel": "registration", "window_hours": 0}, "“window_hours” must be from 1 to 2160"),
        (
            {"funnel": "registration", "breakdown": "city"},
            "Unknown breakdown “city”; choose from country, acquisition_source, age_band.",
        ),
        (
            {"funnel": "registration", "step_window_hours": "24,24"},
            "“step_window_hours” needs 5 values for the registration funnel (one per step after the first, "
            "separated by commas), not 2.",
        ),
        (
            {"funnel": "registration", "step_window_hours": "24,0,24,24,24"},
            "“step_window_hours” value 2 (“0”, for step 3) must be a whole number of hours from 1 to 2160.",
        ),
        (
            {"funnel": "registration", "step_window_hours": "24,1h,24,24,24"},
            "“step_window_hours” value 2 (“1h”, for step 3) must be a whole number of hours",
        ),
        (
            {"funnel": "subject_to_purchase", "step_window_hours": "24,24,24,24,2161"},
            "“step_window_hours” value 5 (“2161”, for step 6) must be a whole number of hours from 1 to "
            "2160.",
        ),
        (  # a digit to str.isdigit(), but not a number of hours
            {"funnel": "registration", "step_window_hours": "24,²,24,24,24"},
            "“step_window_hours” value 2 (“²”, for step 3) must be a whole number of hours",
        ),
        (
            {"funnel": "registration", "from": "2025-01-01", "to": "2026-11-01"},
            "From 2025-01-01 to 2026-11-01 is 669 days; a funnel covers at most a year (366 days).",
        ),
        (
            {"funnel": "registration", "from": "2026-10-10", "to": "2026-10-10"},
            "“from” (2026-10-10) must be before “to” (2026-10-10).",
        ),
        ({"funnel": "registration", "from": "2026-02-30"}, "“from” must be a date written YYYY-MM-DD"),
        (
            {"funnel": "registration", "from": "2026-10-01", "days": 7},
            "Give either “from” or “days”, not both.",
        ),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_funnel_queries_are_422_sentences(api_as, params: dict, sentence: str) -> None:  # type: ignore[no-untyped-def]
    response = api_as("analyst").get("/analytics/funnel", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert sentence in response.json()["detail"]

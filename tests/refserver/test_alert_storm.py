"""`--alert-storm RATE:SECONDS[@DELAY]`: the benchmark load raises distinct, real alerts at its rate, and the
stream carries every one of them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from nexus_refserver.alerting.storm import AlertStorm
from nexus_refserver.cli import build_parser
from tests.refserver.conftest import SMALL_SERVER_ARGS, bearer, login
from tests.refserver.test_api_alerts import read_stream
from tests.support.refserver import RefServer

STORM = "100:2@1"  # 200 alerts over 2 s, a second after start


@pytest.fixture(scope="module")
def storm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefServer]:
    server = RefServer(tmp_path_factory.mktemp("refserver-storm"), *SMALL_SERVER_ARGS, "--alert-storm", STORM)
    server.start()
    yield server
    server.stop()


def test_a_storm_is_parsed_from_rate_seconds_and_delay() -> None:
    assert AlertStorm.parse("1000:30") == AlertStorm(1000.0, 30.0, 0.0)
    assert AlertStorm.parse("50:10@5").total == 500
    for bad in ("1000", "fast:30", "0:30", "10:-1", "10:5@-2"):
        with pytest.raises(ValueError, match="RATE:SECONDS"):
            AlertStorm.parse(bad)


def test_a_malformed_storm_is_refused_at_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--alert-storm", "lots"])
    assert "RATE:SECONDS" in capsys.readouterr().err


def test_the_storm_raises_each_alert_once_at_its_rate_and_streams_them_all(storm_server: RefServer) -> None:
    base = storm_server.base_url
    token = login(base, "viewer")["access_token"]
    events, _ = read_stream(base, token, "0", lambda ev, _c: len(ev) >= 200)
    storm_ids = {e["data"]["id"] for e in events if e["data"]["rule"] == "alert_storm"}
    assert len(storm_ids) == 200

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = httpx.get(f"{base}/alerts", params={"limit": 500}, headers=bearer(token), timeout=10).json()[
            "items"
        ]
        storm = [a for a in listed if a["rule"] == "alert_storm"]
        if len(storm) == 200:
            break
        time.sleep(0.2)
    assert len(storm) == 200
    assert {a["state"] for a in storm} == {"firing"}
    assert len({a["fingerprint"] for a in storm}) == 200
    starts = sorted(datetime.fromisoformat(a["starts_at"]) for a in storm)
    spread = (starts[-1] - starts[0]).total_seconds()
    assert 1.5 <= spread <= 3.0, f"200 alerts at 100/s spread over {spread:.2f} s"

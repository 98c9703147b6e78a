"""Local rules on series polled from the real reference server: threshold with `for`, then no-data
when the server goes away. The rules come from a TOML file, as a user would write them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from nexus_console.domain.alert_evaluator import RuleEvaluator
from nexus_console.domain.alerts import AlertState, parse_rfc3339
from nexus_console.services.alert_sources import AlertQueue, LocalRuleSource, load_rules_file
from nexus_console.services.polling import Poller
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

RULES = """
[[rule]]
name = "ApiErrorRateHigh"
series = "api_health.error_rate"
op = ">"
threshold = 0.05
for = "2s"
severity = "high"
summary = "API error rate {value} above 5 %"

[[rule]]
name = "ApiHealthNoData"
kind = "no_data"
series = "api_health.error_rate"
for = "2s"
severity = "critical"
"""


async def test_rules_from_a_file_fire_on_polled_api_health_and_no_data_fires_when_it_stops(
    refserver_factory: Callable[..., RefServer], tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES)
    server = refserver_factory(
        "--scenario", "none", "--clock-factor", "60", "--enable-fault-control", "--scale", "0.02"
    )
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=5.0) as http:
        login = await http.post("/auth/login", json={"email": "admin@nexus.test", "password": "nexus-demo"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async def fetch() -> dict[str, Any]:
            response = await http.get("/monitoring/api/health", headers=headers)
            response.raise_for_status()
            return dict(response.json())

        poller: Poller[dict[str, Any]] = Poller(
            "api_health", fetch, 0.3, timeout_s=5.0, source_time=lambda p: parse_rfc3339(p["generated_at"])
        )
        queue = AlertQueue()
        rules = LocalRuleSource(RuleEvaluator(load_rules_file(rules_file), time.time()), queue)
        rules.follow_poller(poller, "api_health")
        await poller.poll_once()
        assert list(queue.store) == [], "a healthy estate raises nothing"

        fault = {"scope": "*", "kind": "error_rate", "value": 0.2}
        (await http.post("/_control/faults", json=fault)).raise_for_status()
        deadline = time.monotonic() + 30
        seen: list[tuple[str, float]] = []
        while True:
            await poller.poll_once()
            alert = next((a for a in queue.store if a.name == "ApiErrorRateHigh"), None)
            if alert is not None:
                seen.append((alert.state.value, alert.value or 0.0))
                if alert.state is AlertState.FIRING:
                    break
            assert time.monotonic() < deadline, f"the threshold rule did not fire: {seen}"
            await asyncio.sleep(0.3)
        assert seen[0][0] == "pending", "it went through pending first"
        assert alert.source == "local" and alert.value is not None and alert.value > 0.05
        assert alert.summary.startswith("API error rate 0.")

        server.stop()
        await poller.poll_once()
        assert poller.status.error is not None
        deadline = time.monotonic() + 15
        while not any(a.name == "ApiHealthNoData" for a in queue.store):
            assert time.monotonic() < deadline, "no-data did not fire after the server stopped"
            await asyncio.sleep(0.2)
            rules.evaluate()
        no_data = next(a for a in queue.store if a.name == "ApiHealthNoData")
        assert no_data.state is AlertState.FIRING and no_data.severity.value == "critical"

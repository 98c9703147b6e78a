"""Local rules on series polled from the real reference server (simulated clock at 60x)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from nexus_console.domain.alert_rules import RuleEvaluator
from nexus_console.domain.alerts import AlertState, parse_rfc3339
from nexus_console.services.alert_sources import AlertQueue, LocalRuleSource, default_rules
from nexus_console.services.polling import Poller
from tests.support.refserver import RefServer

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


async def test_default_rules_raise_the_api_error_rate_alerts_from_polled_api_health(
    refserver_factory: Callable[..., RefServer],
) -> None:
    server = refserver_factory(
        "--scenario", "none", "--clock-factor", "60", "--enable-fault-control", "--scale", "0.02"
    )
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False, timeout=10.0) as http:
        login = await http.post("/auth/login", json={"email": "admin@nexus.test", "password": "nexus-demo"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async def fetch() -> dict[str, Any]:
            response = await http.get("/monitoring/api/health", headers=headers)
            response.raise_for_status()
            return dict(response.json())

        poller: Poller[dict[str, Any]] = Poller(
            "api_health", fetch, 0.3, timeout_s=5.0, source_time=lambda p: parse_rfc3339(p["generated_at"])
        )
        first = await fetch()
        queue = AlertQueue()
        rules = LocalRuleSource(
            RuleEvaluator(default_rules(), parse_rfc3339(first["generated_at"]) or 0.0), queue
        )
        rules.follow_poller(poller, "api_health")
        await poller.poll_once()
        assert [a.name for a in queue.store] == [], "a healthy estate raises nothing"

        (
            await http.post("/_control/faults", json={"scope": "*", "kind": "error_rate", "value": 0.2})
        ).raise_for_status()
        deadline = time.monotonic() + 30
        seen_pending = set()
        while True:
            await poller.poll_once()
            states = {a.name: a.state for a in queue.store}
            seen_pending |= {name for name, state in states.items() if state is AlertState.PENDING}
            if states.get("ApiErrorRateSustained") is AlertState.FIRING:
                break
            assert time.monotonic() < deadline, f"rules did not fire: {states}"
            await asyncio.sleep(0.3)
        assert states["ApiErrorRateHigh"] is AlertState.FIRING
        assert "ApiErrorRateSustained" in seen_pending, "it went through pending with its countdown first"
        sustained = next(a for a in queue.store if a.name == "ApiErrorRateSustained")
        assert sustained.source == "local" and sustained.value is not None and sustained.value > 0.05
        assert "above 5 % for 5 minutes" in sustained.summary

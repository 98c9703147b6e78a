"""The /metrics throughput probe used by the reference server benchmark."""

from __future__ import annotations

import pytest

from nexus_refserver.telemetry.bench import refserver_metrics_rps
from tests.support.refserver import RefServer


@pytest.mark.slow
@pytest.mark.asyncio
async def test_metrics_rps_measures_successful_scrapes_of_a_real_server(refserver_session: RefServer) -> None:
    rps = await refserver_metrics_rps(refserver_session.base_url, duration_s=1.0, concurrency=4)
    assert rps > 20.0


@pytest.mark.asyncio
async def test_metrics_rps_refuses_to_report_when_nothing_answers(unused_tcp_port: int) -> None:
    with pytest.raises(RuntimeError, match="no successful /metrics scrape"):
        await refserver_metrics_rps(f"http://127.0.0.1:{unused_tcp_port}", duration_s=0.3, concurrency=2)

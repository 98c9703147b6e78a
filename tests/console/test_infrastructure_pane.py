"""The Infrastructure pane against a real Prometheus scraping real node exporters (a small stack of its own,
so the session-wide `prometheus_stack` keeps its behaviour): the pane's figures are the ones a PromQL query
run by the test gives at the same evaluation time, a pending scaling trigger counts down, an exporter that
stops reads "no data since …" (never zero), and a profile without Prometheus is told how to add one."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nexus_console.domain.scaling_triggers import SCALING_TRIGGERS, TriggerState, with_threshold
from nexus_console.models.infra_table import INSTANCE_COLUMNS
from nexus_console.services.infra_sources import InfraSettings
from nexus_console.services.profiles import Profile
from nexus_console.services.prometheus import PrometheusClient
from nexus_console.services.prometheus_query import QueryError
from nexus_console.views.infrastructure.pane import InfrastructurePane
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.infra_stack import NodeFleet
from tests.support.session import offline_session

# memory > 1 % for 5 min: the real host is above it, so the trigger is pending with a countdown
SETTINGS = SessionSettings(
    infra=InfraSettings(
        interval_s=1.0, step_s=5.0, triggers=with_threshold(SCALING_TRIGGERS, "ScaleOutMemory", 1.0)
    )
)
MEMORY_PCT = (
    "100 * (1 - sum by (instance) (node_memory_MemAvailable_bytes)"
    " / sum by (instance) (node_memory_MemTotal_bytes))"
)
CPU_BUSY_PCT = (
    '100 * sum by (instance) (avg by (instance, mode) (rate(node_cpu_seconds_total{mode!="idle"}[2m])))'
)


def instant(fleet: NodeFleet, promql: str, at: float) -> dict[str, float]:
    body = httpx.get(
        f"{fleet.prometheus_url}/api/v1/query", params={"query": promql, "time": f"{at:.3f}"}, trust_env=False
    ).json()
    return {r["metric"]["instance"]: float(r["value"][1]) for r in body["data"]["result"]}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeFleet]:
    stack = NodeFleet(tmp_path_factory.mktemp("infra-fleet"), exporters=2)
    stack.start()
    try:
        # Prometheus applies its targets about 5 s after start; rates need a few samples
        deadline = time.monotonic() + 30
        while len(instant(stack, CPU_BUSY_PCT, time.time() - 2)) < 2:
            assert time.monotonic() < deadline, "the exporters were never scraped"
            time.sleep(0.25)
        yield stack
    finally:
        stack.stop()


def cell(pane: InfrastructurePane, instance: str, column: str) -> str:
    row = pane.instances.row_of(instance)
    return "" if row is None else str(pane.instances.index(row, INSTANCE_COLUMNS.index(column)).data())


def trigger_text(pane: InfrastructurePane, name: str) -> str:
    for row in range(pane.triggers.rowCount()):
        if pane.triggers.item_at(row).rule.name == name:
            return str(pane.triggers.index(row, 1).data())
    raise AssertionError(f"no trigger {name}")


def shown_pane(session: ConsoleSession) -> InfrastructurePane:
    pane = InfrastructurePane(session)
    pane.resize(1366, 700)
    pane.show()
    return pane


def close(pane: InfrastructurePane) -> None:
    pane.shutdown()
    pane.hide()
    pane.deleteLater()


def test_the_figures_are_prometheus_own_and_a_pending_trigger_counts_down(
    qloop: QLoop, fleet: NodeFleet
) -> None:
    profile = Profile("lab", "http://127.0.0.1:9", prometheus_url=fleet.prometheus_url)

    async def scenario() -> None:
        async with offline_session("viewer", profile=profile, settings=SETTINGS) as session:
            sources = session.infrastructure
            assert (
                sources is not None and sources.poller is not None and sources.poller.name == "infrastructure"
            )
            pane = shown_pane(session)
            try:
                status = await sources.poller.poll_once()
                assert status.last_good is not None, status.error
                snapshot = status.last_good.value
                assert snapshot.problems == ()
                await wait_until(lambda: pane.instances.rowCount() == 2)
                memory = instant(fleet, MEMORY_PCT, snapshot.evaluated_at)
                busy = instant(fleet, CPU_BUSY_PCT, snapshot.evaluated_at)
                for index in (0, 1):
                    name = fleet.instance(index)
                    view = snapshot.instance(name)
                    assert view is not None and view.reporting
                    assert view.memory_used_pct == pytest.approx(memory[name], rel=1e-9)
                    assert view.cpu_busy_pct == pytest.approx(busy[name], rel=1e-6, abs=1e-9)
                    assert cell(pane, name, "Memory") == f"{memory[name]:.1f} %"
                    assert cell(pane, name, "CPU") == f"{busy[name]:.1f} %"
                    assert cell(pane, name, "State") == "up"
                    assert "%" in cell(pane, name, "Fullest filesystem")
                    assert cell(pane, name, "Load 1 / 5 / 15") != "—"
                assert fleet.prometheus_url in pane.info.text() and "ago" in pane.info.text()

                pane.select_instance(fleet.instance(0))
                await wait_until(lambda: pane.selected == fleet.instance(0))
                assert sources.focused == fleet.instance(0), "its CPU by mode is asked for"
                await sources.poller.poll_once()
                await wait_until(lambda: {"user", "system"} <= set(pane.curves["cpu"]))
                memory_trigger = trigger_text(pane, "ScaleOutMemory")
                assert memory_trigger.startswith("pending, ") and "fires in" in memory_trigger, memory_trigger
                view = snapshot.instance(fleet.instance(0))
                assert view is not None
                states = {t.rule.name: t for t in view.triggers}
                assert states["ScaleOutMemory"].state is TriggerState.PENDING
                assert trigger_text(pane, "ScaleOutLatency") == "no latency metric for this instance"
                assert trigger_text(pane, "ScaleOutErrorRate") == "no error-rate metric for this instance"
                chart = pane.curves["memory"]["memory_used_pct"].getData()[1]
                shown = pane.selected_instance()
                assert shown is not None and shown.memory_used_pct is not None
                assert chart is not None and math.isclose(float(chart[-1]), shown.memory_used_pct)
            finally:
                close(pane)

    qloop.run(scenario(), timeout_s=60)


def test_the_query_api_gives_plain_python_nan_and_inf_and_names_a_failing_query(
    qloop: QLoop, fleet: NodeFleet
) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(trust_env=False) as http:
            client = PrometheusClient(fleet.prometheus_url, http)
            at = float(int(time.time()))
            (inf,) = await client.query("1/0", at)
            assert inf.labels == {} and inf.value == math.inf and inf.time == at
            (nan,) = await client.query("vector(0) / 0", at)
            assert math.isnan(nan.value)
            up = await client.query("up", at)
            assert {s.labels["instance"] for s in up} == {fleet.instance(0), fleet.instance(1)}
            (ramp,) = await client.query_range("vector(time())", at - 10, at, 5)
            assert (
                ramp.times.tolist() == [at - 10, at - 5, at] and ramp.values.tolist() == ramp.times.tolist()
            )
            with pytest.raises(QueryError, match=r"could not run the query 'sum\(up'"):
                await client.query("sum(up", at)
            with pytest.raises(QueryError, match="needs a positive step"):
                await client.query_range("up", at, at - 1, 5)

    qloop.run(scenario(), timeout_s=30)


def test_a_stopped_exporter_reads_no_data_since_and_the_picture_stays_when_prometheus_goes(
    qloop: QLoop, fleet: NodeFleet
) -> None:
    profile = Profile("lab", "http://127.0.0.1:9", prometheus_url=fleet.prometheus_url)
    stopped = fleet.instance(1)

    async def scenario() -> None:
        async with offline_session("viewer", profile=profile, settings=SETTINGS) as session:
            sources = session.infrastructure
            assert sources is not None and sources.poller is not None
            pane = shown_pane(session)
            try:
                await sources.poller.poll_once()
                await wait_until(lambda: cell(pane, stopped, "State") == "up")
                fleet.stop_exporter(1)
                stopped_at = time.time()

                async def reads_no_data() -> bool:
                    await sources.poller.poll_once()
                    return cell(pane, stopped, "State").startswith("no data since")

                deadline = time.monotonic() + 15
                while not await reads_no_data():
                    assert time.monotonic() < deadline, cell(pane, stopped, "State")
                view = sources.poller.status.last_good.value.instance(stopped)  # type: ignore[union-attr]
                assert view is not None and view.last_sample_at is not None
                # the last scrape may land just after the stop is asked for, and Prometheus marks the
                # series stale only at the next failed scrape (1 s): a few seconds' allowance
                assert stopped_at - 10 <= view.last_sample_at <= stopped_at + 3
                for column in ("CPU", "Memory", "Fullest filesystem", "Load 1 / 5 / 15"):
                    assert cell(pane, stopped, column) == "—", column
                assert cell(pane, fleet.instance(0), "State") == "up"

                # Prometheus goes away: the last picture stays, greyed, under a banner that says why
                fleet.stop_prometheus()
                status = await sources.poller.poll_once()
                assert status.error and "cannot connect" in status.error, status.error
                await wait_until(lambda: pane.banner.text() != "")
                assert pane.banner.text().startswith("stale since") and status.error in pane.banner.text()
                assert pane.body.property("stale") is True
                assert cell(pane, fleet.instance(0), "State") == "up", "never blank"
            finally:
                close(pane)

    qloop.run(scenario(), timeout_s=60)


def test_a_profile_without_prometheus_is_told_how_to_add_one(qloop: QLoop) -> None:
    async def scenario() -> None:
        async with offline_session("viewer", settings=SETTINGS) as session:
            assert session.infrastructure is not None and session.infrastructure.poller is None
            assert "infrastructure" not in session.registry.names()
            pane = shown_pane(session)
            try:
                assert "has no Prometheus" in pane.info.text() and "prometheus_url" in pane.info.text()
            finally:
                close(pane)

    qloop.run(scenario(), timeout_s=30)


def test_moderators_get_no_infrastructure_sources(qloop: QLoop, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with offline_session("moderator", settings=SETTINGS) as session:
            assert session.infrastructure is None

    qloop.run(scenario(), timeout_s=30)

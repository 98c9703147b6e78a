"""The Health pane against the real reference server subprocess: the matrix fills, the detail charts move,
faults show with their exact reasons, and a killed server makes the pane stale (never blank) until it
comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from nexus_console.domain.freshness import SourceState
from nexus_console.domain.health import Probe, ProbeOutcome, ServiceState
from nexus_console.models.health_cells import (
    PROBE_COLUMNS,
    RPS_COLUMN,
    STALE_ROLE,
)
from nexus_console.services.auth import Credentials
from nexus_console.services.health_sources import API_HEALTH, METRICS, PROBES, HealthSourceSettings
from nexus_console.services.profiles import Profile
from nexus_console.views.health import HealthPane
from nexus_console.workers.session import ConsoleSession, SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import add_fault, clear_faults, wait_until
from tests.support.refserver import RefServer
from tests.support.session import VIEWER, build_session, close_session, console_session

SERVICE_COUNT = 44
FAST_HEALTH = HealthSourceSettings(
    services_interval_s=10.0,
    probes_interval_s=2.0,
    probe_timeout_s=1.0,
    metrics_interval_s=1.0,
    scrape_timeout_s=1.0,
    documents_interval_s=1.0,
    documents_timeout_s=2.0,
)
FAST = SessionSettings(health=FAST_HEALTH)


@dataclass
class HealthConsole:
    session: ConsoleSession
    pane: HealthPane

    def status(self, name: str) -> Any:
        return self.session.statuses()[name]

    def cell(self, service: str, probe: Probe) -> Any:
        row = self.pane.model.row_of(service)
        assert row is not None, f"{service} is not in the matrix"
        return self.pane.model.index(row, PROBE_COLUMNS[probe])

    def cell_text(self, service: str, probe: Probe) -> str:
        return self.cell(service, probe).data(Qt.ItemDataRole.DisplayRole)

    def outcome(self, service: str, probe: Probe) -> ProbeOutcome | None:
        result = self.pane.model.result(service, probe)
        return result.outcome if result is not None else None

    def all_cells_known(self) -> bool:
        names = self.pane.model.service_names()
        return len(names) == SERVICE_COUNT and all(
            self.pane.model.result(name, probe) is not None for name in names for probe in Probe
        )


@asynccontextmanager
async def health_console(base_url: str) -> AsyncIterator[HealthConsole]:
    """The real console session (API client, pollers with the local cache) and a shown HealthPane."""
    async with api_stack(base_url) as stack:
        await stack.auth.login(Credentials("viewer@nexus.test", DEMO_PASSWORD))
        async with console_session(
            Profile("lab", base_url), stack.api, stack.http, VIEWER, settings=FAST
        ) as session:
            pane = HealthPane(session)
            pane.resize(1500, 950)
            pane.show()
            try:
                yield HealthConsole(session, pane)
            finally:
                pane.shutdown()
                pane.hide()  # not close(): closing the last window would quit the qasync loop
                pane.deleteLater()


@pytest.fixture
def session_server(refserver_session: RefServer) -> Iterator[RefServer]:
    clear_faults(refserver_session.base_url)
    yield refserver_session
    clear_faults(refserver_session.base_url)


def test_the_matrix_shows_every_service_and_probe_with_text_age_and_live_charts(
    qloop: QLoop, session_server: RefServer
) -> None:
    async def scenario() -> None:
        async with health_console(session_server.base_url) as console:
            pane = console.pane
            await wait_until(console.all_cells_known, timeout_s=20)
            names = pane.model.service_names()
            assert len(set(names)) == SERVICE_COUNT
            # Rows are grouped by namespace: a group row precedes its services.
            first_service = pane.model.service_at(1)
            assert pane.model.service_at(0) is None and first_service is not None
            assert pane.model.index(0, 0).data().startswith(first_service.namespace)

            text = console.cell_text(names[0], Probe.HEALTH)
            label, age = text.split(" ")
            assert label in {"UP", "DEGR", "DOWN"} and age.endswith("s"), text
            tooltip = console.cell(names[0], Probe.READY).data(Qt.ItemDataRole.ToolTipRole)
            assert "HTTP 200" in tooltip and "/health/ready" in tooltip

            # The summary line counts every service exactly once.
            summary = pane.summary.text()
            counts = [int(part.split()[0]) for part in summary.split(": ", 1)[1].split(" · ")[:4]]
            assert sum(counts) == SERVICE_COUNT, summary

            # Rates need two scrapes: wait for a number in the req/s column and in the detail chart.
            await wait_until(
                lambda: pane.model.index(pane.model.row_of(names[0]), RPS_COLUMN).data() not in ("—", "ERR"),
                timeout_s=15,
            )
            pane.select_service(names[3])
            assert pane.detail.service == names[3]

            def chart_has_rates() -> bool:
                _, rps = pane.detail.rate_chart.series_data("rps")
                return bool(np.isfinite(rps).sum() >= 2)

            await wait_until(chart_has_rates, timeout_s=15)
            _, p95 = pane.detail.latency_chart.series_data("p95_ms")
            assert np.nanmax(p95) > 0
            assert "req/s" in pane.detail.rate_chart.caption.text()
            assert names[3] in pane.detail.header.text() and "version" in pane.detail.header.text()
            assert pane.detail.checks_model.rowCount() >= 1

            # Overview tab: one curve per kind for all services.
            pane.tabs.setCurrentWidget(pane.overview)

            def overview_drawn() -> bool:
                x, y = pane.overview.curve_data("rps")
                return x is not None and int(np.isfinite(y).sum()) >= SERVICE_COUNT

            await wait_until(overview_drawn, timeout_s=5)
            labels = pane.overview.label_texts()
            assert len(labels) == SERVICE_COUNT and labels[0].startswith(names[0])
            assert any("req/s" in label for label in labels)

            # API / database / sync views fill from their sources.
            await wait_until(lambda: "req/s" in pane.api_view.kpis.text(), timeout_s=10)
            assert pane.api_view.slowest_model.rowCount() > 0
            await wait_until(lambda: pane.db_view.databases_model.rowCount() > 0, timeout_s=10)
            await wait_until(lambda: "detection" in pane.sync_view.kpis.text(), timeout_s=10)
            assert pane.age_timer.isActive()

    qloop.run(scenario(), timeout_s=90)


def test_service_faults_show_in_their_cells_with_the_exact_reason_while_others_stay_up(
    qloop: QLoop, session_server: RefServer
) -> None:
    base_url = session_server.base_url

    async def scenario() -> None:
        async with health_console(base_url) as console:
            await wait_until(console.all_cells_known, timeout_s=20)
            names = console.pane.model.service_names()
            hanging, down, garbage, healthy = names[0], names[5], names[10], names[20]
            slow, truncated, mislabelled = names[15], names[25], names[30]
            await asyncio.to_thread(add_fault, base_url, hanging, "hang")
            await asyncio.to_thread(add_fault, base_url, down, "down")
            await asyncio.to_thread(add_fault, base_url, garbage, "garbage_body")
            await asyncio.to_thread(add_fault, base_url, slow, "slow_body_s", 5.0)
            await asyncio.to_thread(add_fault, base_url, truncated, "truncated_body")
            await asyncio.to_thread(add_fault, base_url, mislabelled, "wrong_content_type")

            await wait_until(
                lambda: (
                    console.outcome(hanging, Probe.HEALTH) is ProbeOutcome.TIMEOUT
                    and console.outcome(down, Probe.HEALTH) is ProbeOutcome.DOWN
                    and console.outcome(garbage, Probe.HEALTH) is ProbeOutcome.ERROR
                ),
                timeout_s=15,
            )
            assert console.cell_text(hanging, Probe.HEALTH).startswith("TIMEOUT ")
            assert "timeout after 1.0 s" in console.cell(hanging, Probe.HEALTH).data(
                Qt.ItemDataRole.ToolTipRole
            )
            assert console.cell_text(down, Probe.HEALTH).startswith("DOWN ")
            garbage_tip = console.cell(garbage, Probe.HEALTH).data(Qt.ItemDataRole.ToolTipRole)
            assert "invalid health JSON" in garbage_tip, garbage_tip
            assert console.outcome(healthy, Probe.HEALTH) in (ProbeOutcome.UP, ProbeOutcome.DEGRADED)
            await wait_until(
                lambda: (
                    console.outcome(slow, Probe.LIVE) is ProbeOutcome.TIMEOUT
                    and console.outcome(truncated, Probe.READY) is ProbeOutcome.ERROR
                    and console.outcome(mislabelled, Probe.METRICS) is ProbeOutcome.ERROR
                ),
                timeout_s=10,
            )
            assert "closed the connection before its answer was complete" in (
                console.pane.model.result(truncated, Probe.READY).detail
            )
            mislabelled_tip = console.cell(mislabelled, Probe.METRICS).data(Qt.ItemDataRole.ToolTipRole)
            assert "unexpected content type 'text/html" in mislabelled_tip, mislabelled_tip
            # A failed probe is a result, not a failure of the whole source.
            assert console.status(PROBES).state is SourceState.OK
            metrics = console.status(METRICS).last_good.value
            await wait_until(lambda: hanging in console.status(METRICS).last_good.value.errors, timeout_s=10)
            metrics = console.status(METRICS).last_good.value
            assert healthy in metrics.samples
            console.pane.problems_only.setChecked(True)
            console.pane.refresh_ages()
            visible = set(console.pane.matrix.visible_services())
            faulty = {hanging, down, garbage, slow, truncated, mislabelled}
            assert faulty <= visible, visible
            assert len(visible) < SERVICE_COUNT
            assert all(console.pane.model.service_state(n) is not ServiceState.UP for n in visible)
            console.pane.problems_only.setChecked(False)
            assert len(console.pane.matrix.visible_services()) == SERVICE_COUNT
            summary = console.pane.summary.text()
            assert "down" in summary and int(summary.split(" down")[0].split("· ")[-1]) >= 3, summary

            await asyncio.to_thread(clear_faults, base_url)
            await wait_until(
                lambda: all(
                    console.outcome(n, Probe.HEALTH) in (ProbeOutcome.UP, ProbeOutcome.DEGRADED)
                    for n in (hanging, down, garbage, slow, truncated, mislabelled)
                ),
                timeout_s=15,
            )

    qloop.run(scenario(), timeout_s=90)


def view_state(view: Any) -> SourceState | None:
    """The state the pane's view last received: its watcher delivers on a later turn of the loop than the
    poller publishes, so a test that saw the poller change waits for this before it reads the view."""
    return view.status.state if view.status is not None else None


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [("error_rate", 1.0, "HTTP 500 from /monitoring/api/health"), ("garbage_body", None, "invalid JSON")],
)
def test_api_health_keeps_its_last_figures_greyed_with_the_reason_then_recovers(
    qloop: QLoop, session_server: RefServer, kind: str, value: float | None, reason: str
) -> None:
    base_url = session_server.base_url

    async def scenario() -> None:
        async with health_console(base_url) as console:
            view = console.pane.api_view
            await wait_until(lambda: "req/s" in view.kpis.text(), timeout_s=15)
            rows_before = view.slowest_model.rowCount()
            await asyncio.to_thread(add_fault, base_url, "api", kind, value)
            await wait_until(lambda: console.status(API_HEALTH).state is SourceState.ERROR, timeout_s=10)
            await wait_until(lambda: view_state(view) is SourceState.ERROR, timeout_s=2)  # the pane got it
            console.pane.refresh_ages()
            banner = view.banner.text()
            assert banner.startswith("stale since ") and reason in banner, banner
            assert "req/s" in view.kpis.text(), "the last good figures stay on screen"
            assert view.slowest_model.rowCount() == rows_before
            assert view.slowest_model.index(0, 0).data(STALE_ROLE) is True
            assert view.latency_chart.stale_text == banner
            assert not view.latency_chart.overlay.isHidden()

            await asyncio.to_thread(clear_faults, base_url)
            await wait_until(lambda: console.status(API_HEALTH).state is SourceState.OK, timeout_s=15)
            await wait_until(lambda: view_state(view) is SourceState.OK, timeout_s=2)
            console.pane.refresh_ages()
            assert view.banner.text() == ""
            assert view.latency_chart.stale_text is None
            assert view.slowest_model.index(0, 0).data(STALE_ROLE) is False

    qloop.run(scenario(), timeout_s=60)


def test_a_killed_server_turns_the_pane_stale_not_blank_and_it_recovers_after_restart(
    qloop: QLoop, refserver_factory: Any
) -> None:
    server: RefServer = refserver_factory("--seed", "7", "--scale", "0.02", "--scenario", "none")

    async def scenario() -> None:
        async with health_console(server.base_url) as console:
            pane = console.pane
            await wait_until(console.all_cells_known, timeout_s=20)
            name = pane.model.service_names()[2]
            await wait_until(lambda: console.status(METRICS).last_good is not None, timeout_s=10)

            await asyncio.to_thread(server.kill)

            def banner_names_both_failures() -> bool:
                # The pane hears of a failure one batch after the session does: wait for what it shows.
                pane.refresh_ages()
                text = pane.banner.text()
                return "probes: stale since " in text and "metrics: stale since " in text

            await wait_until(banner_names_both_failures, timeout_s=15)
            banner = pane.banner.text()
            assert "probes: stale since " in banner and "cannot connect to 127.0.0.1:" in banner, banner
            assert "all 44 stale" in pane.summary.text()
            # Still showing the last known state, greyed and hatched.
            assert console.cell_text(name, Probe.HEALTH).split(" ")[0] in {"UP", "DEGR", "DOWN"}
            assert console.cell(name, Probe.HEALTH).data(STALE_ROLE) is True
            assert pane.model.rowCount() > SERVICE_COUNT
            chart_stale = pane.detail.rate_chart.stale_text
            assert chart_stale is not None and chart_stale.startswith("stale since "), chart_stale
            assert not pane.detail.rate_chart.overlay.isHidden()

            await asyncio.to_thread(server.start)  # the same port
            await wait_until(
                lambda: (
                    console.status(PROBES).state is SourceState.OK
                    and console.status(METRICS).state is SourceState.OK
                ),
                timeout_s=30,
            )

            def fresh_again() -> bool:
                pane.refresh_ages()
                return pane.banner.text() == ""

            await wait_until(fresh_again, timeout_s=10)
            assert console.cell(name, Probe.HEALTH).data(STALE_ROLE) is False
            assert "all 44 stale" not in pane.summary.text()

    qloop.run(scenario(), timeout_s=120)


def test_a_restart_shows_the_cached_matrix_at_once_marked_stale(qloop: QLoop, refserver_factory: Any) -> None:
    server: RefServer = refserver_factory("--seed", "7", "--scale", "0.02", "--scenario", "none")

    async def first_run() -> None:
        async with health_console(server.base_url) as console:
            await wait_until(console.all_cells_known, timeout_s=20)
            await wait_until(lambda: console.status(API_HEALTH).last_good is not None, timeout_s=10)
            await asyncio.sleep(0.3)  # let the cache writes land

    qloop.run(first_run(), timeout_s=60)
    base_url = server.base_url
    server.stop()

    async def second_run() -> None:
        # Logged out and the server gone: everything on screen comes from the local cache.
        async with (
            api_stack(base_url) as stack,
            console_session(
                Profile("lab", base_url), stack.api, stack.http, VIEWER, settings=FAST
            ) as session,
        ):
            pane = HealthPane(session)
            pane.show()
            try:
                started = time.monotonic()
                await wait_until(lambda: pane.model.rowCount() > SERVICE_COUNT, timeout_s=5)
                assert time.monotonic() - started < 5
                names = pane.model.service_names()
                await wait_until(lambda: pane.model.result(names[0], Probe.HEALTH) is not None, timeout_s=5)
                index = pane.model.index(pane.model.row_of(names[0]), PROBE_COLUMNS[Probe.HEALTH])
                assert index.data(STALE_ROLE) is True
                await wait_until(lambda: "req/s" in pane.api_view.kpis.text(), timeout_s=5)
                pane.refresh_ages()
                assert "stale" in pane.api_view.banner.text()
            finally:
                pane.shutdown()
                pane.hide()  # not close(): closing the last window would quit the qasync loop
                pane.deleteLater()

    qloop.run(second_run(), timeout_s=60)


def test_timers_run_only_while_the_pane_is_visible_and_wake_it_at_most_once_a_second(
    qloop: QLoop, session_server: RefServer
) -> None:
    def running(pane: Any) -> list[QTimer]:
        return [timer for timer in pane.findChildren(QTimer) if timer.isActive() and not timer.isSingleShot()]

    async def scenario() -> None:
        async with health_console(session_server.base_url) as console:
            pane = console.pane
            assert pane.age_timer.isActive()
            # a wall display's Health pane: charts redraw when data arrives, not on a frame clock
            assert running(pane) and all(timer.interval() >= 1000 for timer in running(pane))
            pane.hide()
            assert not pane.age_timer.isActive()
            pane.show()
            assert pane.age_timer.isActive()
            pane.shutdown()
            assert not pane.age_timer.isActive()

    qloop.run(scenario(), timeout_s=30)


def test_an_unchanged_service_list_confirmed_by_304_never_turns_stale(
    qloop: QLoop, session_server: RefServer
) -> None:
    async def scenario() -> None:
        async with api_stack(session_server.base_url) as stack:
            await stack.auth.login(Credentials("viewer@nexus.test", DEMO_PASSWORD))
            session = build_session(
                Profile("lab", session_server.base_url),
                stack.api,
                stack.http,
                VIEWER,
                settings=SessionSettings(health=replace(FAST_HEALTH, services_interval_s=0.3)),
            )
            services = session.health.services
            first = await services.poll_once()
            assert first.last_good is not None
            await asyncio.sleep(1.0)  # more than twice the interval
            second = await services.poll_once()
            assert second.last_good is not None and second.last_good.value == first.last_good.value
            assert not second.is_stale(time.time()), "a 304 confirms the list as of now"
            await close_session(session)

    qloop.run(scenario())

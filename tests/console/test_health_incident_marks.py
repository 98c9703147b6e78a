"""Incidents on the Health pane's service charts: the incident window as a band and the followed timeline's
events as marks on the affected service only; a click opens the incident (and the event) in the Incidents
pane; `show_service_at` brings a service and a moment into view.

A session that is never started, its sources fed by hand: the service list, the incident list and the
followed timeline polled once each from an in-process API, the metrics history restored as from the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from nexus_console.domain.freshness import Stamped
from nexus_console.domain.prom_metrics import MetricsHistory, MetricsSample
from nexus_console.launch_options import settings_for_console
from nexus_console.services.telemetry import MetricsRound
from nexus_console.views.charts import LiveChart
from nexus_console.views.health import HealthPane
from nexus_console.views.health.incident_marks import IncidentBandItem, IncidentMarkItem
from nexus_console.views.main_window import MainWindow
from nexus_console.views.pane import Pane
from nexus_console.workers.session import ConsoleSession
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.session import window_session

NOW = time.time()
START = NOW - 1800.0  # the incident began half an hour ago
NOTE_AT = START + 600.0
AFFECTED, UNAFFECTED = "orders", "search"


def rfc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def service_json(name: str) -> dict[str, Any]:
    base = f"http://127.0.0.1:9/svc/{name}"
    return {
        "name": name,
        "namespace": "shop",
        "port": None,
        "tier": "core",
        "description": "",
        "health_url": f"{base}/health",
        "live_url": f"{base}/health/live",
        "ready_url": f"{base}/health/ready",
        "metrics_url": f"{base}/metrics",
    }


INCIDENT = {
    "id": 42,
    "title": "Checkout errors",
    "severity": "critical",
    "status": "fixing",
    "commander": None,
    "responders": [],
    "services": [AFFECTED],
    "alert_ids": [],
    "summary": "",
    "impact_started_at": rfc(START),
    "detected_at": rfc(START + 60),
    "created_by": "ana@example.com",
    "created_at": rfc(START + 120),
    "updated_at": rfc(START + 120),
    "version": 1,
}
NOTE = {
    "id": 1,
    "at": rfc(NOTE_AT),
    "kind": "note",
    "author": "ana@example.com",
    "text": "Restarted the order processor",
    "ref": None,
    "hidden": False,
    "pinned": False,
}


def answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/monitoring/services"):
        body: Any = {"generated_at": rfc(NOW), "items": [service_json(AFFECTED), service_json(UNAFFECTED)]}
    elif path.endswith("/incidents"):
        body = {"items": [INCIDENT], "next_cursor": None, "estimated_total": 1}
    elif path.endswith("/incidents/42"):
        body = INCIDENT
    elif path.endswith("/incidents/42/timeline"):
        body = {"items": [NOTE], "next_cursor": None}
    elif path.endswith("/audit"):
        body = {"items": [], "next_cursor": None}
    else:
        return httpx.Response(404, json={"title": "not here", "status": 404})
    return httpx.Response(200, json=body)


class StandInIncidentsPane(Pane):
    """The Incidents pane as the Health pane sees it: a title and `open_event`."""

    title = "Incidents"

    def __init__(self, session: ConsoleSession, parent: Any = None) -> None:
        super().__init__(session, parent)
        self.opened: list[tuple[int, str | None]] = []

    def open_event(self, incident_id: int, event_key: str | None = None) -> None:
        self.opened.append((incident_id, event_key))


@dataclass
class Console:
    session: ConsoleSession
    window: MainWindow
    pane: HealthPane
    clicks: list[tuple[int, str | None]] = field(default_factory=list)

    def charts(self) -> list[LiveChart]:
        return self.pane.detail.charts()


def forty_minutes(*services: str) -> MetricsHistory:
    """Forty minutes of one sample every 10 s for each service (epoch seconds, as the scrapes record)."""
    history = MetricsHistory()
    for t in range(int(NOW) - 2400, int(NOW) + 1, 10):
        for service in services:
            history.record(service, MetricsSample(float(t), 5, 0, 0, 10, 20, 30, 5, 50))
    return history


@contextmanager
def health_console(qtbot: Any, qloop: QLoop, *, incidents_pane: bool = True) -> Iterator[Console]:
    """A viewer's window (the incident runtime reads for viewers too) with the Health pane shown."""
    pane_types: list[type[Pane]] = [HealthPane, StandInIncidentsPane] if incidents_pane else [HealthPane]
    with window_session("viewer", api_transport=httpx.MockTransport(answer)) as session:
        window = MainWindow(session, pane_types, settings_for_console())
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        pane = window.panes[0]
        assert isinstance(pane, HealthPane)
        console = Console(session, window, pane)
        pane.detail.incidents.activated.connect(lambda i, key: console.clicks.append((i, key)))
        assert session.incidents is not None
        history = forty_minutes(AFFECTED, UNAFFECTED)
        session.health.metrics.restore(Stamped(MetricsRound(NOW, {}, {}, history), NOW, NOW, 1.0))

        async def feed() -> None:
            assert session.incidents is not None
            await session.health.services.poll_once()
            await session.incidents.list.poll_once()
            session.incidents.follow(42)
            await session.incidents.timeline.poll_once()
            timeline = session.incidents.timeline.status
            assert timeline.last_good is not None, timeline.error
            await wait_until(lambda: pane.detail.service == AFFECTED and len(incident_items(pane)) == 8)

        try:
            qloop.run(feed(), timeout_s=20)
            yield console
        finally:
            window.close()


def incident_items(pane: HealthPane) -> list[Any]:
    """The band and mark items on the detail charts' plots (what pyqtgraph draws, not our bookkeeping)."""
    return [
        item
        for chart in pane.detail.charts()
        for item in chart.plot_item.items
        if isinstance(item, IncidentBandItem | IncidentMarkItem)
    ]


def items_of(chart: LiveChart, kind: type) -> list[Any]:
    return [item for item in chart.plot_item.items if isinstance(item, kind)]


def click_at(chart: LiveChart, x: float) -> None:
    """A left click on the plot at time `x`, half-way up."""
    view_box = chart.plot_item.getViewBox()
    (_x0, _x1), (y0, y1) = view_box.viewRange()
    scene_point = view_box.mapViewToScene(QPointF(x, (y0 + y1) / 2))
    point = chart.plot_widget.mapFromScene(scene_point)
    QTest.mouseClick(
        chart.plot_widget.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point
    )


@pytest.fixture(autouse=True)
def _no_stray_loop() -> Iterator[None]:
    yield
    asyncio.set_event_loop(None)


def test_an_affected_service_shows_the_incident_band_and_the_timeline_marks(qtbot: Any, qloop: QLoop) -> None:
    with health_console(qtbot, qloop) as console:
        for chart in console.charts():
            (band,) = items_of(chart, IncidentBandItem)
            start, end = band.getRegion()
            assert start == pytest.approx(START)  # epoch seconds, the incident's own start (no margin)
            assert NOW - 5 <= end <= time.time() + 5, "an open incident reaches to now"
            assert band.toolTip() == "Incident #42: Checkout errors"
            assert band.zValue() < 0 and not band.movable, "fixed, behind the curves"
            assert band.brush.color().alpha() < 100, "translucent"
            marks = {item.mark.key: item for item in items_of(chart, IncidentMarkItem)}
            assert set(marks) == {"milestone:impact_started_at", "milestone:detected_at", "entry:1"}
            note = marks["entry:1"]
            assert note.value() == pytest.approx(NOTE_AT) and note.angle == 90
            assert note.toolTip().startswith("Restarted the order processor")
            x0, x1 = chart.plot_item.getViewBox().viewRange()[0]
            assert x0 <= START < NOTE_AT <= x1, "the charts' time axis and the marks agree"
            assert len(chart.plot_item.listDataItems()) == len(chart.series_keys()), "the curves untouched"


def test_an_unaffected_service_shows_no_band_and_no_marks(qtbot: Any, qloop: QLoop) -> None:
    with health_console(qtbot, qloop) as console:
        console.pane.select_service(UNAFFECTED)
        assert console.pane.detail.service == UNAFFECTED
        assert incident_items(console.pane) == []
        console.pane.select_service(AFFECTED)
        assert len(incident_items(console.pane)) == 8


def test_new_polls_of_the_same_incidents_leave_the_items_in_place(qtbot: Any, qloop: QLoop) -> None:
    with health_console(qtbot, qloop) as console:
        before = [id(item) for item in incident_items(console.pane)]
        incidents = console.session.incidents
        assert incidents is not None

        async def poll_again() -> None:
            await incidents.list.poll_once()
            await incidents.timeline.poll_once()
            await asyncio.sleep(0.1)

        qloop.run(poll_again())
        assert [id(item) for item in incident_items(console.pane)] == before

        async def follow_none() -> None:
            incidents.follow(None)
            await incidents.timeline.poll_once()
            await wait_until(lambda: len(incident_items(console.pane)) == 2)

        qloop.run(follow_none())
        assert all(isinstance(item, IncidentBandItem) for item in incident_items(console.pane))


def test_clicking_a_mark_or_the_band_opens_it_in_the_incidents_pane(qtbot: Any, qloop: QLoop) -> None:
    with health_console(qtbot, qloop) as console:
        chart = console.pane.detail.rate_chart
        incidents_pane = console.window.panes[1]
        assert isinstance(incidents_pane, StandInIncidentsPane)
        click_at(chart, NOTE_AT)
        assert console.clicks == [(42, "entry:1")]
        assert console.window.current_pane() is incidents_pane
        assert incidents_pane.opened == [(42, "entry:1")]

        console.window.show_pane("Health")
        click_at(chart, NOTE_AT + 300)  # inside the band, away from every mark
        assert console.clicks[-1] == (42, None)
        assert incidents_pane.opened[-1] == (42, None)


def test_a_user_without_the_incidents_pane_clicks_without_effect(qtbot: Any, qloop: QLoop) -> None:
    with health_console(qtbot, qloop, incidents_pane=False) as console:
        assert console.window.pane_titles() == ["Health"]
        click_at(console.pane.detail.rate_chart, NOTE_AT)
        assert console.clicks == [(42, "entry:1")], "the click arrives; no pane opens, nothing fails"
        assert console.window.current_pane() is console.pane


def test_show_service_at_selects_the_service_and_widens_the_window_to_the_moment(
    qtbot: Any, qloop: QLoop
) -> None:
    with health_console(qtbot, qloop) as console:
        pane, detail = console.pane, console.pane.detail
        pane.select_service(UNAFFECTED)
        pane.tabs.setCurrentIndex(1)  # the overview
        detail.window_choice.setCurrentIndex(0)  # the last 5 minutes
        pane.show_service_at(AFFECTED, START)
        assert pane.tabs.currentIndex() == 0 and detail.service == AFFECTED
        assert detail.window_choice.currentData() == 3600.0, "START is 30 min ago: the hour shows it"
        for chart in detail.charts():
            x0, x1 = chart.plot_item.getViewBox().viewRange()[0]
            assert x0 <= START <= x1

        detail.window_choice.setCurrentIndex(0)
        pane.show_service_at(AFFECTED, NOW - 5 * 3600)  # older than the ring buffer: the range stays
        assert detail.window_choice.currentIndex() == 0 and detail.service == AFFECTED

"""The Analytics pane's newer figures on the reference server: users by acquisition source, age and gender,
vendors by link quality, subject click-through, the funnel broken down and with a window per step, and
quarterly retention: each as the server counts it, shown in the page's tables."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from nexus_console.domain.analytics import CONTENT, USERS, VENDORS
from nexus_console.domain.behaviour import Funnel
from nexus_console.views.analytics import AnalyticsPane
from nexus_console.workers.session import ConsoleSession
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.console.test_analytics_pane import tile_on_screen, with_analytics_pane
from tests.support.refserver import RefServer


def rows(pane: AnalyticsPane, kind: str, title: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in pane.page(kind).table(title).model.items()]


def test_users_vendors_and_content_show_their_groups_link_quality_and_click_through(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(session: ConsoleSession, pane: AnalyticsPane) -> None:
        users, _ = await session.api.get_json("/analytics/users")
        shown = rows(pane, USERS, "Users by acquisition source")
        assert [(r[0], r[1], r[2], r[4], r[6]) for r in shown] == [
            (g["label"], g["users"], g["active_users_30d"], g["buyers"], g["orders"])
            for g in users["by_acquisition_source"]
        ]
        assert [r[0] for r in rows(pane, USERS, "Users by age")] == [
            "18–24",
            "25–34",
            "35–44",
            "45–54",
            "55–64",
            "65+",
        ]
        assert sum(r[1] for r in rows(pane, USERS, "Users by gender")) == users["total_users"]

        vendors, _ = await session.api.get_json("/analytics/vendors")
        leaders = rows(pane, VENDORS, "Top vendors by link quality")
        assert [(r[1], r[3]) for r in leaders] == [
            (v["name"], v["verified"]) for v in vendors["top_vendors_by_link_quality"]
        ]
        assert (
            leaders and leaders[0][2] == f"{vendors['top_vendors_by_link_quality'][0]['quality'] * 100:.1f} %"
        )

        content, _ = await session.api.get_json("/analytics/content")
        assert tile_on_screen(pane, CONTENT, "Subject click-through") == (
            f"{content['subject_click_through_30d'] * 100:.1f} %"
        )
        by_genre = rows(pane, CONTENT, "Subject click-through by genre, last 30 days")
        assert [r[0] for r in by_genre] == [g["genre"] for g in content["click_through_by_genre"]]
        top = rows(pane, CONTENT, "Subject click-through by content, last 30 days")
        assert [r[1] for r in top] == [c["title"] for c in content["top_contents_by_click_through"]]

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=90)


def test_the_funnels_page_breaks_down_by_source_and_takes_a_window_per_step(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(session: ConsoleSession, pane: AnalyticsPane) -> None:
        page = pane.funnels
        pane.tabs.setCurrentWidget(page)
        await wait_until(lambda: page.funnel is not None, timeout_s=20)
        assert not page.breakdown_table.isVisibleTo(page)

        page.breakdown.setCurrentIndex(page.breakdown.findData("acquisition_source"))
        await wait_until(lambda: page.funnel is not None and page.funnel.breakdown is not None, timeout_s=20)
        body, _ = await session.api.get_json(
            "/analytics/funnel",
            {
                "funnel": "registration",
                "days": "30",
                "window_hours": "168",
                "breakdown": "acquisition_source",
            },
        )
        expected = Funnel.from_json(body)
        assert page.funnel.breakdown == expected.breakdown
        assert page.breakdown_table.isVisibleTo(page)
        first = page.breakdown_model.items()[0]
        assert first[1] == expected.breakdown[0].users[0]  # entrants of the biggest group

        page.step_windows.setText("1, 1, 24, 24, 48")
        page.step_windows.editingFinished.emit()
        await wait_until(
            lambda: page.funnel is not None and page.funnel.step_window_hours == (1, 1, 24, 24, 48)
        )
        assert "each step within 1 h, 1 h, 1 d, 1 d, 2 d of the one before" in page.info.text()

        page.step_windows.setText("24, 2")  # the server wants five values for registration
        page.step_windows.editingFinished.emit()
        await wait_until(lambda: "needs 5 values" in page.banner.text(), timeout_s=20)
        assert page.funnel.step_window_hours == (1, 1, 24, 24, 48), "the last answer stays, greyed"

        page.step_windows.setText("24, two")
        page.step_windows.editingFinished.emit()
        await wait_until(lambda: "“two” is not a whole number of hours" in page.banner.text(), timeout_s=20)

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=90)


def test_retention_by_quarter_shows_the_four_quarters_of_the_history(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        page = pane.engagement
        pane.tabs.setCurrentWidget(page)
        await wait_until(lambda: page.retention is not None, timeout_s=30)
        page.grain.setCurrentIndex(page.grain.findData("quarter"))
        await wait_until(
            lambda: page.retention is not None and page.retention.grain == "quarter", timeout_s=30
        )
        assert [c.cohort for c in page.retention.cohorts] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
        headers = [
            page.model.headerData(i, Qt.Orientation.Horizontal) for i in range(page.model.columnCount())
        ]
        assert headers == ["Cohort", "Users", "Quarter 0", "Quarter 1", "Quarter 2", "Quarter 3"]

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=90)

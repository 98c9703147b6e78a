"""Analytics › Funnels and › Engagement on the reference server: the pages show what the server counts
(asked when shown and again when a choice changes), retention reads as a heatmap with periods not over left
blank, and "on or after" never retains fewer than "on"."""

from __future__ import annotations

from typing import Any

from nexus_console.domain.behaviour import Funnel, Retention
from nexus_console.views.analytics import AnalyticsPane
from nexus_console.workers.session import ConsoleSession
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.console.test_analytics_pane import with_analytics_pane
from tests.support.refserver import RefServer


def cell(model: Any, row: int, column: int) -> str:
    return str(model.index(row, column).data())


def test_the_funnels_page_shows_the_servers_funnel_and_asks_again_for_another_window(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(session: ConsoleSession, pane: AnalyticsPane) -> None:
        page = pane.funnels
        pane.tabs.setCurrentWidget(page)
        await wait_until(lambda: page.funnel is not None, timeout_s=20)
        body, _ = await session.api.get_json(
            "/analytics/funnel", {"funnel": "registration", "days": "30", "window_hours": "168"}
        )
        expected = Funnel.from_json(body)
        assert page.funnel == expected
        assert [cell(page.model, r, 2) for r in range(page.model.rowCount())] == [
            f"{s.users:,}" for s in expected.steps
        ]
        assert page.info.text().startswith(f"Registration: {expected.steps[0].users:,} entered from ")

        page.window.setCurrentText("1 hour")
        await wait_until(lambda: page.funnel is not None and page.funnel.window_hours == 1, timeout_s=20)
        assert page.funnel.steps[-1].users <= expected.steps[-1].users  # less time, never more conversions
        page.choice.setCurrentIndex(page.choice.findData("subject_to_purchase"))
        await wait_until(lambda: page.funnel is not None and page.funnel.name == "subject_to_purchase")
        assert page.funnel.steps[-1].label == "Completed purchase"

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=90)


def test_retention_reads_as_a_heatmap_and_on_or_after_never_retains_fewer_than_on(
    qloop: QLoop, refserver_session: RefServer
) -> None:
    async def check(_session: ConsoleSession, pane: AnalyticsPane) -> None:
        page = pane.engagement
        pane.tabs.setCurrentWidget(page)
        await wait_until(lambda: page.retention is not None and page.activity is not None, timeout_s=30)
        on = page.retention
        assert isinstance(on, Retention) and on.mode == "on" and on.grain == "week"
        assert page.info.text().startswith(f"Active users a day over {len(page.activity.days)} days")
        last = on.cohorts[-1]
        assert cell(page.model, len(on.cohorts) - 1, 2) == f"{last.values[0] * 100:.1f} %"
        blank = [i for i, v in enumerate(last.values) if v is None]
        assert blank, "the newest cohort's later weeks are not over"
        assert cell(page.model, len(on.cohorts) - 1, 2 + blank[0]) == ""

        page.mode.setCurrentIndex(page.mode.findData("on_or_after"))
        await wait_until(lambda: page.retention is not None and page.retention.mode == "on_or_after")
        after = page.retention
        for before, later in zip(on.cohorts, after.cohorts, strict=True):
            pairs = [(a, b) for a, b in zip(before.values, later.values, strict=True) if a is not None]
            assert all(b is not None and b >= a for a, b in pairs)
        assert page.figures.text().startswith("Day 1: ")

    qloop.run(with_analytics_pane(refserver_session, "analyst@nexus.test", check)(), timeout_s=90)

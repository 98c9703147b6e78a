"""The Uptime pane on the reference server: last month's uptime a service and a namespace from the local
rollups (a scripted outage with a known answer), the 90 daily bars, the live recording of today's probe
sweeps, the incidents of a service, and the month's SLA report as CSV and PDF."""

from __future__ import annotations

import asyncio
import csv
import subprocess
import time
from pathlib import Path

from nexus_console.domain.uptime import (
    DAY_S,
    BucketTally,
    Grain,
    Tally,
    month_bounds,
    month_of,
    previous_month,
)
from nexus_console.models.uptime_table import BARS_ROLE, UPTIME_COLUMNS
from nexus_console.services.auth import Credentials
from nexus_console.services.health_sources import HealthSourceSettings
from nexus_console.services.incident_runtime import IncidentSettings
from nexus_console.services.profiles import Profile
from nexus_console.views.uptime.pane import UptimePane
from nexus_console.workers.session import SessionSettings
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer
from tests.support.session import console_session

SERVICE = "billing-service"  # nexus-commerce
FAST = SessionSettings(
    health=HealthSourceSettings(probes_interval_s=1.0), incidents=IncidentSettings(list_interval_s=1.0)
)


def last_month_with_an_outage() -> tuple[int, int, list[BucketTally]]:
    """Every day of last month up for every commerce service, but SERVICE down 2 h on the 3rd."""
    year, month = previous_month(*month_of(time.time()))
    start, end = month_bounds(year, month)
    tallies = []
    for day in range(start, end, DAY_S):
        for service in (SERVICE, "invoice-gen"):
            down = 7200 if service == SERVICE and day == start + 2 * DAY_S else 0
            tallies.append(BucketTally(service, Grain.DAY, day, Tally(up_s=DAY_S - down, down_s=down)))
    return year, month, tallies


def cell(pane: UptimePane, key: str, column: str) -> str:
    row = pane.model.row_of(key)
    assert row is not None, key
    return str(pane.model.index(row, UPTIME_COLUMNS.index(column)).data())


def test_the_uptime_pane_answers_last_months_uptime_and_exports_the_sla_report(
    qloop: QLoop, refserver_session: RefServer, tmp_path: Path
) -> None:
    year, month, tallies = last_month_with_an_outage()
    days = (month_bounds(year, month)[1] - month_bounds(year, month)[0]) // DAY_S
    expected = f"{(1 - 7200 / (days * DAY_S)) * 100:.2f} %"

    async def scenario() -> None:
        async with api_stack(refserver_session.base_url) as stack:
            me = await stack.auth.login(Credentials("admin@nexus.test", DEMO_PASSWORD))
            async with console_session(
                Profile("lab", refserver_session.base_url), stack.api, stack.http, me, settings=FAST
            ) as session:
                await session.uptime.store.record(tallies, {})
                pane = UptimePane(session)
                pane.resize(1400, 800)
                pane.show()
                try:
                    await wait_until(lambda: pane.model.row_of(SERVICE) is not None, timeout_s=15)
                    await wait_until(lambda: pane.model.row_of("ns:nexus-commerce") is not None, timeout_s=15)
                    assert cell(pane, SERVICE, "Last month") == expected
                    assert cell(pane, "invoice-gen", "Last month") == "100.00 %"
                    # The namespace's figure is time-weighted over its services.
                    namespace = f"{(1 - 7200 / (2 * days * DAY_S)) * 100:.2f} %"
                    assert cell(pane, "ns:nexus-commerce", "Last month") == namespace
                    assert "missed" in pane.headline.text() and "1 missed" in pane.headline.text()

                    row = pane.model.row_of(SERVICE)
                    bars = pane.model.index(row, UPTIME_COLUMNS.index("Last 90 days")).data(BARS_ROLE)
                    assert len(bars) == 90
                    first_day = session.uptime.feed.latest[0].first_day  # type: ignore[index]
                    outage_day = (month_bounds(year, month)[0] + 2 * DAY_S - first_day) // DAY_S
                    assert 0 <= outage_day < 90, "the 3rd of last month is always within the last 90 days"
                    assert bars[outage_day] == "major outage"
                    index = pane.model.index(row, UPTIME_COLUMNS.index("Last 90 days"))
                    assert "major outage" in pane.model.day_tooltip(index, outage_day)
                    assert "down 2 h 00 min" in pane.model.day_tooltip(index, outage_day)

                    # Today's probe sweeps are being recorded: today's bar gets known time.
                    async def today_known() -> bool:
                        await session.uptime.refresh()
                        r = pane.model.row_of(SERVICE)
                        today = pane.model.index(r, UPTIME_COLUMNS.index("Last 90 days")).data(BARS_ROLE)[-1]
                        return today in ("operational", "degraded", "partial outage", "major outage")

                    deadline = time.monotonic() + 20
                    while not await today_known():
                        assert time.monotonic() < deadline, "today's sweeps never reached the rollups"
                        await asyncio.sleep(0.5)
                    assert cell(pane, SERVICE, "24 h") != "—"

                    # An incident on the service: its day's bar names it, and the list below the table has it.
                    body, _ = await session.api.post_json(
                        "/incidents",
                        {"title": "Invoices stuck", "severity": "high", "services": [SERVICE]},
                        idempotency_key="uptime-pane-incident",
                    )
                    pane.select(SERVICE)
                    # other tests on the shared server have incidents too: wait for this one's line
                    listed = f"#{body['id']} Invoices stuck"
                    await wait_until(
                        lambda: (
                            pane.incident_list.count() >= 1 and listed in pane.incident_list.item(0).text()
                        ),
                        timeout_s=10,
                    )
                    row = pane.model.row_of(SERVICE)
                    today = pane.model.index(row, UPTIME_COLUMNS.index("Last 90 days"))
                    assert f"incident #{body['id']}: Invoices stuck" in pane.model.day_tooltip(today, 89)

                    csv_path = tmp_path / "sla.csv"
                    said = await pane.export_sla_report(csv_path, year, month)
                    assert str(csv_path) in said
                    rows = {r[0]: r for r in csv.reader(csv_path.open(encoding="utf-8"))}
                    assert rows[SERVICE][1] == f"{(1 - 7200 / (days * DAY_S)) * 100:.3f}"
                    assert rows[SERVICE][2] == "no" and rows["invoice-gen"][2] == "yes"
                    assert rows[SERVICE][3] == "7200"
                    pdf_path = tmp_path / "sla.pdf"
                    await pane.export_sla_report(pdf_path, year, month)
                    text = subprocess.run(
                        ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
                    ).stdout
                    assert "SLA report" in text and SERVICE in text and "How uptime is counted" in text
                finally:
                    pane.shutdown()
                    pane.hide()
                    pane.deleteLater()

    qloop.run(scenario(), timeout_s=90)

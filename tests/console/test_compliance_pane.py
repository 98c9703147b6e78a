"""The Compliance pane on the reference server: the data-subject requests with their GDPR clocks (overdue
ones first and in red, as the server's dates say), extending a request once with its reason (audited; a
second extension refused in words), consent and retention figures as the server counts them, the PCI scan
of the profile's replicas, and the register exported with a hash chain that verifies."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from nexus_console.domain.dsar import add_months
from nexus_console.domain.evidence_chain import verify_rows
from nexus_console.services.auth import Credentials
from nexus_console.services.profiles import Profile
from nexus_console.views.compliance.pane import RED, CompliancePane
from nexus_console.workers.session import ConsoleSession
from tests.console.api_support import DEMO_PASSWORD, api_stack
from tests.console.conftest import QLoop
from tests.console.helpers import wait_until
from tests.support.refserver import RefServer
from tests.support.session import console_session


def with_pane(server: RefServer, check: Any, email: str = "analyst@nexus.test") -> Any:
    replicas = {
        name: (f"sqlite:///{server.data_dir / (name + '.sqlite3')}",) for name in ("users", "marketplace")
    }

    async def scenario() -> None:
        async with api_stack(server.base_url) as stack:
            me = await stack.auth.login(Credentials(email, DEMO_PASSWORD))
            profile = Profile("lab", server.base_url, replicas=replicas)
            async with console_session(profile, stack.api, stack.http, me) as session:
                pane = CompliancePane(session)
                pane.resize(1366, 768)
                pane.show()
                try:
                    await wait_until(
                        lambda: pane.register is not None and pane.retention.rowCount() > 0, timeout_s=30
                    )
                    await check(session, pane)
                finally:
                    pane.shutdown()
                    pane.hide()
                    pane.deleteLater()

    return scenario


def due(received: str, status: str) -> date:
    return add_months(date.fromisoformat(received[:10]), 3 if status == "extended" else 1)


def test_the_register_puts_overdue_requests_first_in_red_and_a_request_is_extended_once(
    qloop: QLoop, refserver_factory: Any
) -> None:
    server: RefServer = refserver_factory("--seed", "5", "--scale", "0.02", "--scenario", "none")

    async def check(session: ConsoleSession, pane: CompliancePane) -> None:
        body, _ = await session.api.get_json("/compliance/dsar")
        today = datetime.now(UTC).date()
        open_ = [r for r in body["requests"] if r["status"] in ("open", "extended")]
        overdue = sorted(
            (r for r in open_ if due(r["received_at"], r["status"]) < today),
            key=lambda r: due(r["received_at"], r["status"]),
        )
        assert overdue, "the generated requests include overdue ones"
        shown = [row[0] for row in pane.dsar.items()]
        assert shown[: len(overdue)] == [r["id"] for r in overdue]
        first = pane.dsar.index(0, 5)
        assert (
            first.data().startswith("overdue by ")
            and pane.dsar.data(first, Qt.ItemDataRole.ForegroundRole) is RED
        )
        assert f"{len(overdue)} overdue" in pane.dsar_summary.text()

        extendable = next(
            r for r in open_ if r["status"] == "open" and today <= due(r["received_at"], "open")
        )
        row = shown.index(extendable["id"])
        pane.dsar_view.selectRow(row)
        pane.act("extend")
        assert pane.message.text() == "Write the reason first: it goes into the audit trail."
        pane.reason.setText("identity check takes longer")
        pane.act("extend")
        await wait_until(lambda: not pane.message.text().startswith("Write the reason"), timeout_s=20)
        assert pane.message.text().startswith(f"Extended request #{extendable['id']}"), pane.message.text()
        await wait_until(
            lambda: (
                pane.register is not None
                and next(r for r in pane.register.requests if r.id == extendable["id"]).status == "extended"
            ),
            timeout_s=20,
        )
        pane.dsar_view.selectRow([r.id for r in pane.register.requests].index(extendable["id"]))
        pane.reason.setText("again")
        pane.act("extend")
        await wait_until(
            lambda: pane.message.text().startswith(f"Could not extend request #{extendable['id']}"),
            timeout_s=20,
        )

    qloop.run(with_pane(server, check)(), timeout_s=90)


def test_consent_retention_pci_and_an_exported_register_that_verifies(
    qloop: QLoop, refserver_session: RefServer, tmp_path: Path
) -> None:
    async def check(session: ConsoleSession, pane: CompliancePane) -> None:
        consents, _ = await session.api.get_json("/compliance/consents")
        assert [row[:3] for row in pane.consent.items()] == [
            (p["purpose"], p["granted"], p["withdrawn"]) for p in consents["purposes"]
        ]
        retention, _ = await session.api.get_json("/compliance/retention")
        assert [(row[0], row[2]) for row in pane.retention.items()] == [
            (f"{c['database']}.{c['table']}.{c['column']}", c["older_rows"]) for c in retention["checks"]
        ]
        await wait_until(lambda: pane.moderation.rowCount() == 2, timeout_s=15)
        moderation, _ = await session.api.get_json("/compliance/moderation")
        assert [(row[0], row[1]) for row in pane.moderation.items()] == [
            ("Marketplace products", moderation["kinds"][0]["flagged_waiting"]),
            ("Workstation content", moderation["kinds"][1]["flagged_waiting"]),
        ]
        assert pane.moderation_line.text().startswith("<b>Moderation</b> · ")
        pane.scan()
        await wait_until(
            lambda: (
                pane.scan_result.text().startswith(("Passed", "Could not"))
                or "found" in pane.scan_result.text()
            ),
            timeout_s=60,
        )
        assert pane.scan_result.text().startswith("Passed: no card numbers in "), pane.scan_result.text()

        path = tmp_path / "register.csv"
        pane.export("dsar-register", path)
        await wait_until(lambda: pane.evidence_result.text().startswith("Wrote "), timeout_s=20)
        rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
        result = verify_rows(rows)
        assert result.ok and result.entries == len(pane.register.requests)  # type: ignore[union-attr]
        pane.verify(path)
        await wait_until(lambda: "Verified:" in pane.evidence_result.text(), timeout_s=10)
        await asyncio.sleep(0)

    qloop.run(with_pane(refserver_session, check)(), timeout_s=120)

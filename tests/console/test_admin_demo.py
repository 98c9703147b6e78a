"""The --demo path: the demo profile points the Admin pane at the demo server's SQLite files, and the
console's default panes include the admin ones, with the session building the admin runtime they use."""

from __future__ import annotations

from typing import Any

from nexus_console.domain.admin import EntityType
from nexus_console.launch_options import default_pane_types
from nexus_console.services.admin_runtime import AdminRuntime
from nexus_console.services.auth import Credentials
from nexus_console.services.demo_server import DEMO_EMAIL, DEMO_PASSWORD, DemoServer
from nexus_console.services.profiles import Profile, data_dir
from nexus_console.views.admin import AdminPane, AuditPane, QueuePane
from tests.console.api_support import api_stack
from tests.console.helpers import wait_until
from tests.support.qloop import QLoop
from tests.support.refserver import RefServer
from tests.support.session import admin_session, window_session


def test_demo_profile_reads_the_demo_servers_sqlite_files(qloop: QLoop, refserver_session: RefServer) -> None:
    server = refserver_session
    replicas = DemoServer(server.data_dir).replica_urls()
    assert set(replicas) == {"users", "workstation", "marketplace"}
    profile = Profile("demo", server.base_url, email=DEMO_EMAIL, replicas=replicas)

    async def scenario() -> None:
        async with api_stack(server.base_url) as stack:
            me = await stack.auth.login(Credentials(DEMO_EMAIL, DEMO_PASSWORD))
            # no replicas given: the runtime opens the profile's (the demo's SQLite files)
            async with admin_session(profile, stack.api, me) as session:
                panes: list[Any] = [AdminPane(session), QueuePane(session)]
                try:
                    await exercise(session.admin, panes[0])
                finally:
                    for pane in panes:
                        pane.shutdown()
                        pane.deleteLater()

    async def exercise(runtime: AdminRuntime | None, pane: AdminPane) -> None:
        assert runtime is not None and runtime.problem is None
        assert runtime.replicas is not None and runtime.replicas.replica("users").dialect == "sqlite"
        pane.search_edit.setText("a")
        task = pane.start_search()
        assert task is not None
        await task
        assert pane.model.rowCount() > 0
        assert "no replication lag" in pane.lag_label.text()
        pane.entity_combo.setCurrentIndex(pane.entity_combo.findData(EntityType.PRODUCT))
        await pane.start_search()
        assert pane.model.rowCount() > 0
        pane.select_id(pane.model.id_at(0))
        await wait_until(lambda: pane.detail_id == pane.model.id_at(0), timeout_s=15)
        assert "Subject links" in pane.detail.toPlainText()

    qloop.run(scenario())
    assert (data_dir() / "outbox-demo.sqlite3").exists()  # the queue lives in the data dir, per profile


def test_the_console_lists_the_admin_panes_and_the_session_builds_their_runtime() -> None:
    panes = [pane.load() for pane in default_pane_types()]
    assert AdminPane in panes and QueuePane in panes and AuditPane in panes
    for roles in (("admin",), ("moderator",)):
        with window_session(*roles) as session:
            assert isinstance(session.admin, AdminRuntime)
    with window_session("viewer") as session:
        assert session.admin is None

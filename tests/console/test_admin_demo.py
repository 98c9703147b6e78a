"""The --demo path: the demo profile points the Admin pane at the demo server's SQLite files,
and the console's default panes and registrars include the admin ones."""

from __future__ import annotations

import concurrent.futures
from typing import Any

from nexus_console.app import default_pane_types, default_source_registrars
from nexus_console.domain.admin import EntityType
from nexus_console.services.api_client import NexusClient
from nexus_console.services.auth import AuthSession, Credentials
from nexus_console.services.cache import CACHE_FILE, LocalCache
from nexus_console.services.demo_server import DEMO_EMAIL, DEMO_PASSWORD, DemoServer
from nexus_console.services.http import build_http_client
from nexus_console.services.keychain import Keychain
from nexus_console.services.polling import PollerRegistry
from nexus_console.services.profiles import Profile, TlsSettings, cache_dir, data_dir
from nexus_console.views.admin import AdminPane, AuditPane, QueuePane
from nexus_console.workers.admin_sources import admin_runtime_for, register_admin_sources
from nexus_console.workers.context import ConsoleContext
from nexus_console.workers.hub import DataHub
from nexus_console.workers.tasks import TaskRunner
from tests.console.helpers import wait_until
from tests.support.qloop import QLoop
from tests.support.refserver import RefServer


def test_demo_profile_reads_the_demo_servers_sqlite_files(qloop: QLoop, refserver_session: RefServer) -> None:
    server = refserver_session
    replicas = DemoServer(server.data_dir).replica_urls()
    assert set(replicas) == {"users", "workstation", "marketplace"}
    profile = Profile("demo", server.base_url, email=DEMO_EMAIL, replicas=replicas)
    http = build_http_client(TlsSettings())
    auth = AuthSession(server.base_url, http, Keychain("nexus-console:demo"))
    me = qloop.run(auth.login(Credentials(DEMO_EMAIL, DEMO_PASSWORD)))
    registry = PollerRegistry()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    ctx = ConsoleContext(
        profile=profile,
        api=NexusClient(server.base_url, http, auth=auth),
        http=http,
        registry=registry,
        hub=DataHub(registry),
        cache=LocalCache(cache_dir() / CACHE_FILE, namespace="demo"),
        me=me,
        tasks=TaskRunner(),
        executor=executor,
    )
    panes: list[Any] = []

    async def scenario() -> None:
        try:
            await exercise()
        finally:
            for pane in panes:
                pane.shutdown()
                pane.deleteLater()
            await ctx.tasks.aclose()
            await http.aclose()
            await ctx.cache.aclose()

    async def exercise() -> None:
        runtime = register_admin_sources(ctx)
        assert runtime is not None and admin_runtime_for(ctx) is runtime
        panes.append(AdminPane(ctx))
        panes.append(QueuePane(ctx))
        pane = panes[0]
        await runtime.ready.wait()
        assert runtime.problem is None
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

    try:
        qloop.run(scenario())
    finally:
        executor.shutdown(wait=True)
        ctx.hub.detach()
        ctx.hub.deleteLater()
    assert (data_dir() / "outbox-demo.sqlite3").exists()  # the queue lives in the data dir, per profile


def test_the_console_lists_the_admin_panes_and_registrar() -> None:
    panes = default_pane_types()
    assert AdminPane in panes and QueuePane in panes and AuditPane in panes
    assert register_admin_sources in default_source_registrars()

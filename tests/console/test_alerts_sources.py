"""Which alert sources a session gets: Nexus always, Alertmanager and Prometheus when the profile names
them, local rules from the package plus the user's file; and where each triage action goes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from nexus_console.domain.alerts import Alert, AlertState, Severity
from nexus_console.services.alert_sources import default_rules
from nexus_console.services.polling import PollerRegistry
from nexus_console.services.profiles import Profile
from nexus_console.workers.alert_sources import (
    ALERTMANAGER_POLLER,
    PROMETHEUS_POLLER,
    ActionNotSupported,
    AlertSourceSettings,
    alert_runtime_for,
    register_alert_sources,
)
from tests.console.window_support import window_context


@pytest.fixture
def base_ctx(qapp: Any) -> Iterator[Any]:
    with window_context("admin") as ctx:
        yield ctx


def runtime_for(base_ctx: Any, tmp_path: Path, rules_path: Path | None = None, **profile: Any) -> Any:
    ctx = replace(
        base_ctx, profile=Profile("lab", "http://127.0.0.1:9", **profile), registry=PollerRegistry()
    )
    settings = AlertSourceSettings(history_path=tmp_path / "history.db", rules_path=rules_path)
    return ctx, register_alert_sources(ctx, settings)


def close(runtime: Any) -> None:
    asyncio.run(runtime.aclose())


def test_without_prometheus_or_alertmanager_the_queue_has_nexus_and_local_rules(
    base_ctx: Any, tmp_path: Path
) -> None:
    ctx, runtime = runtime_for(base_ctx, tmp_path)
    try:
        assert set(runtime.queue.sources) == {"nexus", "local"}
        assert ctx.registry.get(ALERTMANAGER_POLLER) is None and ctx.registry.get(PROMETHEUS_POLLER) is None
        assert runtime.owner == ctx.me.email
        assert alert_runtime_for(ctx) is runtime  # one runtime per session
        assert [r.name for r in runtime.rules] == [r.name for r in default_rules()]
    finally:
        close(runtime)


def test_alertmanager_instances_and_prometheus_come_from_the_profile(base_ctx: Any, tmp_path: Path) -> None:
    ctx, runtime = runtime_for(
        base_ctx,
        tmp_path,
        alertmanager_urls=("http://127.0.0.1:9093", "http://127.0.0.1:9094"),
        prometheus_url="http://127.0.0.1:9090",
    )
    try:
        assert [(i.name, i.base_url) for i in runtime.alertmanager.instances] == [
            ("am1", "http://127.0.0.1:9093"),
            ("am2", "http://127.0.0.1:9094"),
        ]
        assert ctx.registry.get(ALERTMANAGER_POLLER) is not None
        assert ctx.registry.get(PROMETHEUS_POLLER) is not None
        assert runtime.prometheus.include_firing is False  # firing ones come through Alertmanager
    finally:
        close(runtime)
    ctx, runtime = runtime_for(base_ctx, tmp_path, prometheus_url="http://127.0.0.1:9090")
    try:
        assert runtime.alertmanager is None and runtime.prometheus.include_firing is True
    finally:
        close(runtime)


def test_the_users_rules_file_adds_and_overrides_and_a_broken_one_is_reported(
    base_ctx: Any, tmp_path: Path
) -> None:
    first = default_rules()[0]
    rules_file = tmp_path / "alert-rules.toml"
    rules_file.write_text(
        f'[[rule]]\nname = "{first.name}"\nseries = "api_health.error_rate"\nthreshold = 0.5\n'
        '[[rule]]\nname = "OrdersSlow"\nseries = "api_health.latency_ms.p99"\nthreshold = 900\n'
    )
    _ctx, runtime = runtime_for(base_ctx, tmp_path, rules_file)
    try:
        by_name = {rule.name: rule for rule in runtime.rules}
        assert by_name[first.name].threshold == 0.5
        assert "OrdersSlow" in by_name and len(runtime.rules) == len(default_rules()) + 1
        assert runtime.rule_problems == []
    finally:
        close(runtime)
    rules_file.write_text('[[rule]]\nname = "Broken"\nseries = "x"\nop = "~"\n')
    _ctx, runtime = runtime_for(base_ctx, tmp_path, rules_file)
    try:
        assert [r.name for r in runtime.rules] == [r.name for r in default_rules()]
        assert runtime.rule_problems and "Broken" in runtime.rule_problems[0]
    finally:
        close(runtime)


def test_resolving_is_only_for_nexus_alerts(base_ctx: Any, tmp_path: Path) -> None:
    _ctx, runtime = runtime_for(base_ctx, tmp_path)
    alert = Alert("fp", "alertmanager", "X", Severity.HIGH, AlertState.FIRING)
    try:
        with pytest.raises(ActionNotSupported, match="resolve at their source"):
            asyncio.run(runtime.resolve(alert))
    finally:
        close(runtime)
